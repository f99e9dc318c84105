"""A crash inside an earlier kata's function is blamed on that kata only by evidence (tools/judge/blame.py, asking
tools/plugin/deps.py): when it fails its own tests; when it passes them, the crash is the caller's, and the message
says where it happened and that the caller handed it something it was not written for.

Each case changes the reference (as a learner's katas/ would hold it) and judges kata 7 (model) under the supervisor.
"""

from pathlib import Path

import pytest

from tools import stubs
from tools.manifest import by_module
from tools.record import Outcome
from tools.run import supervisor
from tools.run.job import Job

REVERSED = (
    "model",
    "affine1_cache, relu_cache, affine2_cache, sigmoid_cache = cache",
    "sigmoid_cache, affine2_cache, relu_cache, affine1_cache = cache",
)
BROKEN = ("sigmoid", "return dout * z * (1 - z)", "return 2 * dout * z * (1 - z)")
CASES = {  # name: the changes, and the katas judged (in one job, in this order)
    # model.backward hands sigmoid_backward affine 1's cache, a tuple: the crash is inside sigmoid.py
    "caller-wrong": ([REVERSED], ["model"]),
    # the same, and sigmoid_backward is wrong by its own tests as well (a factor 2): then kata 3 is blamed
    "callee-broken": ([REVERSED, BROKEN], ["model"]),
    # the same, judged as `grade` and a class judge: kata 3's own tests first, in the same run
    "callee-broken-judged-first": ([REVERSED, BROKEN], ["sigmoid", "model"]),
}


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("crash-blame")


@pytest.fixture(scope="module")
def failures(root: Path) -> dict[str, list[Outcome]]:
    jobs = []
    for name, (changes, modules) in CASES.items():
        package = root / name / "katas"
        stubs.write_package(package, stubbed=())
        for module, old, new in changes:
            path = package / f"{module}.py"
            source = path.read_text(encoding="utf-8")
            assert source.count(old) == 1, (name, old)
            path.write_text(source.replace(old, new), encoding="utf-8")
        chosen = [k for k in map(by_module, modules) if k is not None]
        assert len(chosen) == len(modules)
        jobs.append(Job.of(chosen, root=package.parent))
    judged = dict(zip(CASES, supervisor.run(jobs, workers=2)))
    return {name: [o for o in outcomes if not o.passed] for name, outcomes in judged.items()}


def test_a_crash_inside_a_kata_that_passes_its_own_tests_is_the_callers(failures):
    found = failures["caller-wrong"]
    assert found
    for outcome in found:
        assert outcome.blame == 7, outcome.message
        assert "needs kata-3" not in outcome.message
        assert "inside sigmoid_backward of kata-3 (sigmoid), which passes its own tests" in outcome.message
        assert "look at what your code passes it" in outcome.message
        assert "katas/model.py" in outcome.message  # the call that handed it the wrong cache


def test_a_crash_inside_a_kata_that_fails_its_own_tests_is_that_katas(failures):
    found = failures["callee-broken"]
    assert found
    for outcome in found:
        assert outcome.blame == 3, outcome.message
        assert "needs kata-3 (sigmoid)" in outcome.message


def test_a_crash_inside_a_kata_judged_earlier_in_the_run_is_blamed_by_that_verdict(failures, root):
    # Kata 3's tests ran first in this run: its verdict is this run's. A second run of them would start a fresh
    # interpreter (about 5 s) and leave its verdict on disk (tools/verdicts.py), as it does where kata 3 is not judged.
    assert not (root / "callee-broken-judged-first" / ".nox" / "kata-verdicts.json").exists()
    assert (root / "callee-broken" / ".nox" / "kata-verdicts.json").exists()
    found = [o for o in failures["callee-broken-judged-first"] if o.kata == by_module("model")]
    assert found
    for outcome in found:
        assert outcome.blame == 3, outcome.message
        assert "needs kata-3 (sigmoid)" in outcome.message
