"""Independent references: gradients computed without the learner's code, and the tests' inputs; and the two
halves of a central difference of the learner's own forward (nudged runs in the kata process, the rest here)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import Tensor


def nudged(fn: Callable[..., Any], args: Sequence[Any], wrt: Tensor, h: float) -> list[Any]:
    """fn(*args)[0] with each entry of wrt moved by +h, then by -h, in turn (two results an entry); wrt, one of
    args or a tensor fn reads (a net's parameter), is put back after each. The kata process runs it: the
    2 x wrt.numel() calls of a central difference cross in one message."""
    results = []
    flat = wrt.view(-1)
    for i in range(flat.numel()):
        old = flat[i].item()
        try:
            for step in (h, -h):
                flat[i] = old + step
                found = fn(*args)[0]  # a copy: a forward may hand back the same tensor, refilled, at each call
                results.append(found.detach().clone() if isinstance(found, Tensor) else found)
        finally:
            flat[i] = old
    return results


def central_differences(results: Sequence[Any], wrt: Tensor, dout: Tensor, h: float) -> Tensor:
    """The gradient of sum(f * dout) with respect to wrt from nudged's results: (f(+h) - f(-h)) / 2h, entry by
    entry, in wrt's dtype."""
    grad = torch.zeros_like(wrt)
    gflat = grad.view(-1)
    for i in range(gflat.numel()):
        plus, minus = ((results[2 * i + j] * dout).sum().item() for j in (0, 1))
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


def seed(n: int) -> None:
    """torch.manual_seed(n) for the generator kata code draws from (the CPU's: the judge sends its state with the
    next call), without the rest of torch.manual_seed: it queues each accelerator's seeding with a stack trace,
    about 1 ms deep inside pytest."""
    torch.default_generator.manual_seed(n)
