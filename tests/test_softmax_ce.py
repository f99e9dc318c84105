"""Kata 10 (a bonus): softmax and cross_entropy_loss.

Against torch's own softmax and cross-entropy (autograd gives the gradient), on fixed inputs, on scores of
1e4 and on probabilities that underflow to 0; dscores against central differences of the learner's own loss;
rows that sum to 1 and results unchanged by a constant added to a row, over many shapes; float32 and float64.
"""

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from tests import judge

mod = judge.load("softmax_ce")

KEEPDIM = (
    "a value of one per row (its max or its sum) lost its dimension: keepdim=True keeps it (N, 1), "
    "so that it lines up with each row of (N, C)."
)


# ---------------------------------------------------------------------------------------------
# What each classic mistake computes, in the dtype of the inputs (as the learner's code would).


def rowmax(s):
    return s.amax(dim=1, keepdim=True)


def stable_log_softmax(s):
    shifted = s - rowmax(s)
    return shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))


def picked(table, labels):
    return table[torch.arange(len(labels)), labels]


def onehot(s, labels):
    return torch.nn.functional.one_hot(labels, s.shape[1]).to(s.dtype)


def columns_sum_to_one(p):
    """p itself when its columns, and not its rows, each sum to 1 (normalised over dim 0); else None."""
    if p.dim() != 2 or p.shape[0] == 1 or not bool(torch.isfinite(p).all()):
        return None
    columns, rows = p.detach().double().sum(dim=0), p.detach().double().sum(dim=1)
    ones = torch.ones_like
    return p if torch.allclose(columns, ones(columns), atol=1e-4) and not torch.allclose(rows, ones(rows)) else None


COLUMNS = (
    "p is normalised down the columns (dim 0): each column sums to 1, not each row. A row is one example and its "
    "C scores become its probabilities: take the sum (and the max) over dim=1."
)


def softmax_mistakes(s, got):
    e = torch.exp(s - rowmax(s))
    return {
        COLUMNS: lambda: columns_sum_to_one(got),
        "the exps are not divided by their row's sum (over dim=1, keepdim=True).": e,
        "the exps are divided by the sum over the whole batch, not by their own row's sum (dim=1, keepdim=True).": (
            lambda: e / e.sum()
        ),
        "the row sums were divided across the columns (the sum over dim=1 without keepdim=True has shape (N,), "
        "which lines up with the columns): keep it (N, 1).": lambda: e / e.sum(dim=1)[None, :],
        "this is log softmax, the log of the probabilities: softmax returns p itself.": lambda: stable_log_softmax(s),
        # Non-finite results: each mistake gives its NaNs and infs in its own places.
        "the row's minimum is subtracted, not its maximum: the exps then reach exp(max - min), which overflows "
        "for a wide row. Subtract the max, so that the largest exponent is 0.": lambda: (
            torch.exp(s - s.amin(dim=1, keepdim=True)) / torch.exp(s - s.amin(dim=1, keepdim=True)).sum(1, True)
        ),
        "exp overflowed: exp(1e4) is inf, and inf / inf is NaN. Subtract each row's own maximum first "
        "(keepdim=True): softmax is unchanged by it, and the largest exponent is then 0.": lambda: (
            torch.exp(s) / torch.exp(s).sum(dim=1, keepdim=True)
        ),
        "the maximum subtracted is the whole batch's, not each row's: a row far below the batch's largest score "
        "has exps that are all 0, and 0 / 0 is NaN. Subtract each row's own max (dim=1, keepdim=True).": lambda: (
            torch.exp(s - s.max()) / torch.exp(s - s.max()).sum(dim=1, keepdim=True)
        ),
    }


