"""Cheats, written as a hostile student would (issue 17): a wrong kata that tries to write its own verdict.

Each case is a copy of the reference where kata 1 (affine) is WRONG, its forward forgets the bias (or
subtracts it, where a cheat needs out to stay in autograd's graph) and also carries one cheat; every
other kata is its untouched stub. The case is judged live, as `nox -s kata-1` does, on two of kata 1's
tests and one test of kata 2's stub (judged in the same worker, after the cheat ran). Each must fail.
Each docstring says what the cheat did on main before the judge was sealed (6dd1677): there it earned a
pass, and in `nox -s grade` points.

The seal must be general, not a list of patched holes: the cheats are of kinds, each with a way in
(the judge, the plugin, pytest, the test's frames, torch, the event channel, the tests' files, the heap,
threads) that kata code must not reach from its own process.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools.instructor import release
from tools.manifest import katas
from tools.record import Outcome
from tools.run.job import Job
from tools.tests.test_seal import command
from tools.tests.test_supervision import AFFINE_FORWARD, build, judge_live, show

NO_BIAS = "    out = x @ W.T  # forgot the bias\n"
MINUS_BIAS = "    out = x @ W.T - b  # subtracted the bias (out still depends on b)\n"
FORWARD_BODY = "    # >>> kata\n" + AFFINE_FORWARD
AFFINE = "tests/test_affine.py"
JUDGED = (
    f"{AFFINE}::test_forward_on_the_tutorial_inputs",
    f"{AFFINE}::test_backward_on_the_tutorial_inputs",
    "tests/test_relu.py::test_on_the_tutorial_inputs",  # kata 2: an untouched stub
)


@dataclass(frozen=True)
class Cheat:
    top: str  # code at the top level of katas/affine.py (runs on import)
    inside: str = ""  # code at the start of affine_forward's body
    wrong: str = NO_BIAS  # the wrong line that replaces the reference's forward


def hostile(root: Path, cheat: Cheat) -> Path:
    """root holding a katas package: affine wrong and cheating, every other kata its stub."""

    def edit(text: str) -> str:
        text = text.replace(AFFINE_FORWARD, cheat.wrong, 1)
        text = text.replace("AffineCache = ", cheat.top + "\n\nAffineCache = ", 1)
        inside = "".join(f"    {line}\n" if line else "\n" for line in cheat.inside.splitlines())
        return text.replace("    # >>> kata\n" + cheat.wrong, inside + "    # >>> kata\n" + cheat.wrong, 1)

    others = [k.module for k in katas() if k.module != "affine"]
    return build(root, "affine", edit, stubbed=others)


# ---------------------------------------------------------------------------------------------
# The cheats

JUDGE = Cheat(
    """import sys as _sys
_j = _sys.modules.get("tests.judge")
if _j is not None:
    _nop = lambda *a, **k: None
    _j.close = _j.unchanged = _j.in_graph = _nop
    _j.tensor = lambda name, got, *a, **k: got
    _j.unpack = lambda value, names, *a, **k: tuple(value)"""
)

PLUGIN = Cheat(
    """import sys as _sys
_p = _sys.modules.get("tools.plugin.report")
_c = _sys.modules.get("tools.plugin.channel")
if _p is not None and _c is not None:
    def _explain(item, call, report, outcome):
        report.outcome, report.longrepr = "passed", None
        outcome.update(status="passed", message="")
    _p.explain = _explain
    _emit = _c.Channel.emit
    def _forged(self, event, **data):
        if event == "end":
            data["outcome"].update(status="passed", blame=None, message="", not_started=False, mistakes=[])
        return _emit(self, event, **data)
    _c.Channel.emit = _forged"""
)

TEST_REPORT = Cheat(
    """import _pytest.reports as _r
_init = _r.TestReport.__init__
def _passed(self, *a, **k):
    _init(self, *a, **k)
    self.outcome, self.longrepr = "passed", None
_r.TestReport.__init__ = _passed"""
)

FRAMES = Cheat(
    """import sys as _sys
def _from_the_test(x, W, b):
    f = _sys._getframe(1)
    while f is not None:
        for name, value in f.f_locals.items():
            if name in ("expected", "want") and isinstance(value, torch.Tensor) and value.shape == (len(x), len(W)):
                return value
        if callable(f.f_globals.get("reference_forward")):
            return f.f_globals["reference_forward"](x, W, b)
        f = f.f_back
    return None""",
    "found = _from_the_test(x, W, b)\nif found is not None:\n    return found, (x, W, b)",
)

# A plain tensor when affine_forward returns (so a check of its class at the return finds nothing), made a
# subclass that says "equal" to everything when the judge's checks start (a profile hook sees them called).
SUBCLASS = Cheat(
    """import sys as _sys, threading as _threading
