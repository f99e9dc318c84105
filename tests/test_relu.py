"""Kata 2: relu_forward and relu_backward."""

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from tests import judge

mod = judge.load("relu")


def diagnoses(x, dout):
    return {
        "forward": {
            "the output is x itself: negative entries must become 0.": x,
            "negative entries are kept and positive ones zeroed: the comparison is the wrong way round.": (x * (x < 0)),
            "out is the mask (0 or 1), not the values: multiply x by it.": lambda: (x > 0).to(x.dtype),
        },
        "backward": {
            "the mask is taken from dout instead of the forward input x: "
            "the gradient flows where x > 0, whatever the sign of dout.": dout * (dout > 0),
            "the gradient at exactly x == 0 passes through (`>=`): at 0 the slope is taken to be 0.": (dout * (x >= 0)),
            "dx is the mask itself: multiply dout by it.": lambda: (x > 0).to(dout.dtype),
            "dx is dout unchanged: zero it where x <= 0.": dout,
            "the mask is inverted: the gradient must flow where x > 0, not where x <= 0.": dout * (x <= 0),
            "dx is dout times the forward output: the slope of ReLU is 1 where x > 0 and 0 elsewhere, "
            "so dout is multiplied by that 0/1 mask, not by the values.": lambda: dout * x.clamp(min=0),
        },
        "x": {
            "relu_forward wrote its zeros into x itself (`x[x < 0] = 0` or similar) and returned it: "
            "leave x alone and build out as a new tensor.": lambda: x.clamp(min=0),
        },
        "dout": {
            "relu_backward zeroed dout in place where x <= 0 and returned it: build dx as a new tensor.": lambda: (
                dout * (x > 0)
            ),
        },
    }


def check(x, dout):
    saved_x, saved_dout = x.clone(), dout.clone()
    what = diagnoses(saved_x, saved_dout)
    (want,) = judge.autograd(torch.relu, (x,), dout)
    out, cache = judge.unpack(judge.call(mod.relu_forward, x), ("out", "cache"))
    judge.close("out", out, saved_x * (saved_x > 0), what["forward"])
    judge.unchanged("x", saved_x, x, what["x"])
    # Again with x requiring grad, as kata 9 runs it. Autograd's slope at exactly 0 differs between correct
    # ways of writing ReLU (clamp: 1, torch.maximum: 1/2, a mask: 0): compare gradients only away from it.
    judge.in_graph(mod.relu_forward, (x,), ("out", "cache"), torch.relu if bool((x != 0).all()) else None)
    dx = judge.call(mod.relu_backward, dout, cache)
    judge.close("dx", dx, want.to(x.dtype), what["backward"])
    judge.unchanged("x", saved_x, x, what["x"])
    judge.unchanged("dout", saved_dout, dout, what["dout"])


def test_on_the_tutorial_inputs():
    check(judge.linspace((5, 10)), judge.linspace((5, 10), -5.0, 3.0))


def test_exactly_zero_has_zero_gradient():
    x = torch.tensor([[-2.0, 0.0, 3.0], [0.0, 1.5, -0.0]])
    check(x, torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))


@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3), seed=st.integers(0, 2**16))
@example(shape=[1, 1], seed=0)
def test_any_shape_matches_autograd(shape, seed):
    g = torch.Generator().manual_seed(seed)
    x = judge.rand(*shape, generator=g)
    x[x.abs() < 0.1] = 0.0  # some exact zeros
    check(x, judge.rand(*shape, generator=g))


def test_backward_matches_central_differences_of_your_forward():
    g = torch.Generator().manual_seed(5)
    x, dout = judge.rand(4, 3, generator=g), judge.rand(4, 3, generator=g)
    x = x + 0.1 * x.sign()  # keep away from the kink at 0
    _, cache = judge.call(mod.relu_forward, x)
    dx = judge.call(mod.relu_backward, dout, cache)
    judge.close("dx", dx, judge.numerical_grad(lambda: mod.relu_forward(x)[0], x, dout))


def test_float32_and_mixed_signs_of_dout():
    x = torch.tensor([[1.0, -1.0], [2.0, -2.0]])
    dout = torch.tensor([[-3.0, 3.0], [4.0, -4.0]])
    check(x, dout)
