"""The training loop of `python -m tools.learner.train`: a fresh TwoLayerNet trained epoch by epoch (your
train_model on L2, or kata 10's cross_entropy_loss on the scores through your own layers), a line per epoch and a
bar per batch on stderr (tools/learner/train.py runs it and draws the report)."""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from tools.learner.train_options import LOSS_NAMES

if TYPE_CHECKING:
    from torch import Tensor

BAR_WIDTH = 30


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
