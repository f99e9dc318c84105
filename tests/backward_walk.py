"""Kata 7's backward, walked layer by layer from the loss: where the gradients first go wrong, and how.

The net and its backward pass, from the loss back (dout = dL/ds is given; sums run over the batch):

    forward    a1 = x W1^T + b1      h = relu(a1)      a2 = h W2^T + b2      s = sigmoid(a2)

    output sigmoid    dz2 = dout * s * (1 - s)
    affine 2          dW2 = dz2^T h        db2 = sum dz2        dh = dz2 W2
    ReLU              dz1 = dh * [a1 > 0]
    affine 1          dW1 = dz1^T x        db1 = sum dz1

The walk sees only what a test sees (x, the parameters, dout and the four gradients backward stored) and
computes the rest itself, in float64. It answers two questions.

Where. W2 and b2 are checked first, then W1 and b1. At the first pair that is wrong, one more question
tells the layer above the affine layer from the affine layer itself: are the learner's dW and db what
the affine rule makes of one upstream gradient D, dW = D^T inp and db = sum D, for some D? That is
[inp | 1]^T D = [dW | db]^T, a linear system; when it has a solution, the affine layer did its job on a
wrong D, and the mistake lies above it (the sigmoid for affine 2; the ReLU, or the gradient reaching it,
for affine 1). When it has none, the layer's own parameter gradients are wrong. The system tells
something only when [inp | 1] has rank below its width (a batch smaller than the layer's inputs + 1, or
inputs that are 0 for the whole batch); otherwise every pair fits, and the walk says so.

How. Each named mistake is the whole backward pass above with one step changed. One is named only when
it reproduces all four gradients; two that both do are named together; three or more, none.

The walk names mistakes by id; what the learner reads is tests/mistakes.toml's sentence for each (the
section of kata 7's backward), with {fields} filled in here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import torch
from torch import Tensor

from tools.mistakes import Cause, cause

# The sentences that join a "where" and the mistakes that fit it (each a sentence of tests/mistakes.toml).
FITS = ("All four gradients fit this: {0}", "All four gradients fit either of these: {0} Or: {1}")

# The mistakes that compute every gradient right and store some under another key: the walk's "where" (a step
# that went wrong) would send the learner to a right formula, so these are said alone.
STORED_ELSEWHERE = {"model/grads-swapped", "model/grad-holds-other"}

ORDER = ("W2", "b2", "W1", "b1")  # the parameters in the walk's order, from the loss back
OTHERS = {  # the tensors of the forward pass that a mistaken step may take instead of the right one
    "x": "x, the net's input",
    "a1": "the ReLU's input (affine 1's output)",
    "h": "the ReLU's output",
    "a2": "the sigmoid's input (affine 2's output)",
}

Values = dict[str, Tensor]
Step = Callable[[Values, Callable[[Values], Tensor]], Tensor]

STEPS: tuple[tuple[str, Callable[[Values], Tensor]], ...] = (
    ("dz2", lambda v: v["dout"] * v["s"] * (1 - v["s"])),
    ("dW2", lambda v: v["dz2"].T @ v["h"]),
    ("db2", lambda v: v["dz2"].sum(0)),
    ("dh", lambda v: v["dz2"] @ v["W2"]),
    ("dz1", lambda v: v["dh"] * (v["a1"] > 0)),
    ("dW1", lambda v: v["dz1"].T @ v["x"]),
    ("db1", lambda v: v["dz1"].sum(0)),
)


def forward(x: Tensor, params: Mapping[str, Tensor], dout: Tensor) -> Values:
    """Every tensor of the forward pass, and dout, in float64."""
    v = {"x": x.detach().double(), "dout": dout.detach().double()}
    v.update({key: params[key].detach().double() for key in ORDER})
    v["a1"] = v["x"] @ v["W1"].T + v["b1"]
    v["h"] = v["a1"].clamp(min=0)
    v["a2"] = v["h"] @ v["W2"].T + v["b2"]
    v["s"] = torch.sigmoid(v["a2"])
    return v


def backward(values: Values, **changed: Step) -> Values:
    """The four gradients by the chain rule above; changed[step](v, rule) replaces one step's rule(v)."""
    v = dict(values)
    for name, rule in STEPS:
        v[name] = changed[name](v, rule) if name in changed else rule(v)
    return {key: v["d" + key] for key in ORDER}


def _close(got: Tensor, want: Tensor, rtol: float, atol: float) -> bool:
    """allclose, with room for got's own rounding (float32 sums of large terms)."""
    if tuple(got.shape) != tuple(want.shape):
        return False
    got64 = got.detach().double()
    if not bool(torch.isfinite(got64).all()) or not bool(torch.isfinite(want).all()):
        return False
    slack = 100 * torch.finfo(got.dtype).eps * float(want.abs().max()) if want.numel() else 0.0
    return bool(((got64 - want).abs() <= atol + slack + rtol * want.abs()).all())


