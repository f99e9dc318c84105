"""Quick checks of the katas that later katas build on, to blame a failure on the right kata.

When a test of kata 7 fails, tests/plugin.py asks `first_broken` about the katas whose code ran in
that test: if one of them is unfinished or wrong, the learner is sent there first instead of
reading kata 7's details.
Each check is small, seeded, and compares against torch's own operations in float64.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

import torch

from tests import judge
from tools.manifest import Kata


def _rand(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(sum(shape)), dtype=torch.float64)


def _affine() -> bool:
    mod = judge.load("affine")
    x, W, b, dout = _rand(3, 5), _rand(4, 5), _rand(4), _rand(3, 4)
    out, cache = judge.unpack(judge.call(mod.affine_forward, x, W, b), ("out", "cache"))
    dx, dW, db = judge.unpack(judge.call(mod.affine_backward, dout, cache), ("dx", "dW", "db"))
    return all(map(torch.allclose, (out, dx, dW, db), (x @ W.T + b, dout @ W, dout.T @ x, dout.sum(0))))


def _relu() -> bool:
    mod = judge.load("relu")
    x, dout = torch.tensor([[-1.0, 0.0, 2.0]], dtype=torch.float64), _rand(1, 3)
    out, cache = judge.unpack(judge.call(mod.relu_forward, x), ("out", "cache"))
    dx = judge.call(mod.relu_backward, dout, cache)
    return torch.allclose(out, x.clamp(min=0)) and torch.allclose(dx, dout * (x > 0))


def _sigmoid() -> bool:
    mod = judge.load("sigmoid")
    x, dout = _rand(3, 4) * 3, _rand(3, 4)
    out, cache = judge.unpack(judge.call(mod.sigmoid_forward, x), ("out", "cache"))
    dx = judge.call(mod.sigmoid_backward, dout, cache)
    z = torch.sigmoid(x)
    return torch.allclose(out, z) and torch.allclose(dx, dout * z * (1 - z))


def _l2() -> bool:
    mod = judge.load("l2")
    y, labels = (
        torch.rand(4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0)),
        torch.tensor([0, 2, 1, 2]),
    )
    loss, dy = judge.unpack(judge.call(mod.l2_loss, y, labels), ("loss", "dy"))
    t = torch.nn.functional.one_hot(labels, 5).double()
    return torch.allclose(loss, ((y - t) ** 2).sum() / 4) and torch.allclose(dy, 2 * (y - t) / 4)


def _accuracy() -> bool:
    mod = judge.load("accuracy")

    class Fixed:
        def forward(self, x):
            return torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]), None

    got = judge.call(mod.calculate_accuracy, Fixed(), torch.zeros(4, 1), torch.tensor([1, 1, 1, 0]))
    return torch.is_tensor(got) and abs(float(got) - 0.5) < 1e-6


def _init() -> bool:
    mod = judge.load("init")
    torch.manual_seed(0)
    p = judge.call(mod.init_params, 300, 200, 100)
    shapes = {k: tuple(v.shape) for k, v in p.items()}
    if shapes != {"W1": (200, 300), "b1": (200,), "W2": (100, 200), "b2": (100,)}:
        return False
    return (
        abs(p["W1"].std().item() / (2 / 300) ** 0.5 - 1) < 0.05
        and abs(p["W2"].std().item() / (2 / 300) ** 0.5 - 1) < 0.05
        and not p["b1"].any()
        and not p["b2"].any()
    )


def _model() -> bool:
    mod = judge.load("model")
    net = judge.call(mod.TwoLayerNet, 5, 4, 3)
    net.params = {k: _rand(*v.shape) for k, v in net.params.items()}
    x, dout = _rand(2, 5), _rand(2, 3)
    out, cache = judge.unpack(judge.call(net.forward, x), ("out", "cache"))
    judge.call(net.backward, dout, cache)
    p = net.params

    def forward(W1, b1, W2, b2):
        return torch.sigmoid(torch.relu(x @ W1.T + b1) @ W2.T + b2)

    want = judge.autograd(forward, [p["W1"], p["b1"], p["W2"], p["b2"]], dout)
    return torch.allclose(out, forward(*p.values())) and all(
        torch.allclose(net.grads[k], g) for k, g in zip(("W1", "b1", "W2", "b2"), want)
    )


CHECKS: dict[str, Callable[[], bool]] = {
    "affine": _affine,
    "relu": _relu,
    "sigmoid": _sigmoid,
    "l2": _l2,
    "accuracy": _accuracy,
    "init": _init,
    "model": _model,
}


@functools.cache
def problem(module: str) -> str | None:
    """None if the kata passes its quick check, else what is wrong with it, in a few words."""
    before = judge.world()
    try:
        with torch.no_grad(), judge.session().limit(5):
            return None if CHECKS[module]() else "it gives wrong results"
    except (judge.TimedOut, judge.Stopped):
        return "it does not finish (an endless loop?)"
    except NotImplementedError as error:
        return str(error).split(": ", 1)[-1].split(";")[0]
    except judge.KataError as error:  # the kata's file does not even import
        return error.problem
    except BaseException as error:  # a crash, sys.exit() and KeyboardInterrupt included
        return f"it raises {type(error).__name__}: {error}"
    finally:
        judge.restore(before)


def first_broken(candidates: Iterable[Kata]) -> tuple[Kata, str] | None:
    """The earliest of these katas that is unfinished or wrong, with the reason."""
    for kata in sorted(candidates, key=lambda k: k.number):
        reason = problem(kata.module) if kata.module in CHECKS else None
        if reason:
            return kata, reason
    return None
