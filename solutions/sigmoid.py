"""Kata 3: the sigmoid, which squashes the network's scores into (0, 1).

    out = sigma(x) = 1 / (1 + exp(-x))       elementwise, any shape

The sigmoid solves its own derivative: sigma'(x) = sigma(x) * (1 - sigma(x)). Written with the
forward *output* z = sigma(x), the backward pass is

    dx = dout * z * (1 - z)

so the cache should hold z, not x.

Trap: exp overflows. In float32, exp(x) is inf for x above about 88, and a formula that
divides inf by inf gives NaN. Both 1 / (1 + exp(-x)) for x >= 0 and exp(x) / (1 + exp(x))
for x < 0 only ever take exp of a number <= 0; choose per element (torch.where) and no value
of x, however large, gives NaN or inf.

Stay in torch operations (no .numpy() or .detach()): kata 9 differentiates forward with
torch.autograd, and the tests check that out stays in autograd's graph when x requires grad.
"""

import torch
from torch import Tensor


def sigmoid_forward(x: Tensor) -> tuple[Tensor, Tensor]:
    """Return (out, cache): out = 1 / (1 + exp(-x)), computed without overflow; cache = out."""
    # >>> kata
    e = torch.exp(-x.abs())
    out = torch.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return out, out
    # <<< kata


def sigmoid_backward(dout: Tensor, cache: Tensor) -> Tensor:
    """Return dx = dout * z * (1 - z), where z is the forward output kept in the cache."""
    # >>> kata
    z = cache
    return dout * z * (1 - z)
    # <<< kata
