"""Kata 1: affine_forward and affine_backward."""

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from tests import judge

mod = judge.load("affine")
dims = st.integers(min_value=1, max_value=6)
FORWARD_CRASH = {
    r"shapes cannot be multiplied": "x (N, c_in) and W (c_out, c_in) do not fit in a matrix product as they are: "
    "which of the two must be transposed so that c_in meets c_in?"
}
BACKWARD_CRASH = {
    r"shapes cannot be multiplied": "a product in affine_backward has factors whose shapes do not fit: write the "
    "shape under each factor. dx must come out (N, c_in) and dW (c_out, c_in); the dimension summed away "
    "(c_out for dx, N for dW) must be the inner one of the product."
}


def reference_forward(x, W, b):
    # Written as the index formula (broadcast multiply and sum), not as the matrix product.
    return (x.unsqueeze(1) * W.unsqueeze(0)).sum(-1) + b


def forward_diagnoses(x, W, b):
    return {
        "the bias is missing: add b to every row.": lambda: x @ W.T,
        "the bias is subtracted instead of added.": lambda: x @ W.T - b,
        "x is multiplied by W where W^T belongs: out[n, j] sums x[n, i] W[j, i] over i, "
        "so W's rows (not its columns) meet x's rows.": lambda: x @ W + b,
    }


def backward_diagnoses(x, W, dout, dx, dW, db):
    n = x.shape[0]
    return {
        "dx": {
            "dx is N times too small: the batch mean belongs in the loss, not in the layer.": dx / n,
            "dx used the transposed W: dx = dout W has shape (N, c_in).": lambda: dout @ W.T,
            "dx has the wrong sign: the chain rule through this layer only multiplies; no minus sign appears.": -dx,
        },
        "dW": {
            "your dW is the transpose of the right one: dW[j, i] = sum_n dout[n, j] x[n, i] "
            "has W's shape (c_out, c_in).": dW.T,
            "dW is divided by the batch size N: a weight used by every row adds up its gradients.": dW / n,
            "dW is twice too large: the affine layer has no factor 2 (the loss's square has one).": 2 * dW,
            "dW has the wrong sign: the chain rule through this layer only multiplies; no minus sign appears.": -dW,
            "dW comes from the first row of the batch only: sum over all N rows.": lambda: torch.outer(dout[0], x[0]),
        },
        "db": {
            "db is averaged over the batch (mean); it should be summed: every row used the same b.": db / n,
            "db is taken from the first row of the batch only; sum over all N rows.": dout[0],
            "db is summed over the wrong dimension: sum over the batch, so that db has the shape of b, (c_out,).": (
                lambda: dout.sum(1)
            ),
            "db has the wrong sign: the chain rule through this layer only multiplies; no minus sign appears.": -db,
        },
    }


def check_forward(x, W, b):
    saved = [t.clone() for t in (x, W, b)]
    out, cache = judge.unpack(judge.call(mod.affine_forward, x, W, b, explain=FORWARD_CRASH), ("out", "cache"))
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
    numeric = [judge.numerical_grad(lambda: mod.affine_forward(x, W, b)[0], t, dout) for t in (x, W, b)]
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
            f"{judge.describe_call(mod.affine_backward, (dout, cache, False))} returned a dx; expected None.\n"
            "  Likely cause: need_dx is ignored. With need_dx=False, skip the product for dx and return None."
        )
    want_dx, want_dW, want_db = dout @ W, dout.T @ x, dout.sum(0)
    diagnoses = backward_diagnoses(x, W, dout, want_dx, want_dW, want_db)
    judge.close("dW", dW, want_dW, diagnoses["dW"])
    judge.close("db", db, want_db, diagnoses["db"])
