"""Kata 5: calculate_accuracy."""

import torch

from tests import judge
from tools.judge.limits import Stopped, TimedOut

mod = judge.load("accuracy")


class FixedModel:
    """Any object with forward(x) -> (out, cache) is a model here; this one returns fixed scores."""

    def __init__(self, out):
        self.out = out
        self.seen = []

    def forward(self, x):
        self.seen.append(x)
        return self.out, None


def tutorial_case():
    # 20 rows, 4 classes; the highest score of row n sits in column (3 n) % 4. Labels agree on 4 rows.
    out = torch.stack([torch.roll(torch.tensor([0.9, 0.1, 0.3, 0.2]), (3 * n) % 4) for n in range(20)])
    guesses = out.argmax(dim=1)
    labels = (guesses + 1) % 4
    labels[[2, 7, 11, 19]] = guesses[[2, 7, 11, 19]]
    return out, labels


# Each classic mistake as a function of (out, labels, inp), giving what calculate_accuracy returns when made.
def _right(out, labels):
    return (out.argmax(dim=-1) == labels).double()


MISTAKES = {
    "accuracy/count": lambda out, labels, inp: _right(out, labels).sum(),
    "accuracy/error-rate": lambda out, labels, inp: 1 - _right(out, labels).mean(),
    "accuracy/percent": lambda out, labels, inp: 100 * _right(out, labels).mean(),
    "accuracy/divided-by-classes": lambda out, labels, inp: _right(out, labels).sum() / out.shape[-1],
    "accuracy/integer-division": lambda out, labels, inp: _right(out, labels).sum().long() // labels.shape[0],
    "accuracy/argmax-dim": lambda out, labels, inp: (out.argmax(dim=0) == labels).double().mean(),
    "accuracy/argmax-flat": lambda out, labels, inp: (out.argmax() == labels).double().mean(),
    "accuracy/argmin": lambda out, labels, inp: (out.argmin(dim=-1) == labels).double().mean(),
    "accuracy/max-values": lambda out, labels, inp: (out.max(dim=-1).values == labels).double().mean(),
    "accuracy/guesses-column": lambda out, labels, inp: (out.argmax(dim=-1, keepdim=True) == labels).double().mean(),
    "accuracy/input-not-scores": lambda out, labels, inp: (inp.argmax(dim=-1) == labels).double().mean(),
}


def _probes():
    """Small cases on which the mistakes above give different values from each other and from the right one:
    square, so that a guess per column (an argmax over the batch) still runs; one all right, one whose highest
    score of all is in row 0 (a flat argmax is a class there), one whose scores are whole numbers (a highest score
    may equal a label)."""
    g = torch.Generator().manual_seed(55)
    cases = []
    for n, right in ((6, (0, 2, 3)), (5, (0, 1, 2, 3, 4)), (4, (1,))):
        out = torch.rand(n, n, generator=g, dtype=torch.float64)
        if n == 6:
            out[0, 2] = 1.5
        best = out.argmax(dim=1)
        labels = (best + 1 + torch.arange(n) % (n - 1)) % n  # wrong on every row ...
        labels[list(right)] = best[list(right)]  # ... but these
        cases.append((out, labels, torch.rand(n, 3, generator=g)))
    whole = torch.stack([torch.roll(torch.arange(4.0, dtype=torch.float64), k) for k in range(4)])  # highest: 3
    cases.append((whole, torch.tensor([3, 3, 0, 0]), torch.rand(4, 3, generator=g)))
    return cases


def _fits(value, got):
    if value is None or not isinstance(got, torch.Tensor) or got.numel() != 1:
        return False
    value = torch.as_tensor(value, dtype=torch.float64)
    return bool(torch.allclose(got.detach().double().reshape(()), value.reshape(()), rtol=1e-4, atol=1e-6))


