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


def softmax_mistakes(s, got):
    e = torch.exp(s - rowmax(s))
    return {
        "softmax_ce/columns": lambda: columns_sum_to_one(got),
        "softmax_ce/not-normalised": e,
        "softmax_ce/batch-sum": lambda: e / e.sum(),
        "softmax_ce/row-sums-across-columns": lambda: e / e.sum(dim=1)[None, :],
        "softmax_ce/log-softmax": lambda: stable_log_softmax(s),
        # Non-finite results: each mistake gives its NaNs and infs in its own places.
        "softmax_ce/min-subtracted": lambda: (
            torch.exp(s - s.amin(dim=1, keepdim=True)) / torch.exp(s - s.amin(dim=1, keepdim=True)).sum(1, True)
        ),
        "softmax_ce/softmax-exp-overflow": lambda: torch.exp(s) / torch.exp(s).sum(dim=1, keepdim=True),
        "softmax_ce/batch-max": lambda: torch.exp(s - s.max()) / torch.exp(s - s.max()).sum(dim=1, keepdim=True),
    }


def loss_mistakes(s, labels, loss):
    n, c = s.shape
    log_p = stable_log_softmax(s)
    target = onehot(s, labels)
    return {
        "softmax_ce/loss-not-averaged": loss * n,
        "softmax_ce/loss-mean-of-all": loss / c,
        "softmax_ce/loss-sign": -loss,
        "softmax_ce/labels-table-sum": lambda: -log_p[:, labels].sum() / n,
        "softmax_ce/labels-table-mean": lambda: -log_p[:, labels].mean(),
        "softmax_ce/all-classes-sum": lambda: -log_p.sum() / n,
        "softmax_ce/all-classes-mean": lambda: -log_p.mean(),
        "softmax_ce/scores-not-log-p": lambda: -picked(s, labels).sum() / n,
        "softmax_ce/p-not-log-p": lambda: -picked(torch.exp(log_p), labels).sum() / n,
        "softmax_ce/loss-columns": lambda: -picked(torch.log_softmax(s, dim=0), labels).sum() / n,
        # Non-finite losses: each mistake gives inf or NaN on its own inputs.
        "softmax_ce/loss-exp-overflow": lambda: (
            -picked(s - torch.log(torch.exp(s).sum(dim=1, keepdim=True)), labels).sum() / n
        ),
        "softmax_ce/log-of-softmax": lambda: -picked(torch.log(torch.softmax(s, dim=1)), labels).sum() / n,
        "softmax_ce/onehot-times-log-of-softmax": lambda: -(target * torch.log(torch.softmax(s, dim=1))).sum() / n,
    }


def grad_mistakes(s, labels, dscores):
    n = s.shape[0]
    p = torch.softmax(s, dim=1)
    target = onehot(s, labels)
    as_numbers = labels[:, None].to(s.dtype)  # each label broadcast along its row, as a number
    return {
        "softmax_ce/ds-not-averaged": dscores * n,
        "softmax_ce/ds-sign": -dscores,
        "softmax_ce/ds-no-onehot": lambda: p / n,
        "softmax_ce/ds-onehot-over-n": lambda: p - target / n,
        "softmax_ce/ds-labels-as-numbers": lambda: (p - as_numbers) / n,
        "softmax_ce/ds-from-log-p": lambda: (stable_log_softmax(s) - target) / n,
        "softmax_ce/ds-mean-of-all": lambda: dscores / s.shape[1],
        "softmax_ce/ds-columns": lambda: (torch.softmax(s, dim=0) - target) / n,
    }


def fitting(got, mistakes):
    """{cause: got} for the mistakes (ids) whose result is got (NaNs and infs where got has them, the same values
    elsewhere); when two fit, both are named, and neither is said to be the one. {} when none fits."""
    if not isinstance(got, torch.Tensor):
        return {}
    fits = []
    with torch.no_grad():
        for mistake, candidate in mistakes.items():
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
                fits.append(mistake)
    return {judge.cause(*fits): got} if fits else {}


