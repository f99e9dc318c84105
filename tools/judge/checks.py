"""Checking results: each check fails, in words, naming the call that made the value it judges.

    judge.close("out", out, expected, diagnoses={"affine/no-bias": x @ W.T})

When a classic mistake's wrong variant reproduces the value (`diagnoses`: a mistake's id, or a
judge.cause, to a tensor or a function making one), the message ends with its "Likely cause" line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from tools.judge.calls import kind, origin
from tools.judge.context import test
from tools.judge.errors import fail
from tools.mistakes import Cause, as_cause


def _subject(name: str, got: Any) -> str:
    """'dW from affine_backward(dout (3, 4), cache)' when a judged call returned got; else name."""
    made_by = origin(got)
    return f"{name} from {made_by}" if made_by else name


def unpack(value: Any, names: tuple[str, ...]) -> tuple:
    """Check that a call returned a tuple of len(names) values, as its docstring promises."""
    want = "(" + ", ".join(names) + ")"
    if not isinstance(value, tuple) or len(value) != len(names):
        got = f"a {len(value)}-tuple" if isinstance(value, tuple) else kind(value)
        made_by = origin(value) or test().last_call
        raise fail(f"{made_by} returned {got}; expected the tuple {want} (return {', '.join(names)}).")
    return value


def tensor(name: str, got: Any, like: Tensor | None = None, shape: tuple | None = None) -> Tensor:
    """Check got is a tensor (with like's shape, dtype and device, when given)."""
    subject = _subject(name, got)
    if not isinstance(got, Tensor):
        raise fail(f"{subject} is {kind(got)}; expected a torch.Tensor.")
    want_shape = tuple(like.shape) if like is not None else shape
    if want_shape is not None and tuple(got.shape) != tuple(want_shape):
        hint = ""
        if got.dim() == 2 and tuple(got.shape) == tuple(reversed(want_shape)):
            hint = " It has the transposed shape: check the order of the matrix product."
        raise fail(f"{subject} has shape {tuple(got.shape)}; expected {tuple(want_shape)}.{hint}")
    if like is not None and got.dtype != like.dtype:
        raise fail(
            f"{subject} is {got.dtype}; expected {like.dtype}, the dtype of the inputs. Results keep their "
            "inputs' dtype: make new tensors from the inputs (x.new_zeros, torch.zeros_like, .to(x.dtype)) "
            "rather than with a fixed or default dtype."
        )
    if like is not None and got.device != like.device:
        raise fail(f"{subject} is on {got.device}; expected {like.device}, the input's.")
    return got


def _matches(got: Tensor, candidate: Any, rtol: float, atol: float) -> bool:
    if not isinstance(candidate, Tensor) or tuple(candidate.shape) != tuple(got.shape):
        return False
    got64, cand64 = got.detach().double().cpu(), candidate.detach().double().cpu()
    return bool(torch.allclose(got64, cand64, rtol=rtol, atol=atol, equal_nan=False))


def diagnose(
    got: Any, diagnoses: Mapping[str | Cause, Any] | None, rtol: float = 1e-4, atol: float = 1e-6
) -> Cause | None:
    """The mistakes (ids, or judge.causes with their fields) whose wrong variant reproduces got, every entry of it
    within tolerance: the one that does, or every one that does, said as "first. Or: second" (where two fit, the
    values cannot tell which, so both are named, never just the first listed); None when none does."""
    if not isinstance(got, Tensor):
        return None
    found: list[Cause] = []
    for named, candidate in (diagnoses or {}).items():
        try:
            value = candidate() if callable(candidate) else candidate
        except Exception:  # a variant that cannot be built for these inputs
            continue
        cause = as_cause(named) if _matches(got, value, rtol, atol) else None
        if cause and all(c.ids != cause.ids for c in found):
            found.append(cause)
    if len(found) < 2:
        return found[0] if found else None
    return Cause(tuple(i for c in found for i in c.ids), " Or: ".join(c.text for c in found))


def close(
    name: str,
    got: Any,
    expected: Tensor,
    diagnoses: Mapping[str | Cause, Any] | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    compare_dtype: bool = True,
    nonfinite: str | Cause | None = None,
) -> None:
    """Fail, in words, unless got is a tensor of expected's shape whose values are allclose."""
    subject = _subject(name, got)
    if isinstance(got, Tensor) and tuple(got.shape) != tuple(expected.shape):
        cause = diagnose(got, diagnoses)
        if cause:
            raise fail(f"{subject} has shape {tuple(got.shape)}; expected {tuple(expected.shape)}.", cause)
    tensor(name, got, like=expected if compare_dtype else None, shape=tuple(expected.shape))
    if got.is_complex() or got.dtype == torch.bool:
        raise fail(f"{subject} is {got.dtype}; expected real numbers ({expected.dtype}).")
    got64 = got.detach().double().cpu()
    want64 = expected.detach().double().cpu()
    finite = torch.isfinite(got64)
    if not bool(finite.all()):
        index = tuple(int(i) for i in (~finite).nonzero()[0])
        at = f"first at {list(index)}: " if index else ""
        raise fail(
            f"{subject} has {int((~finite).sum())} NaN or inf values "
            f"({at}{got64[index].item()}; expected {want64[index].item():.6g}).",
            as_cause(nonfinite) or diagnose(got, diagnoses),
        )
    error = (got64 - want64).abs()
    allowed = atol + rtol * want64.abs()
    if bool((error <= allowed).all()):
        return
    worst = tuple(int(i) for i in torch.unravel_index(torch.argmax(error - allowed), error.shape))
    got_value, want_value = got64[worst].item() + 0.0, want64[worst].item() + 0.0  # + 0.0: no "-0"
    if error.numel() == 1:
        raise fail(f"{subject} is {got_value:.6g}; expected {want_value:.6g}.", diagnose(got, diagnoses))
    wrong = int((error > allowed).sum())
    raise fail(
        f"{subject} has wrong values: {wrong} of {error.numel()} entries are off. "
        f"Largest error {error[worst].item():.4g} at {list(worst)}: got {got_value:.6g}, "
        f"expected {want_value:.6g}.",
        diagnose(got, diagnoses),
    )


def unchanged(name: str, before: Tensor, after: Tensor, diagnoses: Mapping[str | Cause, Any] | None = None) -> None:
    """Fail if the call just made wrote into a tensor it was given (naming the write, when a diagnosis matches).

    Call it right after the call that must leave its input alone: the message names that call.
    """
    advice = (
        "Build new tensors instead of changing (with `+=`, `*=`, `[...] =`, or a method ending in `_`) "
        "the tensors you are given: the caller still needs them."
    )
    who = test().last_call
    if before.shape != after.shape or before.dtype != after.dtype:
        was, now = (f"{tuple(t.shape)} {t.dtype}" for t in (before, after))
        raise fail(f"{who} changed its input {name} in place: it was {was} and is now {now}. {advice}")
    if not torch.equal(before, after):
        changed = int((before != after).sum())
        raise fail(
            f"{who} changed its input {name} in place ({changed} of {before.numel()} entries differ after the "
            f"call). {advice}",
            diagnose(after, diagnoses),
        )


def value(name: str, got: Any, expected: Any, explain: str = "", cause: Cause | None = None) -> None:
    """Fail unless got == expected, for plain values (keys, counts, types); `cause`, a judge.cause, ends the message."""
    if got != expected:
        raise fail(f"{name}: got {got!r}; expected {expected!r}.{(' ' + explain) if explain else ''}", cause)


def listed(names: list[str]) -> str:
    """'x', 'x and W', 'x, W and b'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
