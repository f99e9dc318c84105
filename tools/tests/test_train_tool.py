"""The training and benchmark tools (tools/data.py, learner/train.py, maintainer/bench.py), on tiny fake data.

These test the tools, not a kata, so they train the reference package (solutions/) on purpose.
"""

from __future__ import annotations

import gzip
import json
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
