"""Kata 9: meet torch.autograd and torch.nn, and hold your hand-written network against them.

1. `TwoLayerPytorch` is the same network as torch.nn modules: `linear_1` (nn.Linear),
   `relu` (nn.ReLU), `linear_2` (nn.Linear), `sigmoid` (nn.Sigmoid), applied in that order.
   nn.Linear(c_in, c_out) keeps its weight as (c_out, c_in), just like your W.
2. `KEY_MAP` names, for each key of TwoLayerNet.params, the state_dict entry of
   TwoLayerPytorch that holds the same numbers; `to_pytorch` builds a TwoLayerPytorch with the
   sizes of a TwoLayerNet, on its device and dtype, and loads its parameters through the map.
3. `autograd_grads` lets torch.autograd do kata 7's backward: run the net's forward and
   l2_loss on parameters that require grad, call backward on the loss, and return the
   gradients by key. The net must come out exactly as it went in (same tensors in `params`,
   none of them requiring grad, `grads` untouched), so work on detached copies.
4. `sgd_step` takes one step of torch.optim.SGD on l2_loss: zero the gradients, forward,
   loss, backward, step. It moves the module exactly as kata 8's hand-written update would.
"""

import torch
from torch import Tensor, nn

from .l2 import l2_loss
from .model import TwoLayerNet

KEY_MAP: dict[str, str] = {
    # TODO kata-9 (autograd-bridge): fill this in (KEY_MAP, katas/autograd_bridge.py)
}


class TwoLayerPytorch(nn.Module):
    """linear_1 -> relu -> linear_2 -> sigmoid, built from torch.nn modules."""

    def __init__(self, inp_dim: int, hidden_dim: int, out_dim: int) -> None:
        """Create linear_1 (inp_dim -> hidden_dim), relu, linear_2 (hidden -> out) and sigmoid."""
        super().__init__()
        self.linear_1 = nn.Linear(inp_dim, hidden_dim)
        self.relu = nn.ReLU()
        raise NotImplementedError(
            "kata-9 (autograd-bridge): TwoLayerPytorch.__init__ is not written yet; write it in katas/autograd_bridge.py"
        )

    def forward(self, x: Tensor) -> Tensor:
        """Return sigmoid(linear_2(relu(linear_1(x)))), shape (N, out_dim)."""
        h = self.relu(self.linear_1(x))
        raise NotImplementedError(
            "kata-9 (autograd-bridge): TwoLayerPytorch.forward is not written yet; write it in katas/autograd_bridge.py"
        )


def to_pytorch(net: TwoLayerNet) -> TwoLayerPytorch:
    """Return a TwoLayerPytorch holding the same parameters as net (through KEY_MAP)."""
    raise NotImplementedError(
        "kata-9 (autograd-bridge): to_pytorch is not written yet; write it in katas/autograd_bridge.py"
    )


def autograd_grads(net: TwoLayerNet, x: Tensor, labels: Tensor) -> dict[str, Tensor]:
    """Return {key: dL/dparam} computed by torch.autograd for l2_loss(net.forward(x)[0], labels)."""
    raise NotImplementedError(
        "kata-9 (autograd-bridge): autograd_grads is not written yet; write it in katas/autograd_bridge.py"
    )


def sgd_step(module: nn.Module, x: Tensor, labels: Tensor, learning_rate: float) -> Tensor:
    """Take one torch.optim.SGD step on l2_loss(module(x), labels); return the loss before it."""
    raise NotImplementedError(
        "kata-9 (autograd-bridge): sgd_step is not written yet; write it in katas/autograd_bridge.py"
    )