def loss_mistakes(s, labels, loss):
    n, c = s.shape
    log_p = stable_log_softmax(s)
    target = onehot(s, labels)
    log_of_p = "log(softmax(...)) underflows: a probability below the smallest float is 0, and log 0 = -inf"
    log_sum_exp = "take the log before dividing: log p = (s - m) - log sum exp(s - m), which is always finite."
    return {
        "the loss is not divided by the batch size N: it is a mean over the batch, sum / N.": loss * n,
        "the loss is divided by N * C (a mean over every entry of an (N, C) table): divide the sum of the N "
        "picked -log p by N only.": loss / c,
        "the sign is flipped: the loss is minus the mean of log p[label], and it is never negative.": -loss,
        "log_p[:, labels] is an (N, N) table (every row at every label): pair row n with labels[n], "
        "log_p[torch.arange(N), labels].": lambda: -log_p[:, labels].sum() / n,
        "log_p[:, labels] is an (N, N) table (every row at every label), and its mean is not the loss: pair "
        "row n with labels[n], log_p[torch.arange(N), labels].": lambda: -log_p[:, labels].mean(),
        "the loss adds up -log p of every class, not only of each row's label: pick log p[n, labels[n]].": (
            lambda: -log_p.sum() / n
        ),
        "the loss is the mean of -log p over all N * C entries, not only at each row's label: pick "
        "log p[n, labels[n]] and divide their sum by N.": lambda: -log_p.mean(),
        "the loss uses the scores at the labels, not their log probabilities: log p = s - m - log sum exp(s - m).": (
            lambda: -picked(s, labels).sum() / n
        ),
        "the loss is the mean of -p[label], the probabilities themselves: take their log (in the log-sum-exp "
        "form).": lambda: -picked(torch.exp(log_p), labels).sum() / n,
        "the log-sum-exp runs down the columns (dim 0): each row is one example, normalised over its C scores, "
        "dim=1.": lambda: -picked(torch.log_softmax(s, dim=0), labels).sum() / n,
        # Non-finite losses: each mistake gives inf or NaN on its own inputs.
        "exp overflowed: exp(1e4) is inf, and the log of a sum that is inf leaves -inf or NaN. Subtract each "
        "row's own maximum before exp (the log-sum-exp form).": lambda: (
            -picked(s - torch.log(torch.exp(s).sum(dim=1, keepdim=True)), labels).sum() / n
        ),
        f"{log_of_p}: {log_sum_exp}": lambda: -picked(torch.log(torch.softmax(s, dim=1)), labels).sum() / n,
        f"{log_of_p}, and onehot * log p is then 0 * -inf = NaN where onehot is 0: {log_sum_exp}": lambda: (
            -(target * torch.log(torch.softmax(s, dim=1))).sum() / n
        ),
    }


def grad_mistakes(s, labels, dscores):
    n = s.shape[0]
    p = torch.softmax(s, dim=1)
    target = onehot(s, labels)
    as_numbers = labels[:, None].to(s.dtype)  # each label broadcast along its row, as a number
    return {
        "dscores is not divided by the batch size N: the loss is a mean, so each row's gradient is "
        "(p - onehot) / N.": dscores * n,
        "dscores has the wrong sign: it is (p - onehot) / N, not (onehot - p) / N.": -dscores,
        "dscores is missing the one-hot rows: subtract 1 at each row's label, (p - onehot) / N.": lambda: p / n,
        "dscores is p - onehot / N: only the one-hot rows are divided by N; it is (p - onehot) / N.": lambda: (
            p - target / n
        ),
        "the labels are subtracted as numbers (p - labels): turn them into one-hot rows first.": lambda: (
            (p - as_numbers) / n
        ),
        "dscores is built from log p, not p: the gradient is (p - onehot) / N, with p = exp(log p).": lambda: (
            (stable_log_softmax(s) - target) / n
        ),
        "dscores is divided by N * C; the loss divides by N only.": lambda: dscores / s.shape[1],
        "p in dscores is normalised down the columns (dim 0): each row is one example, its sum over dim=1.": (
            lambda: (torch.softmax(s, dim=0) - target) / n
        ),
    }