def likely_cause(out, labels, inp, got):
    """The mistakes that reproduce got here and the learner's own result on every probe, each value of them
    (one number says little: many mistakes give 0 or 1); all of them when several do, None when none does."""

    def value_of(mistake, *case):
        try:
            return MISTAKES[mistake](*case)
        except Exception:  # a mistake that cannot be made with these shapes
            return None

    fitting = [m for m in MISTAKES if _fits(value_of(m, out, labels, inp), got)]
    for case in _probes() if fitting else ():
        p_out, p_labels, p_inp = case
        try:
            theirs = judge.call(mod.calculate_accuracy, FixedModel(p_out), p_inp, p_labels)
        except (TimedOut, Stopped):
            raise
        except Exception:  # their code fails on this case: it cannot tell the mistakes apart
            return None
        theirs = torch.as_tensor(theirs) if isinstance(theirs, (int, float)) else theirs
        fitting = [m for m in fitting if _fits(value_of(m, *case), theirs)]
    return judge.cause(*fitting) if fitting else None


def check(out, labels, inp=None):
    n = labels.shape[0]
    inp = torch.zeros(n, 3) if inp is None else inp  # any input with one row per label: the model ignores it
    right = (out.argmax(dim=-1) == labels).sum()
    expected = (right / n).to(torch.get_default_dtype())
    explain = {r"must match the size of tensor": "accuracy/guesses-not-per-row"}
    model = FixedModel(out)
    got = judge.call(mod.calculate_accuracy, model, inp, labels, explain=explain)
    if isinstance(got, (float, int)):
        raise judge.fail(
            f"calculate_accuracy returned the Python number {got!r}; expected a 0-dim tensor.",
            judge.cause("accuracy/item"),
        )
    judge.tensor("the accuracy", got)
    if got.shape != ():
        per_row = got.shape == (n,) and torch.equal(got.detach().double().cpu(), (out.argmax(-1) == labels).double())
        raise judge.fail(
            f"calculate_accuracy returned shape {tuple(got.shape)}; expected a 0-dim tensor.",
            judge.cause("accuracy/per-row") if per_row else None,
        )
    if not got.is_floating_point():
        # An integer result is a count, or a fraction rounded down (//): its values on the probes tell which.
        raise judge.fail(
            f"calculate_accuracy returned a {got.dtype} tensor; expected a float fraction.",
            likely_cause(out, labels, inp, got),
        )
    if not torch.isclose(got.detach().double().cpu(), expected.double(), rtol=1e-5, atol=1e-6):
        cause = likely_cause(out, labels, inp, got)
        judge.close("the accuracy", got, expected, {cause: got} if cause else None, compare_dtype=False)
    judge.close("the accuracy", got, expected, compare_dtype=False)
    if len(model.seen) != 1 or model.seen[0] is not inp:
        raise judge.fail("calculate_accuracy should call model.forward(input_data) exactly once.")


def test_the_tutorial_case_is_one_fifth():
    out, labels = tutorial_case()
    check(out, labels)


def test_all_right_and_all_wrong():
    out = torch.eye(5) + 0.1
    check(out, torch.arange(5))
    check(out, (torch.arange(5) + 1) % 5)


def test_more_classes_than_rows_and_a_batch_of_one():
    # 3 rows, 7 classes: an argmax over the batch dimension gives a different answer.
    g = torch.Generator().manual_seed(8)
    out = torch.rand(3, 7, generator=g)
    labels = out.argmax(dim=1)
    labels[1] = (labels[1] + 2) % 7
    check(out, labels)
    check(torch.tensor([[0.1, 0.7, 0.2]]), torch.tensor([1]))


def test_float64_scores_and_labels_unchanged():
    out = torch.tensor([[0.3, 0.2], [0.1, 0.9], [0.5, 0.4]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 0])
    saved = labels.clone(), out.clone()
    check(out, labels, inp=torch.ones(3, 2))
    judge.unchanged("labels", saved[0], labels)
    judge.unchanged("the model's output", saved[1], out)
