"""Kata 4: l2_loss."""

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from tests import judge

mod = judge.load("l2")


def reference(y, labels):
    target = torch.zeros_like(y)
    target[torch.arange(len(labels)), labels] = 1.0  # one-hot, built without one_hot()
    return ((y - target) ** 2).sum() / y.shape[0]


def diagnoses(y, labels, loss, dy):
    n, c = y.shape
    as_numbers = labels[:, None].to(y.dtype)  # each label broadcast along its row, as a number
    return {
        "loss": {
            "l2/labels-as-numbers": lambda: ((y - as_numbers) ** 2).sum() / n,
            "l2/zero-target": lambda: (y**2).sum() / n,
            "l2/loss-mean-of-all": loss / c,
            "l2/loss-not-averaged": loss * n,
            "l2/loss-sqrt": lambda: loss.sqrt(),
        },
        "dy": {
            "l2/labels-as-numbers": lambda: 2 / n * (y - as_numbers),
            "l2/zero-target": lambda: 2 / n * y,
            "l2/dy-mean-of-all": dy / c,
            "l2/dy-no-factor-2": dy / 2,
            "l2/dy-sign": -dy,
            "l2/dy-not-averaged": dy * n,
        },
        "y": {"l2/y-in-place": lambda: y - onehot(y, labels)},
    }


def onehot(y, labels):
    return torch.nn.functional.one_hot(labels, y.shape[1]).to(y.dtype)


def check(y, labels, rtol=1e-5, atol=1e-7):
    saved_y, saved_labels = y.clone(), labels.clone()
    expected_loss = reference(y.double(), labels).to(y.dtype)
    (expected_dy,) = judge.autograd(lambda t: reference(t, labels), (y,), torch.ones((), dtype=torch.float64))
    expected_dy = expected_dy.to(y.dtype)
    what = diagnoses(saved_y, labels, expected_loss, expected_dy)
    explain = {r"size of tensor|shape|must match": "l2/one-hot-too-narrow"}
    loss, dy = judge.unpack(judge.call(mod.l2_loss, y, labels, explain=explain, graph=True), ("loss", "dy"))
    if isinstance(loss, float):
        raise judge.fail(
            f"l2_loss returned loss as the Python float {loss!r}; expected a 0-dim tensor.", judge.cause("l2/item")
        )
    if isinstance(loss, torch.Tensor) and loss.shape != ():
        raise judge.fail(
            f"l2_loss returned loss of shape {tuple(loss.shape)}; expected a 0-dim tensor, shape (). "
            "Sum over everything and divide by N; do not keep a dimension."
        )
    judge.close("loss", loss, expected_loss, what["loss"], rtol=rtol, atol=atol)
    judge.close("dy", dy, expected_dy, what["dy"], rtol=rtol, atol=atol)
    judge.unchanged("y", saved_y, y, what["y"])
    judge.unchanged("labels", saved_labels, labels)
    # Again with y requiring grad, as kata 9 runs it: the loss must stay in autograd's graph (dy need not).
    judge.in_graph(mod.l2_loss, (y, labels), ("loss", "dy"), reference, explain=explain, rtol=rtol, atol=atol)


def test_on_tutorial_sized_inputs():
    y = judge.linspace((5, 12), 0.0, 1.0)
    check(y, torch.tensor([3, 0, 11, 7, 3]))


def test_the_largest_class_absent_from_the_batch():
    # one-hot must be as wide as y (12 classes), not as wide as the largest label present (6).
    y = judge.linspace((4, 12), 0.0, 1.0)
    check(y, torch.tensor([0, 5, 2, 5]))


def test_batch_of_one():
    check(torch.tensor([[0.2, 0.9, 0.1]]), torch.tensor([1]))


@given(n=st.integers(1, 6), c=st.integers(1, 7), seed=st.integers(0, 2**16))
@example(n=3, c=3, seed=0)
def test_any_batch_matches_autograd(n, c, seed):
    g = torch.Generator().manual_seed(seed)
    y = torch.rand(n, c, generator=g, dtype=torch.float64)
    labels = torch.randint(0, c, (n,), generator=g)
    check(y, labels)


def test_dy_matches_central_differences_of_your_loss():
    g = torch.Generator().manual_seed(7)
    y, labels = torch.rand(3, 4, generator=g, dtype=torch.float64), torch.tensor([1, 3, 0])
    _, dy = judge.call(mod.l2_loss, y, labels)
    numeric = judge.numerical_grad(mod.l2_loss, (y, labels), y, torch.ones((), dtype=torch.float64))
    judge.close("dy (against the slope of your own loss, by central differences)", dy, numeric, rtol=1e-5, atol=1e-7)
