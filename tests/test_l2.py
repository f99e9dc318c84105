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
    no_onehot = "the labels are subtracted as numbers (y - labels): turn them into one-hot rows first, then subtract."
    no_target = "the target is all zeros: build the one-hot rows from the labels and subtract them from y."
    return {
        "loss": {
            no_onehot: lambda: ((y - as_numbers) ** 2).sum() / n,
            no_target: lambda: (y**2).sum() / n,
            "the loss is divided by N * C (a mean over every entry); divide by the batch size N only.": (loss / c),
            "the loss is not divided by the batch size N.": loss * n,
            "the loss is the square root of the right one (a norm, not a squared error).": lambda: loss.sqrt(),
        },
        "dy": {
            no_onehot: lambda: 2 / n * (y - as_numbers),
            no_target: lambda: 2 / n * y,
            "dy is divided by N * C; the loss divides by N only.": dy / c,
            "dy is missing the factor 2 from the derivative of the square.": dy / 2,
            "dy has the wrong sign: it is (2 / N) (y - onehot), not (onehot - y).": -dy,
            "dy is not divided by the batch size N.": dy * n,
        },
        "y": {
            "l2_loss subtracted the one-hot rows from y in place (`diff = y` makes no copy, and `-=` then "
            "writes into the caller's y): build the difference as a new tensor.": lambda: y - onehot(y, labels),
        },
    }


def onehot(y, labels):
    return torch.nn.functional.one_hot(labels, y.shape[1]).to(y.dtype)


def check(y, labels, rtol=1e-5, atol=1e-7):
    saved_y, saved_labels = y.clone(), labels.clone()
    expected_loss = reference(y.double(), labels).to(y.dtype)
    (expected_dy,) = judge.autograd(lambda t: reference(t, labels), (y,), torch.ones((), dtype=torch.float64))
    expected_dy = expected_dy.to(y.dtype)
    what = diagnoses(saved_y, labels, expected_loss, expected_dy)
    explain = {
        r"size of tensor|shape|must match": "the one-hot rows are not as wide as y: use num_classes=y.shape[1], "
        "not the largest label + 1 (a batch can miss the last class)."
    }
    loss, dy = judge.unpack(judge.call(mod.l2_loss, y, labels, explain=explain), ("loss", "dy"))
    if isinstance(loss, float):
        raise judge.fail(
            f"l2_loss returned loss as the Python float {loss!r}; expected a 0-dim tensor.\n  Likely cause: "
            "`.item()` (or float()) turned the loss into a plain number: return the tensor itself; whoever "
            "records the loss calls .item() there."
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
    numeric = judge.numerical_grad(lambda: mod.l2_loss(y, labels)[0], y, torch.ones((), dtype=torch.float64))
    judge.close("dy (against the slope of your own loss, by central differences)", dy, numeric, rtol=1e-5, atol=1e-7)
