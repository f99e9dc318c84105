"""Kata 1: the affine layer, the one layer in this network that learns.

Every output unit j takes a weighted sum of the c_in inputs and adds its own bias:

    out[n, j] = sum_i x[n, i] * W[j, i] + b[j]

Shapes:  x (N, c_in)    W (c_out, c_in)    b (c_out,)    out (N, c_out)
W holds one row per output unit, the layout of `torch.nn.Linear.weight`.

Backward receives dout[n, j] = dL/dout[n, j], shape (N, c_out), and applies the chain rule:

    dx[n, i] = sum_j dout[n, j] * W[j, i]      shape (N, c_in)
    dW[j, i] = sum_n dout[n, j] * x[n, i]      shape (c_out, c_in)
    db[j]    = sum_n dout[n, j]                shape (c_out,)

Every row of the batch used the same W and b, so their gradients add up over the batch: a sum,
not a mean. Each gradient has exactly the shape of the tensor it belongs to; check that first.
Build new tensors: never write into x, W, b or dout.

Stay in torch operations on the tensors you are given (no .numpy(), .item(), .tolist() or .detach()):
kata 9 differentiates this layer with torch.autograd, which follows only what torch computed, so the
tests call forward with inputs that require grad and check that out stays in autograd's graph.

dx is one of the three large matrix products of a backward pass, and the first layer's x is the
data itself, which needs no gradient. So backward takes `need_dx`: when it is False, skip that
product and return None for dx (torch.autograd does the same for inputs that do not require grad).
"""

import torch
from torch import Tensor

AffineCache = tuple[Tensor, Tensor, Tensor]


def affine_forward(x: Tensor, W: Tensor, b: Tensor) -> tuple[Tensor, AffineCache]:
    """Return (out, cache): out = x W^T + b, shape (N, c_out); cache = (x, W, b) for backward."""
    # >>> kata
    out = torch.addmm(b, x, W.T)  # b + x W^T in one product
    cache = (x, W, b)
    return out, cache
    # <<< kata


def affine_backward(dout: Tensor, cache: AffineCache, need_dx: bool = True) -> tuple[Tensor | None, Tensor, Tensor]:
    """Return (dx, dW, db), the gradients for x, W and b, from dout (N, c_out) and the cache.

    With need_dx=False, dx is not computed and None is returned in its place.
    """
    # >>> kata
    x, W, _ = cache
    dx = dout @ W if need_dx else None
    dW = dout.T @ x
    db = dout.sum(dim=0)
    return dx, dW, db
    # <<< kata