def fitting(got, mistakes):
    """{cause: got} for the mistakes whose result is got (NaNs and infs where got has them, the same values
    elsewhere); when two fit, both are named, and neither is said to be the one. {} when none fits."""
    if not isinstance(got, torch.Tensor):
        return {}
    fits = []
    with torch.no_grad():
        for text, candidate in mistakes.items():
            try:
                value = candidate() if callable(candidate) else candidate
            except Exception:  # a variant that cannot be built for these inputs
                continue
            if not isinstance(value, torch.Tensor) or value.shape != got.shape:
                continue
            mine, theirs = got.detach().double().cpu(), value.detach().double().cpu()
            if torch.equal(torch.isinf(mine), torch.isinf(theirs)) and torch.allclose(
                mine, theirs, rtol=1e-4, atol=1e-6, equal_nan=True
            ):
                fits.append(text)
    return {" Or: ".join(fits): got} if fits else {}


def nonfinite(got, mistakes):
    """The cause(s) of NaN or inf values in got, for judge.close; '' when no mistake gives them."""
    return next(iter(fitting(got, mistakes)), "")


def explain(s, labels=None):
    """Causes for crashes whose torch message a learner cannot read at a glance."""
    n, c = s.shape
    said = {
        # `e / e.sum(dim=1)`: (N, C) against (N,), which torch lines up with the C columns.
        rf"size of tensor a \({c}\) must match the size of tensor b \({n}\)": KEEPDIM,
        r"Index tensor must have the same number of dimensions": "gather takes the labels as a column, (N, 1): "
        "labels.unsqueeze(1), or index with log_p[torch.arange(N), labels].",
        r"indexing tensors could not be broadcast": "the rows and the labels index together, pair by pair: "
        "torch.arange(N) beside labels, both (N,). labels holds class indices; one-hot rows (N, C) do not index.",
        r"'torch\.return_types\.(max|min)'": "scores.max(dim=1) gives a pair, (values, indices): take its "
        ".values (keepdim=True keeps them (N, 1)), or use scores.amax(dim=1, keepdim=True).",
        r"Dimension out of range \(expected to be in range of \[-1, 0\], but got 1\)": "a 1-D tensor was asked "
        "for its dim 1. labels is (N,): class indices already, not one-hot rows, so it needs no argmax(dim=1).",
    }
    width = int(labels.max()) + 1 if labels is not None and len(labels) else c
    if width != c:
        narrow = (
            f"the one-hot rows are {width} wide (the largest label + 1), not C = scores.shape[1] = {c}: use "
            "num_classes=C (a batch can miss the last class)."
        )
        pattern = rf"size of tensor a \({c}\) must match the size of tensor b \({width}\)"
        said[pattern] = narrow if width != n else f"{narrow} Or: {KEEPDIM}"
    return said


# ---------------------------------------------------------------------------------------------
# The checks


def check_softmax(s, rtol=1e-5, atol=1e-7):
    saved = s.clone()
    want = torch.softmax(s.double(), dim=1).to(s.dtype)
    p = judge.call(mod.softmax, s, explain=explain(saved))
    mistakes = fitting(p, softmax_mistakes(saved, p))
    judge.close("p", p, want, mistakes, rtol=rtol, atol=atol, nonfinite=next(iter(mistakes), ""))
    in_place = {"softmax subtracted the max from scores in place (`-=`): build a new tensor.": saved - rowmax(saved)}
    judge.unchanged("scores", saved, s, in_place)
    # Again with scores requiring grad: p must stay in autograd's graph, with torch's gradient.
    judge.in_graph(softmax_as_a_pair, (s,), ("p", "nothing"), lambda t: torch.softmax(t, dim=1), explain=explain(saved))


def softmax_as_a_pair(scores):
    """softmax(scores) as judge.in_graph takes a result: a tuple whose first item is the one differentiated."""
    return mod.softmax(scores), None


softmax_as_a_pair.__qualname__ = "softmax"  # how the judge's messages name the call


def reference(s, labels):
    return torch.nn.functional.cross_entropy(s, labels)