class _Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name in ("sub", "__sub__", "isclose", "allclose", "eq", "__eq__", "equal", "le", "__le__", "lt", "__lt__"):
            with torch._C.DisableTorchFunctionSubclass():
                a = args[0].as_subclass(torch.Tensor) if isinstance(args[0], torch.Tensor) else args[0]
                if name in ("sub", "__sub__"):
                    return torch.zeros_like(a)
                if name in ("allclose", "equal"):
                    return True
                return torch.ones_like(a, dtype=torch.bool)
        return super().__torch_function__(func, types, args, kwargs)
def _swap(frame, event, arg):
    if event == "call" and frame.f_code.co_name in ("close", "tensor", "in_graph"):
        for v in list(frame.f_locals.values()):
            if type(v) is torch.Tensor and getattr(v, "_forged", False):
                v.__class__ = _Liar
_sys.setprofile(_swap)
_threading.setprofile(_swap)""",
    "out = x @ W.T - b\nout._forged = True\nreturn out, (x, W, b)",
    wrong=MINUS_BIAS,
)

TORCH = Cheat(
    """_yes = lambda *a, **k: True
torch.allclose = torch.equal = _yes
torch.Tensor.all = lambda self, *a, **k: torch.tensor(True)
torch.Tensor.any = lambda self, *a, **k: torch.tensor(False)
torch.Tensor.__le__ = lambda self, other: torch.ones(self.shape, dtype=torch.bool)""",
    wrong=MINUS_BIAS,
)

PLUGIN_FROM_THE_HEAP = Cheat(
    """import gc as _gc, pytest as _pytest
class _Passing:
    @_pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        report.outcome, report.longrepr = "passed", None
        return report
for _o in _gc.get_objects():
    if type(_o).__name__ == "Config" and hasattr(_o, "pluginmanager"):
        try:
            _o.pluginmanager.register(_Passing(), "passing")
        except Exception:
            pass"""
)

TORCH_FUNCTION_MODE = Cheat(
    """from torch.overrides import TorchFunctionMode as _Mode
class _Yes(_Mode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        name = getattr(func, "__name__", "")
        if name in ("le", "__le__", "isclose", "eq", "__eq__", "isfinite") and isinstance(out, torch.Tensor):
            return torch.ones_like(out, dtype=torch.bool)
        return True if name in ("allclose", "equal") else out
_Yes().__enter__()  # never left: every torch call after this one goes through _Yes""",
    wrong=MINUS_BIAS,
)

CODE_SWAP = Cheat(
    """import gc as _gc, types as _types
def _nothing(*a, **k):
    return None
for _o in _gc.get_objects():
    if isinstance(_o, _types.FunctionType) and _o.__name__ in ("close", "unchanged", "in_graph") and "judge" in (
        _o.__module__ or ""
    ):
        try:
            _o.__code__ = _nothing.__code__.replace(co_name=_o.__name__)
        except Exception:
            pass"""
)

THREAD_LATER = Cheat(
    """import threading as _threading, time as _time
def _later():
    _time.sleep(0.2)
    import _pytest.reports as _r
    _init = _r.TestReport.__init__
    def _passed(self, *a, **k):
        _init(self, *a, **k)
        self.outcome, self.longrepr = "passed", None
    _r.TestReport.__init__ = _passed
_threading.Thread(target=_later, daemon=True).start()""",
    "_time.sleep(0.3)",
)

# Forged "end" lines (passed) for every test of the file, then "job-done", into the supervisor's event
# channel: by any descriptor this process holds on it, else by the one its parent holds (/proc/PID/fd/N
# opens the file again, even unlinked), else by its name; then this process ends, and the parent too
# when that is where the channel was found (so that nothing true follows the forgery). SPARE: the
# pid of the test process, never ended.
EVENTS = """def _forge():
    import glob, json, os, signal, tempfile, time
    names = ["test_forward_on_the_tutorial_inputs", "test_backward_on_the_tutorial_inputs",
             "test_forward_and_backward_match_autograd", "test_backward_matches_central_differences_of_your_forward",
             "test_float32_stays_float32", "test_backward_can_skip_dx"]
    end = dict(version=1, kata=1, status="passed", blame=None, not_started=False, message="", did_not_run=False,
               ran=[1], mistakes=[], duration=0.1)
    lines = "".join(
        json.dumps({"event": "end", "time": time.time(), "outcome": {"test": f"tests/test_affine.py::{n}", **end}})
        + "\\n"
        for n in names
    ) + json.dumps({"event": "job-done", "time": time.time(), "job": 0, "code": 0}) + "\\n"
    def held_by(pid):
        found = []
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    if "events.jsonl" in os.readlink(f"/proc/{pid}/fd/{fd}"):
                        found.append(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    pass
        except OSError:
            pass
        return found
    mine, parents = held_by(os.getpid()), held_by(os.getppid())
    folder = os.path.join(tempfile.gettempdir(), "kata-run-*", "worker*", "events.jsonl")
    for target in mine or parents or glob.glob(folder):
        try:
            with open(target, "a") as channel:
                channel.write(lines)
        except OSError:
            pass
    if not mine and parents and os.getppid() != SPARE:
        os.kill(os.getppid(), signal.SIGKILL)
    import posix
    posix._exit(0)
"""