def _one_upstream(dW: Tensor, db: Tensor, inp: Tensor) -> bool | None:
    """Are dW and db what an affine backward makes of one gradient D (dW = D^T inp, db = sum D)?

    None when the sizes cannot tell: [inp | 1] has full column rank, and every pair has such a D."""
    n, width = inp.shape
    if dW.dim() != 2 or db.dim() != 1 or dW.shape[1] != width or dW.shape[0] != db.shape[0]:
        return False
    G = torch.cat([dW.detach().double(), db.detach().double()[:, None]], 1)
    if not bool(torch.isfinite(G).all()):
        return None
    A = torch.cat([inp, inp.new_ones(n, 1)], 1)
    if int(torch.linalg.matrix_rank(A)) == width + 1:
        return None
    D = torch.linalg.lstsq(A.T, G.T, driver="gelsd").solution
    residual = float((A.T @ D - G.T).norm())
    return residual <= 1e-4 * float(G.norm()) + 1e-5 * float(A.norm() * D.norm()) + 1e-12


# Each pair of parameters in the walk's order, the input of its affine layer, and the id said when the pair is
# wrong: in the weight alone, in the bias alone, from the layer above, in the affine layer, or in one of the two.
LAYERS = (
    (
        ("W2", "b2"),
        "h",
        {
            "weight": "model/walk-at-W2",
            "bias": "model/walk-at-b2",
            "above": "model/walk-from-sigmoid",
            "affine": "model/walk-at-affine-2",
            "either": "model/walk-at-layer-2",
        },
    ),
    (
        ("W1", "b1"),
        "x",
        {
            "weight": "model/walk-at-W1",
            "bias": "model/walk-at-b1",
            "above": "model/walk-from-relu",
            "affine": "model/walk-at-affine-1",
            "either": "model/walk-at-layer-1",
        },
    ),
)


def where(v: Values, got: Mapping[str, Tensor], right: Values, rtol: float, atol: float) -> str:
    """The id of the first layer, from the loss, whose gradients are wrong; '' when all four are right."""
    ok = {key: _close(got[key], right[key], rtol, atol) for key in ORDER}
    for (w, b), inp, said in LAYERS:
        if ok[w] and ok[b]:
            continue
        if ok[b]:
            return said["weight"]
        if ok[w]:
            return said["bias"]
        one = _one_upstream(got[w], got[b], v[inp])
        if one is None:
            return said["either"]
        return said["above"] if one else said["affine"]
    return ""


