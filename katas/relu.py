"""Kata 2: ReLU, the non-linearity between the two affine layers.

    out = max(0, x)        elementwise, any shape; out has the shape of x

Without it the two affine layers would collapse into one: W2 (W1 x) is just (W2 W1) x.

Backward: where x > 0 the unit passed its input through, so the gradient passes through too;
where x <= 0 the output was a constant 0 and no gradient flows:

    dx = dout  where x > 0
    dx = 0     where x <= 0      (at exactly x == 0 the slope is taken to be 0)

The mask comes from the forward *input* x, not from dout, so cache x. Do not change x or dout
in place (no `x[x < 0] = 0` on the caller's tensor): the caller may still need them.

Stay in torch operations (no .numpy() or .detach()): kata 9 differentiates forward with
torch.autograd, and the tests check that out stays in autograd's graph when x requires grad.
"""

import torch  # noqa: F401 (the stub in katas/ keeps it for the learner)
from torch import Tensor


def relu_forward(x: Tensor) -> tuple[Tensor, Tensor]:
    """Return (out, cache): out = max(0, x) elementwise; cache is what backward needs (x)."""
    raise NotImplementedError("kata-2 (relu): relu_forward is not written yet; write it in katas/relu.py")


def relu_backward(dout: Tensor, cache: Tensor) -> Tensor:
    """Return dx: dout where the forward input was > 0, and 0 elsewhere (0 at exactly x == 0)."""
    raise NotImplementedError("kata-2 (relu): relu_backward is not written yet; write it in katas/relu.py")
