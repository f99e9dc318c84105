"""Kata 4: the L2 loss, which scores a batch of predictions against their labels.

labels holds class indices, shape (N,). Each becomes a one-hot row as wide as the prediction:
label 2 with C = 5 classes is [0, 0, 1, 0, 0]. Then, with y of shape (N, C),

    loss = (1 / N) * sum_n sum_c (y[n, c] - onehot[n, c])^2      a 0-dim tensor
    dy[n, c] = (2 / N) * (y[n, c] - onehot[n, c])                 shape (N, C), like y

The sum runs over classes and the mean over the batch: dividing by N * C instead is a
different loss. The one-hot width is C = y.shape[1], never labels.max() + 1: a batch in which
the last class happens to be absent is still a batch of C-class predictions.
`torch.nn.functional.one_hot(labels, num_classes)` builds the rows; convert them to y's dtype.

Keep the loss a tensor computed by torch operations (no .item(), .numpy() or .detach()): kata 9
differentiates it with torch.autograd, and the tests check that it stays in autograd's graph when
y requires grad. dy need not: it is computed by hand.
"""

import torch
from torch import Tensor


def l2_loss(y: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """Return (loss, dy): the batch-mean of the summed squared error against one-hot labels."""
    raise NotImplementedError("kata-4 (l2): l2_loss is not written yet; write it in katas/l2.py")