def mistakes(v: Values) -> Iterator[tuple[str, dict[str, object], Callable[[Values], Values]]]:
    """(id, fields, gradients) for every named mistake: the whole backward with one step changed."""

    def changed(**steps: Step) -> Callable[[Values], Values]:
        return lambda values: backward(values, **steps)

    n = v["x"].shape[0]
    yield "model/sigmoid-backward-skipped", {}, changed(dz2=lambda v, _: v["dout"])
    yield "model/sigmoid-backward-uses-input", {}, changed(dz2=lambda v, _: v["dout"] * v["a2"] * (1 - v["a2"]))
    for name in ("h", "a1", "x"):
        yield (
            "model/sigmoid-backward-uses-other-cache",
            {"other": OTHERS[name]},
            changed(dz2=lambda v, _, t=name: v["dout"] * v[t] * (1 - v[t])),  # type: ignore[misc]
        )
    yield "model/sigmoid-backward-without-dout", {}, changed(dz2=lambda v, _: v["s"] * (1 - v["s"]))
    yield "model/sigmoid-backward-given-output", {}, changed(dz2=lambda v, _: v["s"] * v["s"] * (1 - v["s"]))
    yield "model/affine-2-uses-relu-input", {}, changed(dW2=lambda v, _: v["dz2"].T @ v["a1"])
    yield "model/affine-2-uses-x", {}, changed(dW2=lambda v, _: v["dz2"].T @ v["x"])
    yield (
        "model/affine-caches-swapped",
        {},
        changed(
            dW2=lambda v, _: v["dz2"].T @ v["x"],
            dh=lambda v, _: v["dz2"] @ v["W1"],
            dW1=lambda v, _: v["dz1"].T @ v["h"],
        ),
    )
    yield "model/dh-skips-affine-2", {}, changed(dh=lambda v, _: v["dz2"])
    yield "model/dh-uses-W1", {}, changed(dh=lambda v, _: v["dz2"] @ v["W1"])
    yield "model/dh-uses-W2-transposed", {}, changed(dh=lambda v, _: v["dz2"] @ v["W2"].T)
    yield "model/dh-from-dout", {}, changed(dh=lambda v, _: v["dout"] @ v["W2"])
    yield "model/relu-backward-skipped", {}, changed(dz1=lambda v, _: v["dh"])
    yield "model/relu-mask-inverted", {}, changed(dz1=lambda v, _: v["dh"] * (v["a1"] <= 0))
    yield "model/relu-mask-at-zero", {}, changed(dz1=lambda v, _: v["dh"] * (v["a1"] >= 0))
    yield "model/relu-mask-from-gradient", {}, changed(dz1=lambda v, _: v["dh"] * (v["dh"] > 0))
    for name in ("x", "a2"):
        yield (
            "model/relu-mask-from-other-cache",
            {"other": OTHERS[name]},
            changed(dz1=lambda v, _, t=name: v["dh"] * (v[t] > 0)),  # type: ignore[misc]
        )
    yield "model/relu-backward-times-output", {}, changed(dz1=lambda v, _: v["dh"] * v["h"])
    yield "model/relu-blocks-everything", {}, changed(dz1=lambda v, _: torch.zeros_like(v["dh"]))
    for name in ("h", "a1"):
        yield (
            "model/affine-1-uses-other-input",
            {"other": OTHERS[name]},
            changed(dW1=lambda v, _, t=name: v["dz1"].T @ v[t]),  # type: ignore[misc]
        )
    swap = {"W1": "W2", "W2": "W1", "b1": "b2", "b2": "b1"}
    yield "model/grads-swapped", {}, lambda values: (lambda g: {k: g[swap[k]] for k in ORDER})(backward(values))
    for key, other in swap.items():
        yield (
            "model/grad-holds-other",
            {"key": key, "other": other},
            lambda values, k=key, o=other: {  # type: ignore[misc]
                **backward(values),
                k: backward(values)[o],
            },
        )
    scopes = {
        "dz2": ("every gradient, all four,", ("dz2",)),
        "layer 2": ("grads['W2'] and grads['b2'] (not W1 and b1)", ("dW2", "db2")),
        "dW2": ("grads['W2']", ("dW2",)),
        "db2": ("grads['b2']", ("db2",)),
        "dz1": ("the gradient reaching layer 1, and so grads['W1'] and grads['b1'],", ("dz1",)),
        "dW1": ("grads['W1']", ("dW1",)),
        "db1": ("grads['b1']", ("db1",)),
    }
    for what, steps in scopes.values():
        for mistake, factor in (
            ("model/grad-sign-flipped", -1.0),
            ("model/grad-divided-by-N", 1 / n),
            ("model/grad-times-N", float(n)),
        ):
            step: Step = lambda v, rule, f=factor: f * rule(v)  # type: ignore[misc]  # noqa: E731
            yield mistake, {"what": what, "n": n}, changed(**dict.fromkeys(steps, step))
    for key in ORDER:
        if key.startswith("W"):
            yield "model/grad-transposed", {"key": key}, changed(**{"d" + key: lambda v, rule: rule(v).T})
        else:
            dz = "dz2" if key == "b2" else "dz1"
            yield "model/grad-summed-over-units", {"key": key}, changed(**{"d" + key: lambda v, _, d=dz: v[d].sum(1)})
        yield "model/grad-never-stored", {"key": key}, changed(**{"d" + key: lambda v, rule: torch.zeros_like(rule(v))})


def walk(
    x: Tensor, params: Mapping[str, Tensor], dout: Tensor, got: Mapping[str, object], rtol=1e-4, atol=1e-6
) -> Cause | None:
    """The likely cause for the learner's gradients `got`: the first wrong layer's id and the ids of the mistakes
    that fit, with their sentences; None when the gradients are right or not four tensors."""
    if not isinstance(got, Mapping) or not all(isinstance(got.get(key), Tensor) for key in ORDER):
        return None
    grads: Mapping[str, Tensor] = got  # type: ignore[assignment]
    v = forward(x, params, dout)
    right = backward(v)
    first = where(v, grads, right, rtol, atol)
    if not first:
        return None
    fits: dict[str, str] = {}  # the sentence of each mistake that reproduces all four gradients, then its id
    for mistake, fields, make in mistakes(v):
        try:
            candidate = make(v)
        except RuntimeError:  # shapes that do not fit: not this mistake, at these sizes
            continue
        explains = all(_close(grads[k], candidate[k], 1e-4, 1e-6) for k in ORDER)
        if explains and not all(_close(candidate[k], right[k], 1e-4, 1e-6) for k in ORDER):
            fits.setdefault(cause(mistake, **fields).text, mistake)
    if fits and set(fits.values()) <= STORED_ELSEWHERE:
        # Right gradients under the wrong keys: no step of the walk went wrong, so no "where" is said.
        return Cause(tuple(dict.fromkeys(fits.values())), " Or: ".join(fits))
    text = cause(first).text
    if 1 <= len(fits) <= len(FITS):
        text += " " + FITS[len(fits) - 1].format(*fits)
        return Cause((first, *dict.fromkeys(fits.values())), text)
    return Cause((first,), text)
