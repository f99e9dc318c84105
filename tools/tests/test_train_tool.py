"""The training and benchmark tools (learner/train.py, maintainer/bench.py), on tiny fake data: the command
line, a kata not written yet, a tiny run's report, bad options refused before torch loads (the data files are
test_train_data.py's, --loss is test_train_loss.py's).

These test the tools, not a kata, so they train the reference package (solutions/) on purpose.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tools.learner import train
from tools.maintainer import bench
from tools.tests.train_cases import (
    PNG_MAGIC,
    run_train,
    write_dataset,
)


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
