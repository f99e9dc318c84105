"""Train your TwoLayerNet on MNIST (or Fashion-MNIST, or scikit-learn's 8x8 digits) and draw a report of how it learned.

    python -m tools.learner.train                              your katas/, 10 epochs on MNIST in ./data
    python -m tools.learner.train --reference                  the same with the reference solutions/
    python -m tools.learner.train --dataset fashion-mnist --data-dir /usr/share/datasets/fashion-mnist
    python -m tools.learner.train --data-dir /work/shared/datasets/mnist-t10k    (t10k only: 8,000 + 2,000)
    python -m tools.learner.train --dataset digits        scikit-learn's bundled 8x8 digits: no download
    python -m tools.learner.train --loss cross-entropy    train on kata 10's cross_entropy_loss instead of L2
    python -m tools.learner.train --loss both             L2, then cross-entropy from the same seed: compared

It uses your package's own TwoLayerNet, flatten_images and train_model, one epoch at a time,
and writes a PNG (tools/learner/report.py) with the loss and accuracy curves, the confusion matrix,
the first layer's weights drawn as images, and the validation images the net got wrong.

With --loss cross-entropy, train_model (which trains on l2_loss) is not used: a loop of its own
(tools/learner/train_loop.py) runs your layers (katas 1 and 2) on net.params up to the scores, the net's
output before its sigmoid, scores them with your cross_entropy_loss (kata 10), and sends dscores back
through the same layers. TwoLayerNet itself is unchanged: the sigmoid squeezes every score into (0, 1),
which cross-entropy does not want.
Exit status: 0 trained, 1 a kata is not written yet, 2 bad options or no data.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from tools.learner.train_loop import (
    BAR_WIDTH,
    check_cross_entropy,
    clear_bar,
    count_batches,
    cross_entropy_epoch,
    fit,
    progress_bar,
    scores_backward,
    scores_forward,
)
from tools.learner.train_options import LOSS_NAMES, LOSSES, MEAN, REPORT_FORMATS, STATS, STD, report_problem
from tools.learner.train_options import parse_args as _parse_args
from tools.manifest import ROOT, command

if TYPE_CHECKING:
    from torch import Tensor

__all__ = [  # the names of the one module this was, where they now live too
    "BAR_WIDTH",
    "FASHION_NAMES",
    "LOSSES",
    "LOSS_NAMES",
    "MAX_WRONG_SHOWN",
    "MEAN",
    "REPORT_FORMATS",
    "STATS",
    "STD",
    "check_cross_entropy",
    "clear_bar",
    "count_batches",
    "cross_entropy_epoch",
    "fit",
    "main",
    "normalise",
    "parse_args",
    "progress_bar",
    "report_problem",
    "scores_backward",
    "scores_forward",
    "train",
    "unfinished",
    "write_report",
]

# torch is imported only once the arguments are known to be good: it takes seconds.

FASHION_NAMES = ("T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot")
MAX_WRONG_SHOWN = 24


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line, checked (tools/learner/train_options.py), described by this module docstring's first line."""
    return _parse_args(argv, __doc__.splitlines()[0])


def normalise(package: ModuleType, images: Tensor, device: str, dataset: str = "mnist") -> Tensor:
    """(N, 28, 28) uint8 -> (N, 784) float rows (8x8 -> 64 for digits), scaled to [0, 1] then standardised."""
    mean, std = STATS[dataset]
    return ((package.flatten_images(images) / 255 - mean) / std).to(device)


