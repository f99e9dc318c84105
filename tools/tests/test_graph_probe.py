"""in_graph's probe asked with the call before it (`judge.call(..., graph=True)`): one message for both, and the
same verdicts as when in_graph asks for it itself. The probe's answer, an error included, waits for in_graph: a
check between the two that fails is said first.

Each case changes the reference relu_forward (as a learner's katas/ would hold it) and judges kata 2.
"""

import tempfile
from pathlib import Path

import pytest
import torch

from tools import stubs
from tools.judge import sealed
from tools.manifest import ROOT, by_module
from tools.record import Outcome
from tools.run import supervisor
from tools.run.job import Job

FORWARD = "    out = x.clamp(min=0)\n"
CRASH_ON_GRAD = "    if x.requires_grad:\n        raise ValueError('only without grad')\n"
CASES = {
    # right values; the probe (x requiring grad) crashes: in_graph's failure names the crash
    "probe-crashes": FORWARD + CRASH_ON_GRAD,
    # wrong values, and the probe crashes: the values are said, as before in_graph ran
    "values-wrong-too": FORWARD.replace("out = x", "out = 2 * x") + CRASH_ON_GRAD,
    # right values, out of the graph: in_graph's own failure
    "detached": FORWARD.replace("x.clamp", "x.detach().clamp"),
}
TEST = "tests/test_relu.py::test_on_the_tutorial_inputs"


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory) -> dict[str, Outcome]:
    root, jobs = tmp_path_factory.mktemp("graph-probe"), []
    kata = by_module("relu")
    assert kata is not None
    for name, forward in CASES.items():
        package = root / name / "katas"
        stubs.write_package(package, stubbed=())
        path = package / "relu.py"
        source = path.read_text(encoding="utf-8")
        assert source.count(FORWARD) == 1
        path.write_text(source.replace(FORWARD, forward), encoding="utf-8")
        jobs.append(Job.of([kata], root=package.parent))
    judged = dict(zip(CASES, supervisor.run(jobs, workers=2)))
    return {name: next(o for o in outcomes if o.test == TEST) for name, outcomes in judged.items()}


def test_an_error_of_the_probe_is_said_where_in_graph_asks(verdicts):
    found = verdicts["probe-crashes"]
    said = "kata-2 (relu): calling relu_forward(x (5, 10)) raised ValueError: only without grad"  # as it was
    assert not found.passed and found.message.startswith(said), found.message


def test_a_check_before_in_graph_is_said_first(verdicts):
    found = verdicts["values-wrong-too"]
    assert not found.passed and "out" in found.message and "ValueError" not in found.message, found.message


def test_in_graphs_own_failure_is_said_from_the_answer(verdicts):
    found = verdicts["detached"]
    assert not found.passed and "any/left-torch" in found.mistakes, (found.message, found.mistakes)


def test_a_call_and_its_probe_are_one_request():
    client = sealed.Client("solutions", ROOT, Path(tempfile.mkdtemp(prefix="graph-probe-")))
    x = torch.tensor([-1.0, 2.0])
    try:
        client.start()
        client.begin(10.0, {}, set())
        relu = client.load("relu", "relu_forward")
        assert client.bridge is not None
        before = client.bridge.exchanges
        leaves = (x.detach().clone().requires_grad_(True),)
        (out, _), answer = client.call_and_probe(relu, (x,), leaves)
        assert client.bridge.exchanges == before + 2  # the request and its answer
        assert torch.equal(out, torch.tensor([0.0, 2.0])) and answer["grad_fn"] and answer["grads"][0] is not None
    finally:
        client.close()
