"""Kata 2: relu_forward and relu_backward."""

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from tests import judge

mod = judge.load("relu")
LEAF_IN_PLACE = r"leaf Variable that requires grad is being used in an in-place"


def diagnoses(x, dout):
    return {
        "forward": {
            "relu/identity": x,
            "relu/comparison-reversed": x * (x < 0),
            "relu/mask-as-output": lambda: (x > 0).to(x.dtype),
        },
        "backward": {
            "relu/mask-from-dout": dout * (dout > 0),
            "relu/gradient-at-zero": dout * (x >= 0),
            "relu/dx-is-mask": lambda: (x > 0).to(dout.dtype),
            "relu/dx-is-dout": dout,
            "relu/mask-inverted": dout * (x <= 0),
            "relu/dout-times-output": lambda: dout * x.clamp(min=0),
        },
        "x": {"relu/forward-in-place": lambda: x.clamp(min=0)},
        "dout": {"relu/backward-in-place": lambda: dout * (x > 0)},
    }


def check(x, dout):
    saved_x, saved_dout = x.clone(), dout.clone()
    what = diagnoses(saved_x, saved_dout)
    (want,) = judge.autograd(torch.relu, (x,), dout)
    out, cache = judge.unpack(judge.call(mod.relu_forward, x, graph=True), ("out", "cache"))
    judge.close("out", out, saved_x * (saved_x > 0), what["forward"])
    judge.unchanged("x", saved_x, x, what["x"])
    # Again with x requiring grad, as kata 9 runs it. Autograd's slope at exactly 0 differs between correct
    # ways of writing ReLU (clamp: 1, torch.maximum: 1/2, a mask: 0): compare gradients only away from it.
    # x requires grad here: a forward that writes into x crashes (torch's leaf error), and that is this mistake,
    # not an update to put under torch.no_grad().
    in_place = {LEAF_IN_PLACE: "relu/forward-in-place"}
    reference = torch.relu if bool((x != 0).all()) else None
    judge.in_graph(mod.relu_forward, (x,), ("out", "cache"), reference, explain=in_place)
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
    judge.close("dx", dx, judge.numerical_grad(mod.relu_forward, (x,), x, dout))


def test_float32_and_mixed_signs_of_dout():
    x = torch.tensor([[1.0, -1.0], [2.0, -2.0]])
    dout = torch.tensor([[-3.0, 3.0], [4.0, -4.0]])
    check(x, dout)
