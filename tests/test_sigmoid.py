"""Kata 3: sigmoid_forward and sigmoid_backward."""

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from tests import judge

mod = judge.load("sigmoid")
LEAF_IN_PLACE = r"leaf Variable that requires grad is being used in an in-place"


def diagnoses(x, z, dout):
    return {
        "forward": {
            "sigmoid/exponent-sign": lambda: 1 / (1 + torch.exp(x)),
            "sigmoid/where-swapped": lambda: 1 / (1 + torch.exp(x)),
            "sigmoid/exp-only": lambda: torch.exp(-x),
        },
        "backward": {
            "sigmoid/derivative-at-x": dout * x * (1 - x),
            "sigmoid/no-dout": z * (1 - z),
            "sigmoid/z-squared": dout * z * z,
            "sigmoid/no-z": dout * (1 - z),
            "sigmoid/dx-sign": -(dout * z * (1 - z)),
        },
        "dout": {"sigmoid/backward-in-place": lambda: dout * z * (1 - z)},
    }


def check(x, dout, rtol=1e-5, atol=1e-6):
    saved_x, saved_dout = x.clone(), dout.clone()
    z = torch.sigmoid(x.double()).to(x.dtype)
    what = diagnoses(saved_x, z, saved_dout)
    (want,) = judge.autograd(torch.sigmoid, (x,), dout)
    out, cache = judge.unpack(judge.call(mod.sigmoid_forward, x, graph=True), ("out", "cache"))
    judge.close("out", out, z, what["forward"], rtol=rtol, atol=atol, nonfinite="sigmoid/exp-overflow")
    judge.unchanged("x", saved_x, x, {judge.cause("any/input-in-place", fn="sigmoid_forward", name="x"): z})
    # Again with x requiring grad, as kata 9 runs it. Where exp overflows, the branch torch.where does not pick
    # has a NaN gradient (0 * inf) in correct code: compare gradients only where exp stays finite.
    reference = torch.sigmoid if bool((x.abs() < 80).all()) else None
    in_place = {LEAF_IN_PLACE: judge.cause("any/input-in-place", fn="sigmoid_forward", name="x")}
    judge.in_graph(mod.sigmoid_forward, (x,), ("out", "cache"), reference, explain=in_place)
    dx = judge.call(mod.sigmoid_backward, dout, cache)
    judge.close("dx", dx, want.to(x.dtype), what["backward"], rtol=rtol, atol=atol)
    judge.unchanged("dout", saved_dout, dout, what["dout"])


def test_on_the_tutorial_inputs():
    check(judge.linspace((5, 10)), judge.linspace((5, 10)), rtol=1e-4, atol=1e-6)


@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3), seed=st.integers(0, 2**16))
@example(shape=[1], seed=0)
def test_any_shape_matches_autograd(shape, seed):
    g = torch.Generator().manual_seed(seed)
    check(3 * judge.rand(*shape, generator=g), judge.rand(*shape, generator=g))


def test_large_inputs_give_no_nan_or_inf():
    # float32 overflows exp() above ~88: a formula that divides inf by inf returns NaN.
    x = torch.tensor([[-1e4, -1000.0, -100.0, -89.0, 0.0], [89.0, 100.0, 1000.0, 1e4, 50.0]])
    check(x, torch.ones_like(x), rtol=1e-4, atol=1e-6)


def test_backward_matches_central_differences_of_your_forward():
    g = torch.Generator().manual_seed(6)
    x, dout = 2 * judge.rand(3, 4, generator=g), judge.rand(3, 4, generator=g)
    _, cache = judge.call(mod.sigmoid_forward, x)
    dx = judge.call(mod.sigmoid_backward, dout, cache)
    judge.close("dx", dx, judge.numerical_grad(mod.sigmoid_forward, (x,), x, dout))
