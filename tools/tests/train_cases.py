"""What the tests of the training tools share (tools/tests/test_train_*.py): tiny fake MNIST files in IDX
format, and `python -m tools.learner.train` run in a fresh interpreter (its status, what it said, whether torch
was imported)."""

from __future__ import annotations

import gzip
from pathlib import Path

import torch

from tools import data

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
