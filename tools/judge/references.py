"""Independent references: gradients computed without the learner's code, and the tests' inputs."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import Tensor


def numerical_grad(f: Callable[[], Tensor], x: Tensor, dout: Tensor, h: float = 1e-6) -> Tensor:
    """Central difference of sum(f() * dout) with respect to x (float64), entry by entry."""
    grad = torch.zeros_like(x)
    flat, gflat = x.view(-1), grad.view(-1)
    for i in range(flat.numel()):
        old = flat[i].item()
        flat[i] = old + h
        plus = (f() * dout).sum().item()
        flat[i] = old - h
        minus = (f() * dout).sum().item()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * h)
    return grad


def autograd(f: Callable[..., Tensor], inputs: Iterable[Tensor], dout: Tensor) -> list[Tensor]:
    """torch.autograd's gradients of sum(f(*inputs) * dout) for each input (float64 copies)."""
    leaves = [t.detach().double().clone().requires_grad_(True) for t in inputs]
    with torch.enable_grad():
        out = f(*leaves)
        grads = torch.autograd.grad(out, leaves, grad_outputs=dout.double(), allow_unused=True)
    return [torch.zeros_like(leaf) if g is None else g for leaf, g in zip(leaves, grads)]


def linspace(shape: tuple[int, ...], low: float = -4.0, high: float = 4.0, dtype=torch.float32) -> Tensor:
    """The tutorial's deterministic inputs: evenly spaced values filling `shape` row by row."""
    n = 1
    for s in shape:
        n *= s
    return torch.linspace(low, high, n, dtype=dtype).reshape(shape)


def rand(*shape: int, generator: torch.Generator | None = None, dtype=torch.float64) -> Tensor:
    return torch.randn(*shape, generator=generator, dtype=dtype)
