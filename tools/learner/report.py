"""The pictures of a trained TwoLayerNet, shared by `nox -s train`'s PNG report and notebooks/explore.ipynb.

    fig = report_figure(history, model.params["W1"], (28, 28), matrix, wrong, n_wrong, title, names)

Each draw_* function draws one part on the axes (or the figure) it is given:
  draw_curves      the training loss and the train / validation accuracy, epoch by epoch
  draw_compared    the same for nets trained on different losses (L2, cross-entropy), side by side
  draw_confusion   how often each class (rows, the label) was taken for each other (columns, the guess)
  draw_weights     the first layer's weights, one small image per hidden unit: the pattern it responds to
  draw_wrong       misclassified images, each with its label and the network's guess
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure, SubFigure
    from torch import Tensor

WEIGHTS_SHOWN = 32  # hidden units drawn (of W1's rows)
COLUMNS = 8  # images per row in the weight and the misclassified grids


def confusion_matrix(labels: Tensor, guesses: Tensor, classes: int = 10) -> Tensor:
    """(classes, classes) int64 counts: entry [i, j] is how many images of class i were guessed as class j."""
    import torch

    index = labels.long().cpu() * classes + guesses.long().cpu()
    return torch.bincount(index, minlength=classes * classes).reshape(classes, classes)


def draw_curves(loss_ax: Any, acc_ax: Any, history: dict[str, list[float]], loss_name: str = "L2") -> None:
    """The mean training loss, and the train and validation accuracy in %, per epoch."""
    from matplotlib.ticker import MaxNLocator

    epochs = range(1, len(history["train_loss"]) + 1)
    loss_ax.plot(epochs, history["train_loss"], marker="o")
    loss_ax.set(title=f"training loss ({loss_name})", xlabel="epoch", ylabel="loss")
    acc_ax.plot(epochs, [100 * a for a in history["train_accuracy"]], marker="o", label="train")
    acc_ax.plot(epochs, [100 * a for a in history["validation_accuracy"]], marker="o", label="validation")
    acc_ax.set(title="accuracy", xlabel="epoch", ylabel="%")
    acc_ax.legend()
    for ax in (loss_ax, acc_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def draw_compared(loss_axes: Sequence[Any], acc_ax: Any, histories: dict[str, dict[str, list[float]]]) -> None:
    """One loss panel per history (loss name -> history; their scales differ, so each has its own axes), and
    every history's accuracy on one panel: validation solid, train dashed, one colour per loss."""
    from matplotlib.ticker import MaxNLocator

    for colour, (loss_ax, (name, history)) in enumerate(zip(loss_axes, histories.items())):
        epochs = range(1, len(history["train_loss"]) + 1)
        loss_ax.plot(epochs, history["train_loss"], marker="o", color=f"C{colour}")
        loss_ax.set(title=f"training loss ({name})", xlabel="epoch", ylabel="loss")
        acc_ax.plot(epochs, [100 * a for a in history["validation_accuracy"]], marker="o", color=f"C{colour}",
                    label=f"{name}: validation")  # fmt: skip
        acc_ax.plot(epochs, [100 * a for a in history["train_accuracy"]], linestyle="--", color=f"C{colour}",
                    label=f"{name}: train")  # fmt: skip
    acc_ax.set(title="accuracy, same data and seed", xlabel="epoch", ylabel="%")
    acc_ax.legend()
    for ax in (*loss_axes, acc_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def draw_confusion(ax: Any, matrix: Tensor, names: Sequence[str]) -> None:
    """The confusion matrix as a grid of counts; the diagonal (right) in blue, the mistakes in red."""
    import numpy as np

    counts = matrix.cpu().numpy()
    n = len(counts)
    right = np.where(np.eye(n, dtype=bool), counts, 0)
    wrong = np.where(np.eye(n, dtype=bool), 0, counts)
    # Two layers on one grid: the mistakes are few, so each layer is scaled to its own largest count.
    ax.imshow(np.ma.masked_where(~np.eye(n, dtype=bool), right), cmap="Blues", vmin=0, vmax=max(1, right.max()))
    ax.imshow(np.ma.masked_where(np.eye(n, dtype=bool) | (wrong == 0), wrong), cmap="Reds", vmin=0,
              vmax=max(1, wrong.max()))  # fmt: skip
    size = 8 if n <= 10 else 6
    for i in range(n):
        for j in range(n):
            if counts[i, j]:
                strong = counts[i, j] > (right.max() if i == j else wrong.max()) / 2
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=size,
                        color="white" if strong else "black")  # fmt: skip
    ax.set_xticks(range(n), [str(name) for name in names], rotation=45 if max(map(len, names)) > 2 else 0,
                  ha="right" if max(map(len, names)) > 2 else "center", fontsize=8)  # fmt: skip
    ax.set_yticks(range(n), [str(name) for name in names], fontsize=8)
    ax.set(xlabel="the network's guess", ylabel="label")
    total = int(counts.sum())
    ax.set_title(f"confusion matrix: {int(np.trace(counts)):,} of {total:,} right (diagonal)")


