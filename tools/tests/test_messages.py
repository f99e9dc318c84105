"""What a learner reads: each message names the call that made the value it shows, and never a traceback.

Each case makes one change to the reference (as a learner's katas/ would hold it), judges that
kata under the supervisor, and reads the failures.
"""

import re

import pytest

from tools import stubs
from tools.manifest import by_module
from tools.record import Outcome
from tools.run import supervisor
from tools.run.advice import next_steps
from tools.run.job import Job

CASES = {
    "module-output": ("autograd_bridge", "return self.sigmoid(self.linear_2(h))", "return self.linear_2(h)"),
    "reshaped-input": ("relu", "    x = cache\n", "    x = cache\n    dout.unsqueeze_(0)\n"),
    "returns-none": ("train", "    return history\n", "    return None\n"),
    "list-instead-of-tuple": ("l2", "return loss, dy", "return [loss, dy]"),
    "numpy-round-trip": ("affine", "torch.addmm(b, x, W.T)", "torch.from_numpy(x.numpy() @ W.numpy().T + b.numpy())"),
    "detached-result": ("relu", "out = x.clamp(min=0)", "out = x.clamp(min=0).detach()"),
    "detached-input": ("affine", "torch.addmm(b, x, W.T)", "x @ W.detach().T + b"),
    "rebuilt-loss": (
        "l2",
        "loss = (diff**2).sum() / N",
        "loss = torch.tensor((diff**2).sum().item() / N, dtype=y.dtype)",
    ),
}
# Correct code written another way than the reference: every test passes.
ALTERNATIVES = {
    "affine-linear": ("affine", "torch.addmm(b, x, W.T)", "torch.nn.functional.linear(x, W, b)"),
    "affine-einsum": ("affine", "torch.addmm(b, x, W.T)", "torch.einsum('ni,ji->nj', x, W) + b"),
    "relu-maximum": ("relu", "x.clamp(min=0)", "torch.maximum(x, torch.zeros_like(x))"),
    "relu-mask": ("relu", "x.clamp(min=0)", "x * (x > 0)"),
    "sigmoid-where": (
        "sigmoid",
        "torch.where(x >= 0, 1 / (1 + e), e / (1 + e))",
        "torch.where(x >= 0, 1 / (1 + torch.exp(-x)), torch.exp(x) / (1 + torch.exp(x)))",
    ),
    # The textbook form is right in IEEE arithmetic: exp(-x) overflows to inf for x far below 0, and 1 / inf = 0.
    "sigmoid-textbook": ("sigmoid", "torch.where(x >= 0, 1 / (1 + e), e / (1 + e))", "1 / (1 + torch.exp(-x))"),
    "sigmoid-torch": ("sigmoid", "torch.where(x >= 0, 1 / (1 + e), e / (1 + e))", "torch.sigmoid(x)"),
    # Right, and it warns: each test says the warning once, in one line (torch warns once per process itself).
    "relu-warns": (
        "relu",
        "out = x.clamp(min=0)",
        "__import__('warnings').warn('relu says hello', UserWarning)\n    out = x.clamp(min=0)",
    ),
}


@pytest.fixture(scope="module")
def judged(tmp_path_factory) -> dict[str, list[Outcome]]:
    root = tmp_path_factory.mktemp("messages")
    jobs = []
    for name, (module, old, new) in {**CASES, **ALTERNATIVES}.items():
        package = root / name / "katas"
        stubs.write_package(package, stubbed=())
        path = package / f"{module}.py"
        source = path.read_text(encoding="utf-8")
        assert source.count(old) == 1, (name, old)
        path.write_text(source.replace(old, new), encoding="utf-8")
        kata = by_module(module)
        assert kata is not None
        jobs.append(Job.of([kata], root=package.parent))
    return dict(zip({**CASES, **ALTERNATIVES}, supervisor.run(jobs, workers=2)))


@pytest.fixture(scope="module")
def failures(judged) -> dict[str, list[Outcome]]:
    return {name: [o for o in outcomes if not o.passed] for name, outcomes in judged.items()}


def messages(failures, case: str) -> list[str]:
    found = failures[case]
    assert found, f"{case}: no test failed"
    for outcome in found:
        assert "Traceback" not in outcome.message and 'File "' not in outcome.message, outcome.message
    return [o.message for o in found]


def test_a_value_is_described_by_the_call_that_made_it(failures):
    text = "\n".join(messages(failures, "module-output"))
    assert "the output from TwoLayerPytorch module(x (3, 6)) has wrong values" in text, text
    assert "the output of to_pytorch(net) from TwoLayerPytorch module(x (4, 7))" in text, text
    assert "Likely cause: the sigmoid is missing" in text, text


