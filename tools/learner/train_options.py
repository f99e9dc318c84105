"""The command line of `python -m tools.learner.train`: its options and their checks, each bad one said in a line
before torch is imported (status 2), and what a data set and a loss are called (tools/learner/train.py runs it)."""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

from tools.cli import Parser
from tools.manifest import ROOT

MEAN, STD = 0.1307, 0.3081
# Pixel mean and standard deviation (of pixel / 255) per data set; Fashion-MNIST keeps MNIST's.
STATS = {"mnist": (MEAN, STD), "fashion-mnist": (MEAN, STD), "digits": (0.305, 0.375)}
# What --report may end in: the formats matplotlib writes with no program beyond it and Pillow.
REPORT_FORMATS = (".png", ".pdf", ".svg", ".svgz", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".eps", ".ps")
# What --loss takes, and the name each loss has in the printed lines and the report.
LOSSES = ("l2", "cross-entropy", "both")
LOSS_NAMES = {"l2": "L2", "cross-entropy": "cross-entropy"}


def parse_args(argv: list[str] | None, description: str) -> argparse.Namespace:
    """The command line, checked: a bad option, or a report that cannot be written, ends it in one line (status 2)."""
    given = sys.argv[1:] if argv is None else argv
    if "--reference" in given and not (ROOT / "solutions").is_dir():
        print("--reference: this student copy has no reference solutions; leave it out to train your own katas/")
        sys.exit(2)
    parser = Parser(prog="python -m tools.learner.train", description=description)
    parser.add_argument("--epochs", type=int, default=10, help="passes over the training set (default 10)")
    parser.add_argument("--hidden", type=int, default=128, help="hidden units (default 128)")
    parser.add_argument("--lr", type=float, default=0.2, help="SGD learning rate (default 0.2)")
    parser.add_argument("--batch-size", type=int, default=16, help="images per SGD step (default 16)")
    parser.add_argument("--seed", type=int, default=0, help="torch.manual_seed (default 0)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where to train (default cpu)")
    parser.add_argument(
        "--dataset",
        choices=tuple(STATS),
        default="mnist",
        help="mnist (default), fashion-mnist, or digits: scikit-learn's 1,797 8x8 digits, no download",
    )
    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="where the IDX files are (./data)")
    parser.add_argument(
        "--loss",
        choices=LOSSES,
        default="l2",
        help="l2 (default): train_model on l2_loss (katas 4, 8); cross-entropy: your cross_entropy_loss "
        "(kata 10, a bonus) on the scores before the sigmoid; both: L2 then cross-entropy from the same seed "
        "and data, both curves side by side in the report",
    )
    parser.add_argument("--reference", action="store_true", help="train solutions/ instead of your katas/")
    parser.add_argument("--report", type=Path, default=None, help="PNG to write (reports/<dataset>.png)")
    args = parser.parse_args(argv)
    for name in ("epochs", "hidden", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if not (math.isfinite(args.lr) and args.lr > 0):
        parser.error(f"--lr must be a positive number, such as 0.2; got {args.lr}")
    if args.data_dir != Path("data") and not args.data_dir.is_dir():
        parser.error(f"--data-dir {args.data_dir}: there is no such folder (give the folder that holds the IDX files)")
    args.report = args.report or Path("reports") / f"{args.dataset}.png"
    problem = report_problem(args.report, args.dataset)
    if problem:  # said now, in a line, not after the whole training
        parser.exit(2, f"{parser.prog}: error: --report {args.report}: {problem}\n")
    if not args.report.suffix:  # matplotlib writes a PNG and adds the suffix: say the name it will have
        args.report = args.report.with_name(f"{args.report.name}.png")
    return args


def report_problem(report: Path, dataset: str) -> str | None:
    """Why the report cannot be written at `report` (and what would do), or None when it can: checked by
    writing, as the report will be, in the nearest folder that exists, and removing what was written at once."""
    instead = f"give a path in a folder you can write to, such as reports/{dataset}.png"
    folder = existing = report.absolute().parent
    replacing = False
    try:
        if report.is_dir():
            return f"that is a folder; give a file name in it, such as {report / f'{dataset}.png'}"
        if report.suffix and report.suffix.lower() not in REPORT_FORMATS:
            return f"matplotlib cannot write {report.suffix} files; give a file name that ends in .png (or .pdf, .svg)"
        report = report if report.suffix else report.with_name(f"{report.name}.png")  # what matplotlib writes
        while not existing.exists():  # False too where a file stands in the way
            existing = existing.parent
        if not existing.is_dir():
            return f"{existing} is a file, not a folder; {instead}"
        replacing = report.exists()
        if replacing:
            with report.open("ab"):  # appends nothing: only whether it may be written
                pass
        else:
            handle, probe = tempfile.mkstemp(dir=existing, prefix=".report-check-")
            os.close(handle)
            os.unlink(probe)
    except OSError as error:
        why = (error.strerror or str(error)).lower()
        if replacing:
            return f"the file cannot be written ({why}); {instead}"
        if existing != folder:
            return f"the folder {folder} cannot be made: {existing} is not writable ({why}); {instead}"
        return f"the folder {folder} is not writable ({why}); {instead}"
    return None