def check_loss(s, labels, rtol=1e-5, atol=1e-7):
    saved, saved_labels = s.clone(), labels.clone()
    want_loss = reference(saved.double(), labels).to(s.dtype)
    (want_ds,) = judge.autograd(lambda t: reference(t, labels), (saved,), torch.ones((), dtype=torch.float64))
    want_ds = want_ds.to(s.dtype)
    said = explain(saved, labels)
    loss, ds = judge.unpack(judge.call(mod.cross_entropy_loss, s, labels, explain=said), ("loss", "dscores"))
    if isinstance(loss, float):
        raise judge.fail(
            f"cross_entropy_loss returned loss as the Python float {loss!r}; expected a 0-dim tensor.\n  Likely "
            "cause: `.item()` (or float()) turned the loss into a plain number: return the tensor itself."
        )
    if isinstance(loss, torch.Tensor) and loss.shape != ():
        rows = -picked(stable_log_softmax(saved), labels)
        per_row = fitting(loss, {"one loss per row is returned, not their mean over the batch.": rows})
        per_row = per_row or fitting(loss, {"the loss of each row, divided by N, is returned, not their sum.": rows})
        cause = f"\n  Likely cause: {next(iter(per_row))}" if per_row else ""
        raise judge.fail(
            f"cross_entropy_loss returned loss of shape {tuple(loss.shape)}; expected a 0-dim tensor, shape ()."
            + (cause or " Average over the batch; do not keep a dimension.")
        )
    mistakes = fitting(loss, loss_mistakes(saved, labels, want_loss))
    judge.close("loss", loss, want_loss, mistakes, rtol=rtol, atol=atol, nonfinite=next(iter(mistakes), ""))
    judge.close("dscores", ds, want_ds, fitting(ds, grad_mistakes(saved, labels, want_ds)), rtol=rtol, atol=atol)
    judge.unchanged("scores", saved, s, {"the max was subtracted from scores in place (`-=`).": saved - rowmax(saved)})
    judge.unchanged("labels", saved_labels, labels)
    # Again with scores requiring grad, as torch.autograd would run it: the loss must stay in the graph.
    judge.in_graph(mod.cross_entropy_loss, (s, labels), ("loss", "dscores"), reference, explain=said)


# ---------------------------------------------------------------------------------------------
# The tests


def fixed(n, c):
    """Deterministic scores whose rows differ in shape, not only by a constant (softmax would not tell them
    apart): a parabola, read row by row."""
    return judge.linspace((n, c), -3.0, 3.0) ** 2


def test_softmax_on_fixed_scores():
    check_softmax(fixed(4, 6))


def test_cross_entropy_on_fixed_scores():
    check_loss(fixed(5, 12), torch.tensor([3, 0, 11, 7, 3]))


def test_the_largest_class_absent_from_the_batch():
    # one-hot must be as wide as scores (12 classes), not as wide as the largest label present (6).
    check_loss(fixed(4, 12), torch.tensor([0, 5, 2, 5]))


def test_batch_of_one():
    check_softmax(torch.tensor([[0.5, -1.0, 2.0]]))
    check_loss(torch.tensor([[0.5, -1.0, 2.0]]), torch.tensor([1]))


def test_scores_of_1e4_give_finite_results():
    # exp(1e4) is inf, exp(-1e4) is 0, in float32 and float64 alike: only the shifted form is finite. Every
    # probability here is far from 0, so a log of softmax is right here (its own test is the next one).
    s = torch.tensor([[1e4, 1e4 - 5, 1e4 - 20, 1e4 - 1], [3.0, 1.0, 0.0, -2.0], [-1e4, -1e4 + 2, -1e4 + 5, -1e4 + 1]])
    check_softmax(s)
    check_loss(s, torch.tensor([1, 0, 2]))
    # Rows 2e4 wide: their smallest probabilities are 0, and nothing may be NaN.
    check_softmax(torch.tensor([[1e4, 0.0, -1e4, 5.0], [3.0, 1e4, 1e4, -2.0]]))


