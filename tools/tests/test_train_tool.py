"""The training and benchmark tools (tools/data.py, learner/train.py, maintainer/bench.py), on tiny fake data.

These test the tools, not a kata, so they train the reference package (solutions/) on purpose.
"""

from __future__ import annotations

import gzip
import json
import re
import socket
from pathlib import Path

import pytest
import torch

from tools import data
from tools.learner import train
from tools.maintainer import bench

NAMES = (*data.TRAIN, *data.TEST)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_idx(path: Path, values: torch.Tensor) -> None:
    """Write a uint8 tensor as an IDX file, gzipped when the name ends in .gz."""
    header = bytes([0, 0, data.IDX_UBYTE, values.ndim]) + b"".join(d.to_bytes(4, "big") for d in values.shape)
    raw = header + bytes(values.flatten().tolist())
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)


def fake_split(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n 28x28 images whose brightest row is the label: easy to learn, unlike pure noise."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (n,), generator=generator, dtype=torch.uint8)
    images = torch.randint(0, 60, (n, 28, 28), generator=generator, dtype=torch.uint8)
    images[torch.arange(n), labels.long() * 2 + 4] = 255
    return images, labels


def write_dataset(folder: Path, n_train: int, n_test: int, suffix: str = ".gz", train_split: bool = True):
    folder.mkdir(parents=True, exist_ok=True)
    splits = {}
    if train_split:
        splits["train"] = fake_split(n_train, seed=1)
        write_idx(folder / f"{data.TRAIN[0]}{suffix}", splits["train"][0])
        write_idx(folder / f"{data.TRAIN[1]}{suffix}", splits["train"][1])
    splits["test"] = fake_split(n_test, seed=2)
    write_idx(folder / f"{data.TEST[0]}{suffix}", splits["test"][0])
    write_idx(folder / f"{data.TEST[1]}{suffix}", splits["test"][1])
    return splits


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No network: every connection attempt fails at once."""

    def refuse(*args, **kwargs):
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.parametrize("suffix", [".gz", ""])
@pytest.mark.parametrize("subfolder", ["", "MNIST/raw"])
def test_load_dataset_reads_idx_files(tmp_path: Path, suffix: str, subfolder: str) -> None:
    written = write_dataset(tmp_path / subfolder, n_train=30, n_test=12, suffix=suffix)
    splits = data.load_dataset("mnist", tmp_path, download=False)
    assert splits.train_images.shape == (30, 28, 28) and splits.train_images.dtype == torch.uint8
    assert splits.train_labels.dtype == torch.int64 and splits.test_labels.dtype == torch.int64
    assert torch.equal(splits.train_images, written["train"][0])
    assert torch.equal(splits.train_labels, written["train"][1].long())
    assert torch.equal(splits.test_images, written["test"][0])
    assert torch.equal(splits.test_labels, written["test"][1].long())


def test_t10k_pair_alone_is_split_80_20(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    written = write_dataset(tmp_path, n_train=0, n_test=50, train_split=False)
    splits = data.load_dataset("mnist", tmp_path, download=False)
    assert torch.equal(splits.train_images, written["test"][0][:40])
    assert torch.equal(splits.test_images, written["test"][0][40:])
    assert len(splits.train_labels) == 40 and len(splits.test_labels) == 10
    assert "first 40 images" in capsys.readouterr().out


def test_corrupt_idx_file_is_reported(tmp_path: Path) -> None:
    write_dataset(tmp_path, n_train=10, n_test=10)
    (tmp_path / f"{data.TRAIN[0]}.gz").write_bytes(gzip.compress(b"not an idx file"))
    with pytest.raises(data.DataUnavailable, match="not an IDX file"):
        data.load_dataset("mnist", tmp_path, download=False)


@pytest.mark.usefixtures("offline")
def test_missing_dataset_offline_names_the_files(tmp_path: Path) -> None:
    with pytest.raises(data.DataUnavailable) as raised:
        data.load_dataset("fashion-mnist", tmp_path)
    message = str(raised.value)
    assert "download failed" in message
    assert all(name in message for name in NAMES)
    assert str(tmp_path / "FashionMNIST" / "raw") in message
    assert "dataset-fashion-mnist" in message


@pytest.mark.usefixtures("offline")
def test_cli_without_data_exits_2_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert train.main(["--reference", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert all(name in err for name in NAMES)
    assert "Traceback" not in err


def test_cli_unfinished_kata_exits_1_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import solutions.train

    message = "kata-8 (train): flatten_images is not written yet; write it in katas/train.py"

    def stub(images):
        raise NotImplementedError(message)

    monkeypatch.setattr(solutions.train, "flatten_images", stub)
    write_dataset(tmp_path, n_train=20, n_test=10)
    assert train.main(["--reference", "--data-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"cannot train yet: {message}\n"


def test_an_unfinished_kata_sends_the_learner_to_the_first_stub_it_builds_on(tmp_path: Path) -> None:
    from tools import stubs
    from tools.manifest import katas

    stubs.write_package(tmp_path / "katas", stubbed=[k.module for k in katas() if 4 <= k.number <= 8])
    error = NotImplementedError("kata-8 (train): flatten_images is not written yet; write it in katas/train.py")
    said = train.unfinished(error, (8,), tmp_path / "katas")
    assert said.splitlines() == [
        str(error),
        "Still stubs: kata-4 (l2), kata-5 (accuracy), kata-6 (init), kata-7 (model), kata-8 (train). "
        "Start with the first: `nox -s kata-4`.",
    ]
    stubs.write_package(tmp_path / "katas", stubbed=["train"])
    assert train.unfinished(error, (8,), tmp_path / "katas") == str(error)  # only kata 8 left: said already


def test_cli_bad_option_is_an_argparse_error(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as raised:
        train.main(["--device", "tpu"])
    assert raised.value.code == 2
    assert "error: argument --device" in capsys.readouterr().err


def test_tiny_training_run_writes_a_png_report(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write_dataset(tmp_path / "data", n_train=300, n_test=100)
    report = tmp_path / "out" / "report.png"
    argv = ["--reference", "--epochs", "1", "--hidden", "16", "--data-dir", str(tmp_path / "data")]
    assert train.main([*argv, "--report", str(report)]) == 0
    assert report.read_bytes().startswith(PNG_MAGIC)
    out = capsys.readouterr().out
    assert "epoch 1/1" in out and f"report: {report}" in out and "final validation accuracy" in out


def test_bench_quick_writes_valid_json(tmp_path: Path) -> None:
    path = tmp_path / "bench.json"
    threads = torch.get_num_threads()
    try:
        assert bench.main(["--quick", "--device", "cpu", "--json", str(path)]) == 0
    finally:
        torch.set_num_threads(threads)
    result = json.loads(path.read_text())
    assert [row["batch_size"] for row in result["results"]] == list(bench.BATCH_SIZES)
    for row in result["results"]:
        assert row["hand_s"] > 0 and row["autograd_s"] > 0 and row["matmul_s"] > 0
        assert row["hand_over_autograd"] > 0 and row["hand_over_matmul"] > 0
        assert row["max_param_difference"] < 1e-4  # the two loops train the same net


def broken_files(folder: Path, case: str) -> None:
    """The t10k pair in folder, broken one way."""
    images, labels = fake_split(20, seed=3)
    write_idx(folder / f"{data.TEST[0]}.gz", images)
    write_idx(folder / f"{data.TEST[1]}.gz", labels)
    target = folder / f"{data.TEST[0]}.gz"
    if case == "not-gzip":
        target.write_bytes(b"just some bytes, not gzip at all")
    elif case == "truncated":
        target.write_bytes(target.read_bytes()[:200])
    elif case == "no-images":
        write_idx(target, images[:0])
        write_idx(folder / f"{data.TEST[1]}.gz", labels[:0])
    elif case == "label-10":
        write_idx(folder / f"{data.TEST[1]}.gz", torch.full_like(labels, 10))
    elif case == "one-image":
        write_idx(target, images[:1])
        write_idx(folder / f"{data.TEST[1]}.gz", labels[:1])


@pytest.mark.parametrize(
    ("case", "said"),
    [
        ("not-gzip", "cannot be read as a gzipped IDX file"),
        ("truncated", "cannot be read as a gzipped IDX file: it ends too early"),
        ("no-images", "holds no images"),
        ("label-10", "holds the label 10; labels are 0 to 9"),
        ("one-image", "hold 1 image(s); at least 5 are needed"),
    ],
)
def test_bad_data_files_are_one_message(tmp_path: Path, case: str, said: str) -> None:
    broken_files(tmp_path, case)
    with pytest.raises(data.DataUnavailable) as caught:
        data.load_dataset("mnist", tmp_path, download=False)
    assert said in str(caught.value), str(caught.value)
    assert "\n" not in str(caught.value)


def run_train(*args: str, cwd: Path) -> tuple[int, str, bool]:
    """train.main(args) in a fresh interpreter: (exit status, what it printed, whether torch got imported)."""
    import subprocess
    import sys

    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from tools.learner import train\n"
        "try:\n    status = train.main(sys.argv[2:])\nexcept SystemExit as e:\n    status = e.code\n"
        "print('STATUS', status, 'torch' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code, str(root), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    *_, said, status, torch_loaded = ["", "", "", *result.stdout.split()]
    if said != "STATUS":  # it ended with a traceback: after torch, as the traceback shows
        return result.returncode, result.stderr, True
    return int(status), result.stderr, torch_loaded == "True"


@pytest.mark.parametrize("lr", ["nan", "inf", "-1", "0"])
def test_a_bad_learning_rate_is_refused_before_torch_loads(tmp_path: Path, lr: str) -> None:
    status, said, torch_loaded = run_train("--lr", lr, cwd=tmp_path)
    assert status == 2 and not torch_loaded
    assert "--lr must be a positive number" in said and "Traceback" not in said, said


def test_a_missing_data_folder_is_refused_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "folder"
    status, said, torch_loaded = run_train("--data-dir", str(missing), cwd=tmp_path)
    assert status == 2 and not torch_loaded
    assert "there is no such folder" in said and not (tmp_path / "no").exists(), said


def in_sys(name: str) -> str:
    """A path in Linux's /sys, where no one, root included, may create a file or a folder."""
    if not Path("/sys/kernel").is_dir():
        pytest.skip("no /sys here (not Linux)")
    return f"/sys/kernel/{name}"


def read_only_folder(tmp_path: Path) -> str:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except OSError:
        return str(folder / "report.png")
    (folder / "probe").unlink()
    folder.chmod(0o755)
    pytest.skip("a read-only folder is writable here (root, or Windows)")


REPORT_CASES = {
    "a file where its folder should be": (lambda tmp: str(tmp / "notes.txt" / "report.png"), "is a file, not a folder"),
    "a folder below a file": (lambda tmp: str(tmp / "notes.txt" / "more" / "report.png"), "is a file, not a folder"),
    "a folder": (lambda tmp: str(tmp), "is a folder; give a file name in it, such as"),
    "a format matplotlib cannot write": (lambda tmp: str(tmp / "report.txt"), "cannot write .txt files"),
    "a system folder": (lambda tmp: in_sys("report.png"), "is not writable (permission denied)"),
    "a folder that cannot be made": (lambda tmp: in_sys("reports/report.png"), "cannot be made"),
    "a read-only folder": (read_only_folder, "is not writable (permission denied)"),
}


@pytest.mark.parametrize("case", REPORT_CASES)
def test_a_report_that_cannot_be_written_is_refused_before_training(tmp_path: Path, case: str) -> None:
    where, said = REPORT_CASES[case]
    report = where(tmp_path)
    (tmp_path / "notes.txt").write_text("a file, not a folder\n", encoding="utf-8")
    before = sorted(tmp_path.rglob("*"))
    args = ("--dataset", "digits", "--epochs", "1", "--hidden", "4", "--reference", "--report", report)
    status, err, torch_loaded = run_train(*args, cwd=tmp_path)
    assert (status, torch_loaded) == (2, False), err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"python -m tools.learner.train: error: --report {report}: ") and said in err, err
    assert "such as reports/digits.png" in err or "give a file name in it" in err or "ends in .png" in err, err
    assert sorted(tmp_path.rglob("*")) == before  # nothing made, nothing left behind


def test_a_report_without_a_suffix_is_a_png(tmp_path: Path) -> None:
    args = train.parse_args(["--report", str(tmp_path / "out" / "report")])
    assert args.report == tmp_path / "out" / "report.png"  # what matplotlib writes, so said as it is


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
