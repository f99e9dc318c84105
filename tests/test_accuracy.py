"""Kata 5: calculate_accuracy."""

import torch

from tests import judge

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


def check(out, labels, inp=None):
    n = labels.shape[0]
    inp = torch.zeros(n, 3) if inp is None else inp  # any input with one row per label: the model ignores it
    right = (out.argmax(dim=-1) == labels).sum()
    expected = (right / n).to(torch.get_default_dtype())
    diagnoses = {
        "accuracy/count": right.float(),
        "accuracy/error-rate": 1 - expected,
        "accuracy/argmax-dim": lambda: (out.argmax(dim=0)[: labels.shape[0]] == labels).float().mean(),
        "accuracy/max-values": lambda: (out.max(dim=-1).values == labels).float().mean(),
    }
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
        raise judge.fail(f"calculate_accuracy returned shape {tuple(got.shape)}; expected a 0-dim tensor.")
    if not got.is_floating_point():
        raise judge.fail(f"calculate_accuracy returned a {got.dtype} tensor; expected a float fraction.")
    judge.close("the accuracy", got, expected, diagnoses, compare_dtype=False)
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
