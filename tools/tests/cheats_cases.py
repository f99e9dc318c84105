"""The cheats of tools/tests/test_cheats.py, as a hostile student would write them: each a copy of the reference
where kata 1 (affine) is wrong and carries one cheat (hostile() builds it), every other kata its stub; and the tests
they are judged on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tools.manifest import katas
from tools.tests.supervision_cases import AFFINE_FORWARD, build

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