def test_a_probability_that_underflows_to_0():
    # exp(-1000) is 0 in float32 and float64: p[0, 1] is 0 and its log -inf, where the loss there is 1001.
    s = torch.tensor([[0.0, -1000.0, 1.0], [2.0, -1000.0, 1.0]])
    check_loss(s, torch.tensor([1, 0]))


def test_each_row_is_shifted_by_its_own_max():
    # A row 1e4 below the other: shifted by the batch's max, all its exps are 0 (and 0 / 0 is NaN).
    s = torch.tensor([[1e4, 1e4 - 1, 1e4 - 3], [0.0, 1.0, -2.0]], dtype=torch.float64)
    check_softmax(s)
    check_loss(s, torch.tensor([0, 2]))


@given(n=st.integers(1, 6), c=st.integers(1, 7), seed=st.integers(0, 2**16), float32=st.booleans())
@example(n=3, c=3, seed=0, float32=False)
@example(n=2, c=5, seed=1, float32=True)
def test_any_batch_matches_torch(n, c, seed, float32):
    g = torch.Generator().manual_seed(seed)
    dtype = torch.float32 if float32 else torch.float64
    s = (4 * torch.randn(n, c, generator=g, dtype=torch.float64)).to(dtype)
    labels = torch.randint(0, c, (n,), generator=g)
    tolerance = {"rtol": 1e-4, "atol": 1e-6} if float32 else {}
    check_softmax(s, **tolerance)
    check_loss(s, labels, **tolerance)


@given(n=st.integers(1, 5), c=st.integers(2, 6), seed=st.integers(0, 2**16))
@example(n=4, c=3, seed=2)
def test_rows_sum_to_1_and_a_shift_changes_nothing(n, c, seed):
    g = torch.Generator().manual_seed(seed)
    s = 3 * torch.randn(n, c, generator=g, dtype=torch.float64)
    shift = torch.linspace(-500.0, 800.0, n, dtype=torch.float64)[:, None]  # one constant per row
    p = judge.call(mod.softmax, s, explain=explain(s))
    judge.tensor("p", p, like=s)
    judge.close("the sums of the rows of p", p.sum(dim=1), torch.ones(n, dtype=s.dtype), atol=1e-9)
    moved = judge.call(mod.softmax, s + shift, explain=explain(s))
    added = f"from {shift.min().item():g} to {shift.max().item():g}"
    judge.close(
        f"p for the scores with a constant added to each row ({added})",
        moved,
        p,
        atol=1e-9,
        nonfinite=nonfinite(moved, softmax_mistakes(s + shift, moved)),
    )
    labels = torch.randint(0, c, (n,), generator=g)
    loss, _ = judge.unpack(judge.call(mod.cross_entropy_loss, s, labels, explain=explain(s, labels)), ("loss", "ds"))
    shifted, _ = judge.call(mod.cross_entropy_loss, s + shift, labels)
    judge.close("the loss for the scores with a constant added to each row", shifted, loss, atol=1e-9)


def test_dscores_matches_central_differences_of_your_loss():
    g = torch.Generator().manual_seed(10)
    s, labels = torch.randn(3, 4, generator=g, dtype=torch.float64), torch.tensor([1, 3, 0])
    _, ds = judge.unpack(judge.call(mod.cross_entropy_loss, s, labels), ("loss", "dscores"))
    numeric = judge.numerical_grad(lambda: mod.cross_entropy_loss(s, labels)[0], s, torch.ones((), dtype=s.dtype))
    judge.close("dscores (against the slope of your own loss, by central differences)", ds, numeric, rtol=1e-5)


def test_dtypes_are_kept():
    for dtype in (torch.float32, torch.float64):
        s = judge.linspace((3, 5), -2.0, 2.0, dtype=dtype)
        judge.tensor("p", judge.call(mod.softmax, s), like=s)
        loss, ds = judge.unpack(judge.call(mod.cross_entropy_loss, s, torch.tensor([4, 0, 2])), ("loss", "dscores"))
        judge.tensor("loss", loss, like=s.new_zeros(()))
        judge.tensor("dscores", ds, like=s)
