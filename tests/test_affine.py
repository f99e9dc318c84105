"""Kata 1: affine_forward and affine_backward."""

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from tests import judge

mod = judge.load("affine")
dims = st.integers(min_value=1, max_value=6)
FORWARD_CRASH = {
    r"shapes cannot be multiplied": "affine/forward-shapes-do-not-fit",
    # in_graph's inputs require grad: a forward writing into one of them meets torch's leaf error
    r"leaf Variable that requires grad is being used in an in-place": judge.cause(
        "any/input-in-place", fn="affine_forward", name="x, W or b"
    ),
}
BACKWARD_CRASH = {r"shapes cannot be multiplied": "affine/backward-shapes-do-not-fit"}


def reference_forward(x, W, b):
    # Written as the index formula (broadcast multiply and sum), not as the matrix product.
    return (x.unsqueeze(1) * W.unsqueeze(0)).sum(-1) + b


def forward_diagnoses(x, W, b):
    return {
        "affine/no-bias": lambda: x @ W.T,
        "affine/bias-subtracted": lambda: x @ W.T - b,
        "affine/W-untransposed": lambda: x @ W + b,
    }


def backward_diagnoses(x, W, dout, dx, dW, db):
    n = x.shape[0]
    return {
        "dx": {
            "affine/dx-mean": dx / n,
            "affine/dx-W-transposed": lambda: dout @ W.T,
            "affine/dx-sign": -dx,
        },
        "dW": {
            "affine/dW-transposed": dW.T,
            "affine/dW-mean": dW / n,
            "affine/dW-twice": 2 * dW,
            "affine/dW-sign": -dW,
            "affine/dW-first-row": lambda: torch.outer(dout[0], x[0]),
        },
        "db": {
            "affine/db-mean": db / n,
            "affine/db-first-row": dout[0],
            "affine/db-wrong-dim": lambda: dout.sum(1),
            "affine/db-sign": -db,
        },
    }


def check_forward(x, W, b):
    saved = [t.clone() for t in (x, W, b)]
    out, cache = judge.unpack(
        judge.call(mod.affine_forward, x, W, b, explain=FORWARD_CRASH, graph=True), ("out", "cache")
    )
    judge.close("out", out, reference_forward(x, W, b), forward_diagnoses(x, W, b), rtol=1e-4, atol=1e-5)
    for name, before, after in zip(("x", "W", "b"), saved, (x, W, b)):
        judge.unchanged(name, before, after)
    # Again with x, W and b requiring grad, as kata 9 runs it: out must stay in autograd's graph.
    judge.in_graph(mod.affine_forward, (x, W, b), ("out", "cache"), reference_forward, explain=FORWARD_CRASH)
    return cache


def check_backward(x, W, b, dout, rtol=1e-5, atol=1e-6):
    cache = check_forward(x, W, b)
    saved = dout.clone()
    dx, dW, db = judge.unpack(judge.call(mod.affine_backward, dout, cache, explain=BACKWARD_CRASH), ("dx", "dW", "db"))
    want = judge.autograd(reference_forward, (x, W, b), dout)
    want = [w.to(x.dtype) for w in want]
    diagnoses = backward_diagnoses(x, W, dout, *want)
    for name, got, expected in zip(("dx", "dW", "db"), (dx, dW, db), want):
        judge.close(name, got, expected, diagnoses[name], rtol=rtol, atol=atol)
    judge.unchanged("dout", saved, dout)


def test_forward_on_the_tutorial_inputs():
    x = judge.linspace((3, 16))
    W = judge.linspace((10, 16))
    b = judge.linspace((10,))
    check_forward(x, W, b)


def test_backward_on_the_tutorial_inputs():
    x, W, b = judge.linspace((3, 16)), judge.linspace((10, 16)), judge.linspace((10,))
    dout = judge.linspace((3, 10))
    check_backward(x, W, b, dout, rtol=1e-4, atol=1e-4)


@given(n=dims, c_in=dims, c_out=dims, seed=st.integers(0, 2**16))
@example(n=1, c_in=3, c_out=3, seed=0)  # a batch of one, a square weight
@example(n=4, c_in=4, c_out=4, seed=1)  # everything square: a transposed gradient keeps its shape
def test_forward_and_backward_match_autograd(n, c_in, c_out, seed):
    g = torch.Generator().manual_seed(seed)
    x, W, b, dout = (judge.rand(*s, generator=g) for s in ((n, c_in), (c_out, c_in), (c_out,), (n, c_out)))
    check_backward(x, W, b, dout)


def test_backward_matches_central_differences_of_your_forward():
    g = torch.Generator().manual_seed(3)
    x, W, b, dout = (judge.rand(*s, generator=g) for s in ((3, 4), (5, 4), (5,), (3, 5)))
    check_forward(x, W, b)
    _, cache = judge.call(mod.affine_forward, x, W, b, explain=FORWARD_CRASH)
    grads = judge.unpack(judge.call(mod.affine_backward, dout, cache, explain=BACKWARD_CRASH), ("dx", "dW", "db"))
    numeric = [judge.numerical_grad(mod.affine_forward, (x, W, b), t, dout) for t in (x, W, b)]
    diagnoses = backward_diagnoses(x, W, dout, *numeric)
    for name, got, expected in zip(("dx", "dW", "db"), grads, numeric):
        judge.close(name, got, expected, diagnoses[name], rtol=1e-5, atol=1e-6)


def test_float32_stays_float32():
    g = torch.Generator().manual_seed(4)
    x, W, b, dout = (judge.rand(*s, generator=g, dtype=torch.float32) for s in ((2, 3), (4, 3), (4,), (2, 4)))
    check_backward(x, W, b, dout, rtol=1e-4, atol=1e-5)


def test_backward_can_skip_dx():
    g = torch.Generator().manual_seed(13)
    x, W, b, dout = (judge.rand(*s, generator=g) for s in ((4, 5), (3, 5), (3,), (4, 3)))
    _, cache = judge.unpack(judge.call(mod.affine_forward, x, W, b, explain=FORWARD_CRASH), ("out", "cache"))
    dx, dW, db = judge.unpack(judge.call(mod.affine_backward, dout, cache, False), ("dx", "dW", "db"))
    if dx is not None:
        raise judge.fail(
            f"{judge.describe_call(mod.affine_backward, (dout, cache, False))} returned a dx; expected None.",
            judge.cause("affine/ignores-need-dx"),
        )
    want_dx, want_dW, want_db = dout @ W, dout.T @ x, dout.sum(0)
    diagnoses = backward_diagnoses(x, W, dout, want_dx, want_dW, want_db)
    judge.close("dW", dW, want_dW, diagnoses["dW"])
    judge.close("db", db, want_db, diagnoses["db"])
