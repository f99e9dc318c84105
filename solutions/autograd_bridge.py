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
    # >>> kata: fill
    "W1": "linear_1.weight",
    "b1": "linear_1.bias",
    "W2": "linear_2.weight",
    "b2": "linear_2.bias",
    # <<< kata
}


class TwoLayerPytorch(nn.Module):
    """linear_1 -> relu -> linear_2 -> sigmoid, built from torch.nn modules."""

    def __init__(self, inp_dim: int, hidden_dim: int, out_dim: int) -> None:
        """Create linear_1 (inp_dim -> hidden_dim), relu, linear_2 (hidden -> out) and sigmoid."""
        super().__init__()
        self.linear_1 = nn.Linear(inp_dim, hidden_dim)
        self.relu = nn.ReLU()
        # >>> kata
        self.linear_2 = nn.Linear(hidden_dim, out_dim)
        self.sigmoid = nn.Sigmoid()
        # <<< kata

    def forward(self, x: Tensor) -> Tensor:
        """Return sigmoid(linear_2(relu(linear_1(x)))), shape (N, out_dim)."""
        h = self.relu(self.linear_1(x))
        # >>> kata
        return self.sigmoid(self.linear_2(h))
        # <<< kata


def to_pytorch(net: TwoLayerNet) -> TwoLayerPytorch:
    """Return a TwoLayerPytorch holding the same parameters as net (through KEY_MAP)."""
    # >>> kata
    hidden_dim, inp_dim = net.params["W1"].shape
    out_dim = net.params["W2"].shape[0]
    W1 = net.params["W1"]
    module = TwoLayerPytorch(inp_dim, hidden_dim, out_dim).to(device=W1.device, dtype=W1.dtype)
    module.load_state_dict({KEY_MAP[key]: param for key, param in net.params.items()})
    return module
    # <<< kata


def autograd_grads(net: TwoLayerNet, x: Tensor, labels: Tensor) -> dict[str, Tensor]:
    """Return {key: dL/dparam} computed by torch.autograd for l2_loss(net.forward(x)[0], labels)."""
    # >>> kata
    original = net.params
    leaves = {key: param.detach().clone().requires_grad_(True) for key, param in original.items()}
    net.params = leaves
    try:
        with torch.enable_grad():
            out, _ = net.forward(x)
            loss, _ = l2_loss(out, labels)
            grads = torch.autograd.grad(loss, list(leaves.values()))
    finally:
        net.params = original
    return dict(zip(leaves, grads))
    # <<< kata


def sgd_step(module: nn.Module, x: Tensor, labels: Tensor, learning_rate: float) -> Tensor:
    """Take one torch.optim.SGD step on l2_loss(module(x), labels); return the loss before it."""
    # >>> kata
    optimizer = torch.optim.SGD(module.parameters(), lr=learning_rate)
    optimizer.zero_grad()
    with torch.enable_grad():
        loss, _ = l2_loss(module(x), labels)
        loss.backward()
    optimizer.step()
    return loss.detach()
    # <<< kata
