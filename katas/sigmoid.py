"""Kata 3: the sigmoid, which squashes the network's scores into (0, 1).

    out = sigma(x) = 1 / (1 + exp(-x))       elementwise, any shape

The sigmoid solves its own derivative: sigma'(x) = sigma(x) * (1 - sigma(x)). Written with the
forward *output* z = sigma(x), the backward pass is

    dx = dout * z * (1 - z)

so the cache should hold z, not x.

Watch exp: in float32, exp(t) is inf for t above about 88. 1 / (1 + exp(-x)) comes through
that: for x = -1e4, exp(-x) is inf and 1 / inf is 0, the right answer. Its twin,
exp(x) / (1 + exp(x)), does not: for x = 1e4 it divides inf by inf and gives NaN. To never
meet an inf at all, take exp of -|x| only: 1 / (1 + exp(-x)) where x >= 0 and
exp(x) / (1 + exp(x)) where x < 0, chosen per element (torch.where).

Stay in torch operations (no .numpy() or .detach()): kata 9 differentiates forward with
torch.autograd, and the tests check that out stays in autograd's graph when x requires grad.
"""

import torch
from torch import Tensor


def sigmoid_forward(x: Tensor) -> tuple[Tensor, Tensor]:
    """Return (out, cache): out = 1 / (1 + exp(-x)), computed without overflow; cache = out."""
    raise NotImplementedError("kata-3 (sigmoid): sigmoid_forward is not written yet; write it in katas/sigmoid.py")


def sigmoid_backward(dout: Tensor, cache: Tensor) -> Tensor:
    """Return dx = dout * z * (1 - z), where z is the forward output kept in the cache."""
    raise NotImplementedError("kata-3 (sigmoid): sigmoid_backward is not written yet; write it in katas/sigmoid.py")
