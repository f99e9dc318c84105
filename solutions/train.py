"""Kata 8: training, where the network learns from data.

Data first: an image batch (N, 28, 28), or (N, 1, 28, 28) as torchvision gives it, becomes one
row of 784 numbers per image, shape (N, 784), floating point, row-major: pixel (r, c) lands in
column r * 28 + c. Write it for any image size, not just 28 x 28.

Then minibatch stochastic gradient descent. For each of the n_epochs epochs:

    shuffle the row order (torch.randperm), then for each run of batch_size rows:
        out, cache = model.forward(x_batch)
        loss, dout = l2_loss(out, labels_batch)
        model.backward(dout, cache)
        for every key:  params[key] <- params[key] - learning_rate * grads[key]

Every row is used exactly once per epoch; the last batch may be smaller. Step *against* the
gradient (minus), scale the step by learning_rate, and update the tensors in model.params
(in place, or by storing new tensors under the same keys).

After each epoch append to the history: the mean of that epoch's batch losses, and the
accuracy (kata 5) on the whole training set and on the validation set, as Python floats.
Gradients here are written by hand, so run the loop under `torch.no_grad()`.
"""

from typing import Any

import torch
from torch import Tensor

from .accuracy import calculate_accuracy
from .l2 import l2_loss


def flatten_images(images: Tensor) -> Tensor:
    """Return images (N, ...) as a floating-point (N, pixels) tensor, one row per image."""
    # >>> kata
    flat = images.reshape(images.shape[0], -1)
    return flat if flat.is_floating_point() else flat.float()
    # <<< kata


def train_model(
    model: Any,
    train_data: Tensor,
    train_labels: Tensor,
    validation_data: Tensor,
    validation_labels: Tensor,
    n_epochs: int,
    learning_rate: float = 1e-3,
    batch_size: int = 16,
) -> dict[str, list[float]]:
    """Train model.params by minibatch SGD on l2_loss; return the per-epoch history.

    The history has three lists of n_epochs floats each:
    {"train_loss": [...], "train_accuracy": [...], "validation_accuracy": [...]}.
    """
    # >>> kata
    history: dict[str, list[float]] = {"train_loss": [], "train_accuracy": [], "validation_accuracy": []}
    n = train_data.shape[0]
    with torch.no_grad():
        for _ in range(n_epochs):
            order = torch.randperm(n, device=train_data.device)
            losses = []
            for start in range(0, n, batch_size):
                rows = order[start : start + batch_size]
                out, cache = model.forward(train_data[rows])
                loss, dout = l2_loss(out, train_labels[rows])
                model.backward(dout, cache)
                for key, param in model.params.items():
                    param -= learning_rate * model.grads[key]
                losses.append(loss)
            history["train_loss"].append(torch.stack(losses).mean().item())
            history["train_accuracy"].append(calculate_accuracy(model, train_data, train_labels).item())
            history["validation_accuracy"].append(calculate_accuracy(model, validation_data, validation_labels).item())
    return history
    # <<< kata
