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
from pathlib import Path

import pytest

from tools.instructor import release
from tools.record import Outcome
from tools.run.job import Job
from tools.tests.cheats_cases import (
    AFFINE,
    EVENTS,
    JUDGED,
    REWRITE_TESTS,
    SHARED_RUN,
    Cheat,
    hostile,
)
from tools.tests.supervision_cases import judge_live, show
from tools.tests.test_seal import command


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
