"""MNIST and Fashion-MNIST as tensors, from IDX files on disk or, failing that, torchvision's download;
and scikit-learn's bundled 8x8 digits, which need no download at all.

    train_images, train_labels, test_images, test_labels = load_dataset("mnist", "data")

Images come back as uint8 (N, 28, 28), labels as int64 (N,). The four IDX files
(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
t10k-labels-idx1-ubyte, each gzipped or not) are looked for in data_dir and in the folder
torchvision uses (data_dir/MNIST/raw, data_dir/FashionMNIST/raw). A folder that holds only the
t10k pair is split in two: the first 80 % for training, the last 20 % as the held-out set (8,000
and 2,000 for the 10,000 MNIST test digits).

"digits" is the 1,797 8x8 digits that scikit-learn ships inside its package (a gzipped CSV file,
read directly: importing scikit-learn would cost more than reading it). Their pixels, 0 to 16, are
scaled to 0 to 255 so that they flow through the same pipeline; the first 1,437 train, the last 360
are held out (written by other people than most of the first: a fair test).
"""

from __future__ import annotations

import functools
import gzip
import zlib
from pathlib import Path
from typing import NamedTuple

import torch
from torch import Tensor

FOLDERS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
DATASETS = (*FOLDERS, "digits")  # what --dataset accepts
DIGITS_CSV = "sklearn/datasets/data/digits.csv.gz"  # inside the scikit-learn distribution
DIGITS_TRAIN = 1437  # the first 80 % of the 1,797 digits; the last 360 are held out
TRAIN = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
TEST = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
DEBIAN_FASHION = "/usr/share/datasets/fashion-mnist"
IDX_UBYTE = 0x08


class TrainRun(NamedTuple):
    """How one of kata 8's learning tests calls train_model (tests/test_train.py): its last three arguments."""

    n_epochs: int
    learning_rate: float
    batch_size: int


# TwoLayerNet(64, 64, 10) on the 1,437 digits (tools/maintainer/digits_bar.py measures it)
DIGITS_RUN = TrainRun(n_epochs=10, learning_rate=0.4, batch_size=32)
# TwoLayerNet(10, 16, 3) on three blobs, from separable_start (tools/maintainer/separable_bar.py measures it)
SEPARABLE_RUN = TrainRun(n_epochs=10, learning_rate=0.5, batch_size=16)


def blobs(n: int, classes: int = 3, dim: int = 10, seed: int = 0) -> tuple[Tensor, Tensor]:
    """n points (unit normal noise) around `classes` fixed centres (3 x a standard normal each), and their labels."""
    g = torch.Generator().manual_seed(seed)
    centres = 3 * torch.randn(classes, dim, generator=torch.Generator().manual_seed(99))
    labels = torch.randint(0, classes, (n,), generator=g)
    return centres[labels] + torch.randn(n, dim, generator=g), labels


def separable_start(inp: int, hidden: int, out: int) -> dict[str, Tensor]:
    """The parameters the separable-data test starts the net from: as kata 6's reference draws them, seed 0."""
    g = torch.Generator().manual_seed(0)
    return {
        "W1": torch.randn(hidden, inp, generator=g) * (2 / inp) ** 0.5,
        "b1": torch.zeros(hidden),
        "W2": torch.randn(out, hidden, generator=g) * (2 / (hidden + out)) ** 0.5,
        "b2": torch.zeros(out),
    }


class DataUnavailable(Exception):
    """The data set is neither on disk nor downloadable; the message says what to do."""


class Splits(NamedTuple):
    train_images: Tensor
    train_labels: Tensor
    test_images: Tensor
    test_labels: Tensor


def read_idx(path: Path) -> Tensor:
    """Return the uint8 tensor stored in one IDX file (gzipped when its name ends in .gz)."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:  # not gzip, cut short, unreadable
        reason = "it ends too early" if isinstance(error, EOFError) else str(error) or type(error).__name__
        raise DataUnavailable(f"{path} cannot be read as a gzipped IDX file: {reason}. Download it again.") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != IDX_UBYTE:
        raise DataUnavailable(f"{path} is not an IDX file of unsigned bytes (bad magic number).")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    count = 1
    for size in shape:
        count *= size
    if len(raw) != header + count:
        raise DataUnavailable(f"{path} is truncated or corrupt: expected {count} values for shape {shape}.")
    if count == 0:  # torch.frombuffer refuses an empty buffer
        return torch.zeros(shape, dtype=torch.uint8)
    return torch.frombuffer(bytearray(raw[header:]), dtype=torch.uint8).reshape(shape)


def _find(folder: Path, name: str) -> Path | None:
    return next((p for p in (folder / name, folder / f"{name}.gz") if p.is_file()), None)


def _read_pair(folder: Path, names: tuple[str, str]) -> tuple[Tensor, Tensor]:
    images, labels = (read_idx(_find(folder, name)) for name in names)  # type: ignore[arg-type]
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataUnavailable(
            f"{folder}: {names[0]} holds shape {tuple(images.shape)} and {names[1]} shape "
            f"{tuple(labels.shape)}; expected (N, rows, cols) images and N labels."
        )
    if len(images) == 0:
        raise DataUnavailable(f"{folder}: {names[0]} holds no images.")
    if int(labels.max()) > 9:
        raise DataUnavailable(f"{folder}: {names[1]} holds the label {int(labels.max())}; labels are 0 to 9.")
    return images, labels.long()


def _from_disk(folders: list[Path]) -> Splits | None:
    for folder in folders:
        if all(_find(folder, name) for name in TRAIN + TEST):
            return Splits(*_read_pair(folder, TRAIN), *_read_pair(folder, TEST))
    for folder in folders:
        if all(_find(folder, name) for name in TEST):
            images, labels = _read_pair(folder, TEST)
            cut = len(images) * 4 // 5
            if cut == 0:
                raise DataUnavailable(
                    f"{folder}: the t10k files hold {len(images)} image(s); at least 5 are needed to train on "
                    "80 % of them and validate on the rest."
                )
            print(
                f"only the t10k files are in {folder}: training on its first {cut:,} images, "
                f"validating on the last {len(images) - cut:,}"
            )
            return Splits(images[:cut], labels[:cut], images[cut:], labels[cut:])
    return None


def _download(name: str, data_dir: Path) -> Splits:
    import torchvision  # only here: importing it takes seconds

    cls = torchvision.datasets.MNIST if name == "mnist" else torchvision.datasets.FashionMNIST
    train = cls(root=str(data_dir), train=True, download=True)
    test = cls(root=str(data_dir), train=False, download=True)
    return Splits(train.data, train.targets.long(), test.data, test.targets.long())


def digits_file() -> Path:
    """scikit-learn's bundled digits.csv.gz, found without importing scikit-learn (that takes a second)."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        path = Path(str(distribution("scikit-learn").locate_file(DIGITS_CSV)))
    except PackageNotFoundError:
        raise DataUnavailable(
            "--dataset digits reads the 8x8 digits bundled with scikit-learn, which is not installed here: "
            "`python -m pip install scikit-learn`."
        ) from None
    if not path.is_file():
        raise DataUnavailable(f"scikit-learn is installed but its digits file {path} is missing; reinstall it.")
    return path