def close_naming(name, got, want, mistakes, rtol, atol, nonfinite_too=True):
    """judge.close, naming the mistakes that fit got (`fitting`); `mistakes` gives them when called, only when got
    is not close (each builds its wrong variant). nonfinite_too: one that fits also explains NaNs and infs."""
    try:
        judge.close(name, got, want, rtol=rtol, atol=atol)
    except judge.KataError:
        fits = fitting(got, mistakes())
        judge.close(name, got, want, fits, rtol, atol, nonfinite=next(iter(fits), None) if nonfinite_too else None)
        raise


def nonfinite(got, mistakes):
    """The cause(s) of NaN or inf values in got, for judge.close; None when no mistake gives them."""
    return next(iter(fitting(got, mistakes)), None)


def explain(s, labels=None):
    """Causes for crashes whose torch message a learner cannot read at a glance."""
    n, c = s.shape
    said = {
        # `e / e.sum(dim=1)`: (N, C) against (N,), which torch lines up with the C columns.
        rf"size of tensor a \({c}\) must match the size of tensor b \({n}\)": "softmax_ce/keepdim",
        r"Index tensor must have the same number of dimensions": "softmax_ce/gather-row-labels",
        r"indexing tensors could not be broadcast": "softmax_ce/index-with-onehot",
        r"'torch\.return_types\.(max|min)'": "softmax_ce/max-pair",
        r"Dimension out of range \(expected to be in range of \[-1, 0\], but got 1\)": "softmax_ce/labels-as-onehot",
    }
    width = int(labels.max()) + 1 if labels is not None and len(labels) else c
    if width != c:
        narrow = ("softmax_ce/one-hot-too-narrow",) + (("softmax_ce/keepdim",) if width == n else ())
        pattern = rf"size of tensor a \({c}\) must match the size of tensor b \({width}\)"
        said[pattern] = judge.cause(*narrow, width=width, c=c)
    return said


# ---------------------------------------------------------------------------------------------
# The checks


def check_softmax(s, rtol=1e-5, atol=1e-7):
    saved = s.clone()
    want = torch.softmax(s.double(), dim=1).to(s.dtype)
    p = judge.call(mod.softmax, s, explain=explain(saved))
    close_naming("p", p, want, lambda: softmax_mistakes(saved, p), rtol, atol)
    judge.unchanged("scores", saved, s, {"softmax_ce/softmax-in-place": saved - rowmax(saved)})
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
    loss, ds = judge.unpack(
        judge.call(mod.cross_entropy_loss, s, labels, explain=said, graph=True), ("loss", "dscores")
    )
    if isinstance(loss, float):
        raise judge.fail(
            f"cross_entropy_loss returned loss as the Python float {loss!r}; expected a 0-dim tensor.",
            judge.cause("softmax_ce/item"),
        )
    if isinstance(loss, torch.Tensor) and loss.shape != ():
        rows = -picked(stable_log_softmax(saved), labels)
        per_row = fitting(loss, {"softmax_ce/loss-per-row": rows})
        per_row = per_row or fitting(loss, {"softmax_ce/loss-per-row-over-n": rows})
        cause = next(iter(per_row), None)
        raise judge.fail(
            f"cross_entropy_loss returned loss of shape {tuple(loss.shape)}; expected a 0-dim tensor, shape ()."
            + ("" if cause else " Average over the batch; do not keep a dimension."),
            cause,
        )
    close_naming("loss", loss, want_loss, lambda: loss_mistakes(saved, labels, want_loss), rtol, atol)
    close_naming("dscores", ds, want_ds, lambda: grad_mistakes(saved, labels, want_ds), rtol, atol, False)
    judge.unchanged("scores", saved, s, {"softmax_ce/loss-in-place": saved - rowmax(saved)})
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
    numeric = judge.numerical_grad(mod.cross_entropy_loss, (s, labels), s, torch.ones((), dtype=s.dtype))
    judge.close("dscores (against the slope of your own loss, by central differences)", ds, numeric, rtol=1e-5)


def test_dtypes_are_kept():
    for dtype in (torch.float32, torch.float64):
        s = judge.linspace((3, 5), -2.0, 2.0, dtype=dtype)
        judge.tensor("p", judge.call(mod.softmax, s), like=s)
        loss, ds = judge.unpack(judge.call(mod.cross_entropy_loss, s, torch.tensor([4, 0, 2])), ("loss", "dscores"))
        judge.tensor("loss", loss, like=s.new_zeros(()))
        judge.tensor("dscores", ds, like=s)
