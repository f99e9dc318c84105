"""Kata 6: initial parameters for the two-layer network.

    W1  (hidden_dim, inp_dim)   normal, mean 0, std sqrt(2 / inp_dim)                 (He)
    b1  (hidden_dim,)           zeros
    W2  (out_dim, hidden_dim)   normal, mean 0, std sqrt(2 / (hidden_dim + out_dim))  (Xavier normal)
    b2  (out_dim,)              zeros

Weights start random so that hidden units differ from each other (all-equal units would stay
equal forever). The scale keeps the size of the activations about the same from layer to
layer: He for the layer feeding a ReLU, Xavier for the layer feeding the sigmoid.
`torch.randn` draws from N(0, 1); multiply by the standard deviation (the square root of the
variance, not the variance). Use torch's random generator only, so that `torch.manual_seed`
makes the result repeatable.
"""

import math

import torch
from torch import Tensor


def init_params(inp_dim: int, hidden_dim: int, out_dim: int) -> dict[str, Tensor]:
    """Return {"W1", "b1", "W2", "b2"}: He-initialised W1, Xavier-normal W2, zero biases."""
    raise NotImplementedError("kata-6 (init): init_params is not written yet; write it in katas/init.py")