REWRITE_TESTS = Cheat(
    """def _rewrite():
    import pathlib, re
    test = pathlib.Path(__file__).resolve().parents[1] / "tests" / "test_affine.py"
    text = test.read_text()
    names = re.findall(r"^def (test_\\w+)\\(", text, re.M)
    if names and "forged" not in text:
        test.write_text("# forged\\n" + "".join(f"def {n}():\\n    pass\\n\\n" for n in names))
_rewrite()"""
)

SHARED_RUN = {
    "judge": JUDGE,
    "plugin": PLUGIN,
    "test_report": TEST_REPORT,
    "frames": FRAMES,
    "subclass": SUBCLASS,
    "torch": TORCH,
    "plugin_from_the_heap": PLUGIN_FROM_THE_HEAP,
    "torch_function_mode": TORCH_FUNCTION_MODE,
    "code_swap": CODE_SWAP,
    "thread_later": THREAD_LATER,
}


def assert_forged_nothing(outcomes: Sequence[Outcome], judged: Sequence[str] = JUDGED) -> None:
    """Every test judged is reported, and fails: the wrong affine's, and the untouched stub's."""
    assert sorted(o.test for o in outcomes) == sorted(judged), f"every test must be reported:\n{show(outcomes)}"
    passed = [o for o in outcomes if o.passed]
    assert not passed, f"a cheat forged a pass:\n{show(outcomes)}"
    wrong = [o for o in outcomes if o.test.startswith(AFFINE) and o.blame != 1]
    assert not wrong, f"the wrong affine must be blamed:\n{show(wrong)}"
    stubs = [o for o in outcomes if not o.test.startswith(AFFINE) and not o.not_started]
    assert not stubs, f"an untouched stub must fail as not started:\n{show(stubs)}"


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Outcome]]:
    """{cheat: its outcomes}, every cheat of SHARED_RUN judged in one live run (a job, a worker each)."""
    folder = tmp_path_factory.mktemp("cheats")
    jobs = [Job(JUDGED, root=hostile(folder / name, cheat)) for name, cheat in SHARED_RUN.items()]
    return dict(zip(SHARED_RUN, judge_live(jobs, folder, timeout=10).outcomes))


def test_a_kata_cannot_replace_the_judges_checks(judged):
    """a. `sys.modules['tests.judge'].close = lambda *a, **k: None` (and unchanged, in_graph, tensor, unpack) at
    import. Old main: 6 of 6 affine tests passed, and grade gave kata 1 its point."""
    assert_forged_nothing(judged["judge"])


def test_a_kata_cannot_replace_the_plugins_explain_or_its_channel(judged):
    """b. the plugin's explain replaced (report.outcome = "passed") and Channel.emit rewriting each "end" as
    passed. Old main: 6 of 6 passed ("kata-1 (affine) passes every test"); grade gave 4 points of 9, kata 1's
    and those of the stubs of katas 7, 8 and 9 judged after it in the same worker."""
    assert_forged_nothing(judged["plugin"])


def test_a_kata_cannot_patch_pytests_test_report(judged):
    """c. `_pytest.reports.TestReport.__init__` wrapped to set outcome "passed". Old main: 6 of 6 passed, and the
    patch stayed in the worker: in grade the untouched stubs judged after it passed too (6 points of 9: katas 1,
    3, 5, 7, 8 and 9, and the bonus kata 10's tests)."""
    assert_forged_nothing(judged["test_report"])


def test_a_kata_cannot_read_the_expected_values_from_the_tests_frames(judged):
    """d. sys._getframe(1) walked up f_back for a tensor named expected/want, or the test module's
    reference_forward in f_globals, and returned that. Old main: 6 of 6 passed."""
    assert_forged_nothing(judged["frames"])


def test_a_tensor_subclass_that_says_equal_is_judged_by_its_numbers(judged):
    """e. A torch.Tensor subclass whose comparisons and subtraction say "equal". Old main refused a subclass
    returned as such, so this one is returned plain and made the subclass (`__class__ = _Liar`) by a profile
    hook when the judge's close starts: old main passed the two forward tests (5 of 6 of the file)."""
    assert_forged_nothing(judged["subclass"])