def draw_weights(fig: Figure | SubFigure, W1: Tensor, image_shape: tuple[int, int], count: int = WEIGHTS_SHOWN) -> None:
    """The first `count` rows of W1, each reshaped to an image: red where a bright pixel excites the unit,
    blue where it inhibits it (one colour scale per unit, centred on 0)."""
    weights = W1.detach().float().cpu()[:count]
    rows = max(1, -(-len(weights) // COLUMNS))
    axes = fig.subplots(rows, COLUMNS, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for unit, (ax, row) in enumerate(zip(axes.flat, weights)):
        scale = float(row.abs().max()) or 1.0
        ax.imshow(row.reshape(image_shape).numpy(), cmap="RdBu_r", vmin=-scale, vmax=scale)
        ax.set_title(f"unit {unit}", fontsize=7)
    shown = f"the first {len(weights)} of {W1.shape[0]}" if len(weights) < W1.shape[0] else f"all {W1.shape[0]}"
    fig.suptitle(f"first layer's weights, {shown} units\nred: a bright pixel there excites the unit; blue: inhibits it")


def draw_wrong(
    fig: Figure | SubFigure, wrong: Sequence[tuple[Any, int, int]], n_wrong: int, names: Sequence[str]
) -> None:
    """A grid of misclassified images, each titled with its label and the network's guess."""
    rows = max(1, -(-len(wrong) // COLUMNS))
    axes = fig.subplots(rows, COLUMNS, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (image, label, guess) in zip(axes.flat, wrong):
        ax.imshow(image, cmap="gray_r")
        ax.set_title(f"label {names[label]}\nnet {names[guess]}", fontsize=8)
    if n_wrong:
        fig.suptitle(f"misclassified validation images: {n_wrong:,} in all, the first {len(wrong)} shown")
    else:
        fig.suptitle("misclassified validation images: none")


def report_figure(
    history: dict[str, list[float]],
    W1: Tensor,
    image_shape: tuple[int, int],
    matrix: Tensor,
    wrong: Sequence[tuple[Any, int, int]],
    n_wrong: int,
    title: str,
    names: Sequence[str],
    compared: dict[str, dict[str, list[float]]] | None = None,
    loss_name: str = "L2",
) -> Figure:
    """The whole report: curves; confusion matrix beside the first layer's weights; the misclassified grid.
    With `compared` (loss name -> history), the curves are every loss's, side by side."""
    import matplotlib.pyplot as plt

    weight_rows = max(1, -(-min(WEIGHTS_SHOWN, W1.shape[0]) // COLUMNS))
    wrong_rows = max(1, -(-len(wrong) // COLUMNS))
    middle = max(5.5, 1.3 * weight_rows + 0.8)
    fig = plt.figure(figsize=(14, 4 + middle + 1.5 * wrong_rows), layout="constrained")
    top, mid, bottom = fig.subfigures(3, 1, height_ratios=[4, middle, 1.5 * wrong_rows])  # type: ignore[misc]
    if compared:
        *loss_axes, acc_ax = top.subplots(1, len(compared) + 1)
        draw_compared(loss_axes, acc_ax, compared)
    else:
        loss_ax, acc_ax = top.subplots(1, 2)
        draw_curves(loss_ax, acc_ax, history, loss_name)
    left, right = mid.subfigures(1, 2, width_ratios=[1, 1.25])  # type: ignore[misc]
    draw_confusion(left.subplots(), matrix, names)
    draw_weights(right, W1, image_shape)
    draw_wrong(bottom, wrong, n_wrong, names)
    fig.suptitle(title)
    return fig