def test_an_input_changed_in_shape_says_so(failures):
    text = "\n".join(messages(failures, "reshaped-input"))
    assert "changed its input dout in place: it was (5, 10) torch.float32 and is now (1, 5, 10)" in text, text
    assert "0 entries differ" not in text and "0 of" not in text, text


def test_a_missing_result_reads_as_none(failures):
    text = "\n".join(messages(failures, "returns-none"))
    assert "train_model returned None; expected the history dict." in text, text


def test_a_list_for_a_tuple_is_named(failures):
    text = "\n".join(messages(failures, "list-instead-of-tuple"))
    assert "l2_loss(y (" in text and "returned a list; expected the tuple (loss, dy)" in text, text


def test_the_blamed_kata_is_the_one_changed(failures):
    for name, (module, _, _) in CASES.items():
        assert {o.blame for o in failures[name]} == {by_module(module).number}, (name, failures[name][0].message)


def test_a_numpy_round_trip_fails_in_its_own_kata_and_says_why(failures):
    text = "\n".join(messages(failures, "numpy-round-trip"))
    assert "kata-1 (affine): calling affine_forward(x (3, 16), W (10, 16), b (10,)) raised RuntimeError: Can't" in text
    assert "Likely cause: a tensor that requires grad went into NumPy" in text, text
    assert "stay in torch operations" in text, text


def test_a_result_that_left_the_autograd_graph_is_named(failures):
    text = "\n".join(messages(failures, "detached-result"))
    assert "out from relu_forward(x (5, 10)) is not connected to its inputs' autograd graph: x requires grad" in text
    assert "out does not (it has no grad_fn)" in text, text
    assert "Likely cause: " in text and ".detach()" in text, text


def test_an_input_cut_out_of_the_graph_is_named(failures):
    text = "\n".join(messages(failures, "detached-input"))
    assert "out from affine_forward(x (3, 16), W (10, 16), b (10,)) is not connected to W in autograd's graph" in text
    assert "Likely cause: W went into the formula detached" in text, text


def test_a_loss_rebuilt_from_a_number_is_named(failures):
    text = "\n".join(messages(failures, "rebuilt-loss"))
    assert "loss from l2_loss(y (5, 12), labels (5,)) is not connected to its inputs' autograd graph" in text, text
    assert ".item()" in text, text


def test_correct_alternatives_pass(failures):
    for name in ALTERNATIVES:
        assert not failures[name], (name, failures[name][0].message)


def test_what_kata_code_warns_is_said_once_per_test_in_one_line(judged):
    outcomes = judged["relu-warns"]
    assert len(outcomes) >= 5 and all(o.passed for o in outcomes), outcomes
    for o in outcomes:
        assert len(o.warnings) == 1, (o.test, o.warnings)
        assert re.fullmatch(r"katas/relu\.py:\d+: UserWarning: relu says hello", o.warnings[0]), o.warnings
    assert not any(o.warnings for name in CASES for o in judged[name])


@pytest.mark.parametrize(
    "command",
    [
        ["tools.learner.train", "--epochs", "abc"],
        ["tools.learner.watch", "--interval", "-1"],
        ["tools.instructor.grade", "--bogus"],
        ["tools.runner", "--kata-timeout", "-5"],
        ["tools.runner", "tests/test_relu.py", "-n", "2"],
    ],
)
def test_a_bad_option_is_one_line(command: list[str]) -> None:
    """argparse's usage block is not a message: one line says what is wrong (and where the options are)."""
    import subprocess
    import sys

    from tools.manifest import ROOT

    done = subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and not done.stdout, (done.returncode, done.stdout)
    assert done.stderr.count("\n") == 1 and "usage:" not in done.stderr, done.stderr


def test_the_next_kata_offered_after_the_last_required_one_says_it_is_a_bonus(tmp_path, monkeypatch) -> None:
    from tools.manifest import katas

    monkeypatch.setenv("KATA_ROOT", str(tmp_path))  # no remembered verdicts: no later kata is known done
    for kata, following in zip(katas(), katas()[1:]):
        passed = [Outcome(f"{kata.test_file}::test_one", "passed")]
        (line,) = next_steps("katas", passed)
        said = "Next (a bonus, optional): " if following.bonus else "Next: "
        assert f"{said}`nox -s kata-{following.number}`" in line, line