def write_report(
    path: Path,
    history: dict[str, list[float]],
    wrong: list[tuple],
    n_wrong: int,
    title: str,
    names: tuple,
    W1: Tensor,
    image_shape: tuple[int, int],
    matrix: Tensor,
    compared: dict[str, dict[str, list[float]]] | None = None,
    loss_name: str = "L2",
) -> None:
    """Loss and accuracy curves, the confusion matrix, the first layer's weights, the misclassified images;
    with `compared` (loss name -> history), every loss's curves side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tools.learner.report import report_figure

    fig = report_figure(history, W1, image_shape, matrix, wrong, n_wrong, title, names, compared, loss_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train(args: argparse.Namespace) -> int:
    import torch

    from tools.data import load_dataset
    from tools.learner.report import confusion_matrix

    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: torch sees no CUDA device here; use --device cpu", file=sys.stderr)
        return 2
    package = importlib.import_module("solutions" if args.reference else "katas")
    losses = ("l2", "cross-entropy") if args.loss == "both" else (args.loss,)
    if "cross-entropy" in losses:
        check_cross_entropy(package)
    splits = load_dataset(args.dataset, args.data_dir)
    x_train = normalise(package, splits.train_images, args.device, args.dataset)
    x_val = normalise(package, splits.test_images, args.device, args.dataset)
    y_train, y_val = splits.train_labels.to(args.device), splits.test_labels.to(args.device)

    histories = {}
    for loss in losses:  # each from the same seed: the same first weights, the same batches
        trained = fit(package, loss, args, x_train, y_train, x_val, y_val)
        if trained is None:
            return 1
        model, histories[LOSS_NAMES[loss]] = trained
    # The report's pictures are of the last net trained (the cross-entropy one when both are).
    loss_name, history = LOSS_NAMES[losses[-1]], histories[LOSS_NAMES[losses[-1]]]

    with torch.no_grad():
        guesses = model.forward(x_val)[0].argmax(dim=-1).cpu()
    wrong_rows = (guesses != splits.test_labels).nonzero().flatten()
    shown = wrong_rows[:MAX_WRONG_SHOWN].tolist()
    wrong = [(splits.test_images[i], int(splits.test_labels[i]), int(guesses[i])) for i in shown]
    names = FASHION_NAMES if args.dataset == "fashion-mnist" else tuple(str(d) for d in range(10))
    finals = {name: 100 * run["validation_accuracy"][-1] for name, run in histories.items()}
    matrix = confusion_matrix(splits.test_labels, guesses)
    image_shape = (int(splits.test_images.shape[-2]), int(splits.test_images.shape[-1]))
    if args.loss == "l2":
        accuracy = f"{finals['L2']:.2f} %"
    else:
        accuracy = ", ".join(f"{final:.2f} % with {name}" for name, final in finals.items())
    title = (
        f"{package.__name__}.TwoLayerNet({x_train.shape[1]}, {args.hidden}, 10) on {args.dataset}, "
        f"{args.epochs} epochs, "
        f"lr {args.lr}, batch {args.batch_size}: validation accuracy {accuracy}"
    )
    if len(histories) > 1:
        title += f"\nsame data, same seed ({args.seed}); the pictures below are of the net trained with {loss_name}"
    W1 = model.params["W1"]
    compared = histories if len(histories) > 1 else None
    write_report(
        args.report, history, wrong, len(wrong_rows), title, names, W1, image_shape, matrix, compared, loss_name
    )
    print(f"report: {args.report}")
    print(f"final validation accuracy: {accuracy}")
    return 0


def unfinished(error: NotImplementedError, needs: Sequence[int] = (8,), package_dir: Path | None = None) -> str:
    """The stub's own message (or where the raise came from), and, when earlier katas that `needs` build on
    are stubs too, the first of them: the one to write first."""
    if str(error):
        said = str(error)
    else:
        frame = traceback.extract_tb(error.__traceback__)[-1]
        said = f"{frame.filename}:{frame.lineno} ({frame.name}) raises NotImplementedError: finish that kata first"
    from tools.manifest import by_number, closure
    from tools.stubs import still_stubs

    wanted = {k.number: k for n in needs for k in (*closure(by_number(n)), by_number(n))}
    left = still_stubs(package_dir or ROOT / "katas", sorted(wanted.values(), key=lambda k: k.number))
    if len(left) > 1 or (left and left[0].label not in said):
        names = ", ".join(k.label for k in left)
        said += f"\nStill stubs: {names}. Start with the first: `nox -s kata-{left[0].number}`."
    return said


@command
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from tools.data import DataUnavailable

    try:
        return train(args)
    except NotImplementedError as error:
        clear_bar()
        package_dir = ROOT / ("solutions" if args.reference else "katas")
        needs = (8,) if args.loss == "l2" else (8, 10)
        print(f"cannot train yet: {unfinished(error, needs, package_dir)}", file=sys.stderr)
        return 1
    except DataUnavailable as error:
        print(error, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
