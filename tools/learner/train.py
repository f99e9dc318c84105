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

With --loss cross-entropy, train_model (which trains on l2_loss) is not used: the loop below runs your
layers (katas 1 and 2) on net.params up to the scores, the net's output before its sigmoid, scores them
with your cross_entropy_loss (kata 10), and sends dscores back through the same layers. TwoLayerNet
itself is unchanged: the sigmoid squeezes every score into (0, 1), which cross-entropy does not want.
Exit status: 0 trained, 1 a kata is not written yet, 2 bad options or no data.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from tools.cli import Parser
from tools.manifest import ROOT, command

if TYPE_CHECKING:
    from torch import Tensor

# torch is imported only once the arguments are known to be good: it takes seconds.

MEAN, STD = 0.1307, 0.3081
# Pixel mean and standard deviation (of pixel / 255) per data set; Fashion-MNIST keeps MNIST's.
STATS = {"mnist": (MEAN, STD), "fashion-mnist": (MEAN, STD), "digits": (0.305, 0.375)}
FASHION_NAMES = ("T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot")
BAR_WIDTH = 30
MAX_WRONG_SHOWN = 24
# What --report may end in: the formats matplotlib writes with no program beyond it and Pillow.
REPORT_FORMATS = (".png", ".pdf", ".svg", ".svgz", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".eps", ".ps")
# What --loss takes, and the name each loss has in the printed lines and the report.
LOSSES = ("l2", "cross-entropy", "both")
LOSS_NAMES = {"l2": "L2", "cross-entropy": "cross-entropy"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    given = sys.argv[1:] if argv is None else argv
    if "--reference" in given and not (ROOT / "solutions").is_dir():
        print("--reference: this student copy has no reference solutions; leave it out to train your own katas/")
        sys.exit(2)
    parser = Parser(prog="python -m tools.learner.train", description=__doc__.splitlines()[0])
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


def normalise(package: ModuleType, images: Tensor, device: str, dataset: str = "mnist") -> Tensor:
    """(N, 28, 28) uint8 -> (N, 784) float rows (8x8 -> 64 for digits), scaled to [0, 1] then standardised."""
    mean, std = STATS[dataset]
    return ((package.flatten_images(images) / 255 - mean) / std).to(device)


def progress_bar(total: int, label: str) -> Callable[[], None]:
    """A function to call once per batch: each call moves a bar on stderr (in a terminal only)."""
    done = 0
    draw = sys.stderr.isatty()
    step = max(1, total // 100)

    def tick() -> None:
        nonlocal done
        done += 1
        if draw and (done % step == 0 or done == total):
            filled = BAR_WIDTH * min(done, total) // total
            sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total}")
            sys.stderr.flush()

    return tick


def count_batches(model: Any, total: int, label: str) -> None:
    """Wrap model.backward so that each call (one per batch, whoever wrote train_model) moves a bar."""
    backward = model.backward
    tick = progress_bar(total, label)

    def counting_backward(*args: Any, **kwargs: Any) -> Any:
        result = backward(*args, **kwargs)
        tick()
        return result

    model.backward = counting_backward


def clear_bar() -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r" + " " * (BAR_WIDTH + 40) + "\r")
        sys.stderr.flush()


def scores_forward(package: ModuleType, params: dict[str, Tensor], x: Tensor) -> tuple[Tensor, tuple]:
    """The net's scores (N, 10) before its output sigmoid, and the caches to go back with: kata 7's forward
    without its last layer, run with your own layers on your net's parameters."""
    h, affine1_cache = package.affine_forward(x, params["W1"], params["b1"])
    a, relu_cache = package.relu_forward(h)
    scores, affine2_cache = package.affine_forward(a, params["W2"], params["b2"])
    return scores, (affine1_cache, relu_cache, affine2_cache)


def scores_backward(package: ModuleType, dscores: Tensor, caches: tuple) -> dict[str, Tensor]:
    """dL/dscores back through the same layers, in the opposite order: the four parameter gradients."""
    affine1_cache, relu_cache, affine2_cache = caches
    da, dW2, db2 = package.affine_backward(dscores, affine2_cache)
    dh = package.relu_backward(da, relu_cache)
    _, dW1, db1 = package.affine_backward(dh, affine1_cache, need_dx=False)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def cross_entropy_epoch(
    package: ModuleType, model: Any, x: Tensor, labels: Tensor, lr: float, batch_size: int, tick: Callable[[], None]
) -> float:
    """One epoch of minibatch SGD as in kata 8, with cross_entropy_loss on the scores in place of l2_loss on
    the sigmoid's output; returns the mean of the batch losses."""
    import torch

    losses = []
    order = torch.randperm(len(x), device=x.device)  # one shuffle per epoch, as in kata 8: same seed, same batches
    with torch.no_grad():
        for rows in order.split(batch_size):  # the last batch may be smaller
            scores, caches = scores_forward(package, model.params, x[rows])
            loss, dscores = package.cross_entropy_loss(scores, labels[rows])
            model.grads.update(scores_backward(package, dscores, caches))
            for key in model.params:
                model.params[key] -= lr * model.grads[key]
            losses.append(float(loss))
            tick()
    return sum(losses) / len(losses)


def check_cross_entropy(package: ModuleType) -> None:
    """Call cross_entropy_loss once on a tiny batch, so that an unwritten kata 10 is said before any training."""
    import torch

    try:
        package.cross_entropy_loss(torch.zeros(2, 10), torch.tensor([0, 1]))
    except NotImplementedError as error:
        if not str(error) or "kata-10" not in str(error):
            raise  # an earlier kata's stub, or a bare raise: said as for any kata
        raise NotImplementedError(
            f"{error}, then check it with `nox -s kata-10` (--loss l2 needs no kata 10)"
        ) from None


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


def fit(
    package: ModuleType,
    loss: str,
    args: argparse.Namespace,
    x_train: Tensor,
    y_train: Tensor,
    x_val: Tensor,
    y_val: Tensor,
) -> tuple[Any, dict[str, list[float]]] | None:
    """A fresh TwoLayerNet from args.seed, trained args.epochs epochs on `loss` ("l2" or "cross-entropy"),
    a line printed per epoch; returns (model, history), or None when the loss stopped being a number."""
    import torch

    torch.manual_seed(args.seed)
    model = package.TwoLayerNet(x_train.shape[1], args.hidden, 10)
    if args.device != "cpu":
        model.params = {key: param.to(args.device) for key, param in model.params.items()}
        model.grads = {key: grad.to(args.device) for key, grad in model.grads.items()}
    named = "" if args.loss == "l2" else f" with {LOSS_NAMES[loss]}"
    print(
        f"training {package.__name__}.TwoLayerNet({x_train.shape[1]}, {args.hidden}, 10) on {args.dataset}{named}: "
        f"{len(x_train):,} training / {len(x_val):,} validation images, lr {args.lr}, "
        f"batch {args.batch_size}, {args.device}"
    )

    history: dict[str, list[float]] = {key: [] for key in ("train_loss", "train_accuracy", "validation_accuracy")}
    batches = -(-len(x_train) // args.batch_size)
    width = len(str(args.epochs))
    for epoch in range(1, args.epochs + 1):
        label = f"epoch {epoch:>{width}}/{args.epochs}"
        start = time.perf_counter()
        if loss == "l2":  # your train_model, one epoch at a time
            count_batches(model, batches, label)
            one = package.train_model(
                model, x_train, y_train, x_val, y_val, n_epochs=1, learning_rate=args.lr, batch_size=args.batch_size
            )
            del model.backward  # back to the class's own method
        else:  # the loop above, then your calculate_accuracy: the sigmoid changes no argmax
            tick = progress_bar(batches, label)
            mean_loss = cross_entropy_epoch(package, model, x_train, y_train, args.lr, args.batch_size, tick)
            with torch.no_grad():
                one = {
                    "train_loss": [mean_loss],
                    "train_accuracy": [float(package.calculate_accuracy(model, x_train, y_train))],
                    "validation_accuracy": [float(package.calculate_accuracy(model, x_val, y_val))],
                }
        clear_bar()
        for key in history:
            history[key].append(one[key][-1])
        if not math.isfinite(one["train_loss"][-1]):
            print(
                f"epoch {epoch}: the training loss is {one['train_loss'][-1]}, so training stops. The steps are "
                f"too large for this network: try a smaller --lr than {args.lr}.",
                file=sys.stderr,
            )
            return None
        print(
            f"epoch {epoch:>{width}}/{args.epochs}  loss {one['train_loss'][-1]:.4f}  "
            f"train acc {100 * one['train_accuracy'][-1]:6.2f} %  "
            f"validation acc {100 * one['validation_accuracy'][-1]:6.2f} %  ({time.perf_counter() - start:.1f} s)"
        )
    return model, history


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
