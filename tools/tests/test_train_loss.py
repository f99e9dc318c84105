"""`python -m tools.learner.train --loss`: L2 (the default, kata 8's train_model), cross-entropy (kata 10 on the
scores before the sigmoid), or both from the same seed; an unwritten kata 10 said before any training.

These test the tools, not a kata, so they train the reference package (solutions/) on purpose.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from tools.learner import train
from tools.tests.train_cases import (
    PNG_MAGIC,
    run_train,
)

# --loss: L2 (the default, kata 8's train_model), cross-entropy (kata 10 on the scores before the sigmoid), both.

SMALL = ("--reference", "--dataset", "digits", "--epochs", "2", "--hidden", "16")
EPOCH_LINE = re.compile(r"epoch (\d+)/\d+  loss ([\d.]+)  train acc +([\d.]+) %  validation acc +([\d.]+) %")


def epoch_figures(out: str) -> list[tuple[float, ...]]:
    """(loss, train acc, validation acc) of each printed epoch line, in order."""
    return [tuple(float(x) for x in match.groups()[1:]) for match in EPOCH_LINE.finditer(out)]


def kata_10_stub(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference's cross_entropy_loss replaced by kata 10's pristine stub."""
    import solutions.softmax_ce

    def stub(scores, labels):
        raise NotImplementedError(
            "kata-10 (softmax_ce): cross_entropy_loss is not written yet; write it in katas/softmax_ce.py"
        )

    monkeypatch.setattr(solutions.softmax_ce, "cross_entropy_loss", stub)


def test_l2_is_the_default_and_is_kata_8s_train_model_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import solutions
    from tools.data import load_dataset

    kata_10_stub(monkeypatch)  # L2 needs no kata 10
    assert train.main([*SMALL, "--report", str(tmp_path / "default.png")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("training solutions.TwoLayerNet(64, 16, 10) on digits: "), out
    assert "cross-entropy" not in out and out.splitlines()[-1].endswith(" %"), out
    assert train.main([*SMALL, "--loss", "l2", "--report", str(tmp_path / "l2.png")]) == 0
    said_l2 = capsys.readouterr().out
    assert epoch_figures(said_l2) == epoch_figures(out) and len(epoch_figures(out)) == 2

    # The same, by hand: the seed, a fresh net, then train_model one epoch at a time.
    splits = load_dataset("digits", Path("data"))
    x_train = train.normalise(solutions, splits.train_images, "cpu", "digits")
    x_val = train.normalise(solutions, splits.test_images, "cpu", "digits")
    torch.manual_seed(0)
    model = solutions.TwoLayerNet(64, 16, 10)
    expected = []
    for _ in range(2):
        one = solutions.train_model(model, x_train, splits.train_labels, x_val, splits.test_labels, 1, 0.2, 16)
        expected.append((one["train_loss"][0], 100 * one["train_accuracy"][0], 100 * one["validation_accuracy"][0]))
    for printed, wanted in zip(epoch_figures(out), expected):
        assert printed == pytest.approx(wanted, abs=0.006), (printed, wanted)


def test_a_cross_entropy_epoch_is_sgd_on_torchs_cross_entropy_of_the_scores() -> None:
    """The tool's loop against torch.autograd on torch's own cross-entropy: the same net after one epoch."""
    import solutions

    torch.manual_seed(3)
    x, labels = torch.randn(40, 12), torch.randint(0, 10, (40,))
    model = solutions.TwoLayerNet(12, 8, 10)
    params = {key: param.clone().requires_grad_() for key, param in model.params.items()}
    torch.manual_seed(4)
    mean_loss = train.cross_entropy_epoch(solutions, model, x, labels, 0.5, 16, lambda: None)

    torch.manual_seed(4)  # the same batches
    order, losses = torch.randperm(40), []
    for start in range(0, 40, 16):
        rows = order[start : start + 16]
        hidden = torch.relu(x[rows] @ params["W1"].T + params["b1"])
        loss = torch.nn.functional.cross_entropy(hidden @ params["W2"].T + params["b2"], labels[rows])
        loss.backward()
        with torch.no_grad():
            for param in params.values():
                param -= 0.5 * param.grad
                param.grad = None
        losses.append(float(loss.detach()))
    assert mean_loss == pytest.approx(sum(losses) / len(losses), rel=1e-5)
    for key, param in params.items():
        torch.testing.assert_close(model.params[key], param.detach(), msg=f"params[{key!r}] after one epoch")


def test_loss_both_trains_both_from_the_same_seed_and_draws_them_side_by_side(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    drawn: dict = {}
    write_report = train.write_report

    def keep(*args, **kwargs):
        drawn.update(compared=args[9], loss_name=args[10], title=args[4])
        write_report(*args, **kwargs)

    monkeypatch.setattr(train, "write_report", keep)
    report = tmp_path / "both.png"
    assert train.main([*SMALL, "--loss", "both", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert report.read_bytes().startswith(PNG_MAGIC)
    assert set(drawn["compared"]) == {"L2", "cross-entropy"} and drawn["loss_name"] == "cross-entropy"
    assert all(len(history["train_loss"]) == 2 for history in drawn["compared"].values())
    headers = [line for line in out.splitlines() if line.startswith("training ")]
    assert [h.split(":")[0].split(" with ")[1] for h in headers] == ["L2", "cross-entropy"], out
    assert re.search(r"final validation accuracy: [\d.]+ % with L2, [\d.]+ % with cross-entropy\n", out), out
    both = epoch_figures(out)

    # Each half is what its own --loss gives: the same seed, the same start.
    assert train.main([*SMALL, "--loss", "cross-entropy", "--report", str(tmp_path / "ce.png")]) == 0
    alone = capsys.readouterr().out
    assert epoch_figures(alone) == both[2:], (alone, out)
    assert "with cross-entropy" in alone.splitlines()[0] and min(f[2] for f in both[2:]) > 70, alone
    assert both[:2] != both[2:]  # a different loss, a different net


@pytest.mark.parametrize("loss", ["cross-entropy", "both"])
def test_an_unwritten_kata_10_is_one_line_before_any_training(
    loss: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    kata_10_stub(monkeypatch)
    assert train.main([*SMALL, "--loss", loss]) == 1
    said = capsys.readouterr()
    assert "epoch" not in said.out and said.err.count("\n") == 1, said
    assert said.err.startswith("cannot train yet: kata-10 (softmax_ce): cross_entropy_loss is not written yet")
    assert "`nox -s kata-10`" in said.err and "Traceback" not in said.err, said.err


def test_a_bad_loss_is_one_line_naming_the_valid_ones(tmp_path: Path) -> None:
    status, said, torch_loaded = run_train("--loss", "mse", cwd=tmp_path)
    assert status == 2 and not torch_loaded
    assert said.count("\n") == 1 and "argument --loss: invalid choice: 'mse'" in said, said
    assert all(f"'{valid}'" in said or valid in said for valid in ("l2", "cross-entropy", "both")), said