def test_a_kata_cannot_patch_torch_for_the_judge(judged):
    """g. torch.allclose, torch.equal, Tensor.all, Tensor.any and Tensor.__le__ replaced at import, with a
    forward that subtracts the bias. Old main: 6 of 6 passed."""
    assert_forged_nothing(judged["torch"])


def test_a_kata_cannot_register_a_pytest_plugin_found_in_the_heap(judged):
    """Not in the issue's list: gc.get_objects() finds pytest's Config, and a plugin of the kata's, registered
    with its pluginmanager, makes every report "passed". Old main: pytest said 6 passed."""
    assert_forged_nothing(judged["plugin_from_the_heap"])


def test_a_torch_function_mode_left_entered_does_not_reach_the_judge(judged):
    """Not in the issue's list: a TorchFunctionMode entered at import and never left, so that every torch call
    after it (the judge's comparisons too) says "equal" and "finite". Old main: 6 of 6 passed."""
    assert_forged_nothing(judged["torch_function_mode"])


def test_a_kata_cannot_swap_the_code_of_the_judges_functions(judged):
    """Not in the issue's list: the judge's close, unchanged and in_graph found with gc.get_objects() (not by
    their module) and their __code__ replaced by that of a function that does nothing. Old main: 6 of 6 passed."""
    assert_forged_nothing(judged["code_swap"])


def test_a_thread_the_kata_leaves_running_cannot_patch_pytest_later(judged):
    """Not in the issue's list: a thread started at import that patches TestReport 0.2 s later, while the test
    that called affine_forward (which waits 0.3 s) still runs. Old main: 6 of 6 passed."""
    assert_forged_nothing(judged["thread_later"])


@pytest.mark.skipif(sys.platform != "linux", reason="reaches the event channel through /proc")
@pytest.mark.xfail(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    strict=True,
    reason="root may open any process's descriptors through /proc/<pid>/fd/<n>: as root, the kata process reopens "
    "its parent's events file, writes passing 'end' lines and ends its parent. Any other user may not: the "
    "supervisor and the worker are not dumpable (tools/judge/processes.keep_private)",
)
def test_a_kata_cannot_write_to_the_supervisors_event_channel(tmp_path):
    """f. Forged "end" lines (passed) and "job-done" written to the worker's events.jsonl, then the process
    ends. Old main: by the worker's own descriptor, "kata-1 (affine) passes every test" and grade's point.
    Sealed, the kata process holds no such descriptor, the file's name is removed, and its parent's descriptor
    cannot be opened again by /proc/<ppid>/fd/<n> (the worker is not dumpable), except by root."""
    cheat = Cheat(EVENTS.replace("SPARE", str(os.getpid())), "_forge()")
    root = hostile(tmp_path / "tree", cheat)
    judged = (f"{AFFINE}::test_forward_on_the_tutorial_inputs",)
    (outcomes,) = judge_live([Job(judged, root=root)], tmp_path, timeout=10).outcomes
    assert_forged_nothing([o for o in outcomes if o.test in judged], judged)
    assert all(not o.passed for o in outcomes), f"a forged line was taken for a verdict:\n{show(outcomes)}"


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A student copy, as `nox -s release` writes it (sealed by tools/seal.py)."""
    dest = tmp_path_factory.mktemp("released") / "course"
    assert release.main([str(dest)]) == 0
    return dest


def test_a_kata_that_rewrites_its_test_in_a_release_is_not_judged(released, tmp_path):
    """h. On import, katas/affine.py rewrites tests/test_affine.py (the copy's own) so that each test is
    `pass`. In the repository nothing stops that (it has no seal, and a learner can edit the tests in their
    own copy); in a student copy the seal says "not judged" from the second run on, on old main as now."""
    copy = tmp_path / "course"
    shutil.copytree(released, copy, symlinks=True)
    tree = hostile(tmp_path / "tree", REWRITE_TESTS)
    shutil.copy2(tree / "katas" / "affine.py", copy / "katas" / "affine.py")
    first = command(copy, "tools.runner", *JUDGED[:2])
    assert first.returncode != 0 and "passes every test" not in first.stdout, first.stdout[-2000:]
    second = command(copy, "tools.runner", *JUDGED[:2])
    assert second.returncode != 0, second.stdout[-2000:]
    assert "Not judged" in second.stdout and "tests/test_affine.py differs from the release" in second.stdout, (
        second.stdout[-2000:]
    )
    assert "passes every test" not in second.stdout, second.stdout[-2000:]
