"""Kata 5: accuracy, the number a person reads off a classifier.

The model's output has one score per class in its last dimension. Its guess for a row is the
class with the highest score (argmax over the last dimension, dim=-1). Accuracy is the
fraction of rows whose guess equals the label:

    accuracy = (number of rows with argmax(out[n]) == labels[n]) / N

Return it as a 0-dim floating-point tensor between 0 and 1 (a fraction, not a count), on the
same device as the data. `model` is anything with `forward(x) -> (out, cache)`: call
`model.forward`, take `out` and ignore the cache.
"""

from typing import Any

import torch
from torch import Tensor


def calculate_accuracy(model: Any, input_data: Tensor, labels: Tensor) -> Tensor:
    """Return the fraction of rows where argmax of model.forward(input_data)[0] equals the label."""
    # >>> kata
    out, _ = model.forward(input_data)
    guess = torch.argmax(out, dim=-1)
    return (guess == labels).float().mean()
    # <<< kata