def load_digits() -> Splits:
    """scikit-learn's 1,797 8x8 digits as uint8 (N, 8, 8) images scaled to 0-255: 1,437 to train, 360 held out.
    New tensors at each call, from a table read once a process (a class's workers, forked, share the parent's)."""
    table = _digits_table(digits_file())
    images = (table[:, :64] * 255 / 16).round().to(torch.uint8).reshape(-1, 8, 8)
    labels = table[:, 64].clone()
    cut = DIGITS_TRAIN
    return Splits(images[:cut], labels[:cut], images[cut:], labels[cut:])


@functools.cache
def _digits_table(path: Path) -> Tensor:
    """The digits file as an int64 (1797, 65) table: 64 pixels (0-16) and the label. 50 ms to read."""
    try:
        rows = [line.split(",") for line in gzip.decompress(path.read_bytes()).decode("ascii").splitlines() if line]
        table = torch.tensor([[int(value) for value in row] for row in rows], dtype=torch.int64)
    except (OSError, EOFError, zlib.error, ValueError) as error:
        raise DataUnavailable(f"{path} cannot be read as scikit-learn's digits ({error}); reinstall it.") from None
    if table.ndim != 2 or table.shape[1] != 65:
        raise DataUnavailable(f"{path} holds shape {tuple(table.shape)}; expected 1,797 rows of 64 pixels and a label.")
    return table


def unavailable_message(name: str, data_dir: Path, reason: str) -> str:
    """The few plain lines that tell a person how to get the data set onto this machine."""
    files = "  ".join(f"{n}.gz" for n in TRAIN + TEST)
    return "\n".join(
        [
            f"Could not get {FOLDERS[name]}: {reason}",
            f"Put its four IDX files (gzipped or not) in {data_dir / FOLDERS[name] / 'raw'} or in {data_dir}:",
            f"  {files}",
            "Or, without a network:",
            f"  - Fashion-MNIST: `apt-get install dataset-fashion-mnist`, then use "
            f"--dataset fashion-mnist --data-dir {DEBIAN_FASHION}",
            f"  - a folder holding only {TEST[0]}.gz and {TEST[1]}.gz: --data-dir FOLDER trains on "
            "the first 80 % of those images and validates on the rest",
            "  - real digits with nothing to download: --dataset digits (scikit-learn's 1,797 8x8 digits, "
            "bundled with the package)",
        ]
    )


def load_dataset(name: str, data_dir: str | Path, download: bool = True) -> Splits:
    """Return (train_images, train_labels, test_images, test_labels) of "mnist", "fashion-mnist" or "digits".

    Raises DataUnavailable, with a message that says where to put the files, when they are not
    on disk and cannot be downloaded. "digits" ignores data_dir: it is in scikit-learn's package.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}: choose one of {', '.join(DATASETS)}")
    if name == "digits":
        return load_digits()
    data_dir = Path(data_dir)
    found = _from_disk([data_dir, data_dir / FOLDERS[name] / "raw"])
    if found is not None:
        return found
    if not download:
        raise DataUnavailable(unavailable_message(name, data_dir, f"its IDX files are not in {data_dir}."))
    try:
        return _download(name, data_dir)
    except Exception as error:  # urllib, socket and torchvision all raise their own kinds
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        reason = lines[-1] if lines else type(error).__name__  # torchvision's last line is the cause
        if "CERTIFICATE_VERIFY_FAILED" in str(error):  # python.org's Python on macOS, before its first setup
            reason += "; on macOS, run 'Install Certificates.command' in the Python folder of Applications"
        raise DataUnavailable(unavailable_message(name, data_dir, f"the download failed ({reason}).")) from None
