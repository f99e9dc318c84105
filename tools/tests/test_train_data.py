"""The data files the training tools read (tools/data.py), on tiny fake data: IDX files gzipped or not, the
t10k pair alone, a corrupt or missing file, no network: each one message, the command line's status 2."""

from __future__ import annotations

import gzip
import socket
from pathlib import Path

import pytest
import torch

from tools import data
from tools.learner import train
from tools.tests.train_cases import (
    NAMES,
    fake_split,
    write_dataset,
    write_idx,
)


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


def test_digits_are_read_once_and_each_call_gets_its_own_tensors() -> None:
    """The digits file is read once a process (a class's workers share their parent's reading), and kata code that
    writes into the digits one call gave (they cross to it as tensors) changes nothing the next call gives."""
    first = data.load_digits()
    assert (first.train_images.shape, first.test_images.shape) == ((1437, 8, 8), (360, 8, 8))
    assert first.train_images.dtype == torch.uint8 and int(first.train_images.max()) == 255
    assert first.train_labels[:10].tolist() == list(range(10))
    for tensor in first:
        tensor.zero_()
    again = data.load_digits()
    assert data._digits_table.cache_info().misses == 1  # (the file's path is the same each time)
    assert again.train_labels[:10].tolist() == list(range(10))
    assert int(again.train_images.max()) == 255 and int(again.test_labels.max()) == 9
