"""The judge: how the tests call a learner's code and explain what they find.

Every test goes through three helpers here:

    mod = judge.load("affine")                  # the module under test, from the chosen track
    out, cache = judge.call(mod.affine_forward, x, W, b)
    judge.close("out", out, expected, diagnoses={"the bias is missing": x @ W.T})

A failure raises `KataError`, whose message is written for the learner: which function, called
with which shapes, expected against got, and (when a classic mistake reproduces the result)
what the mistake probably is. conftest.py prints that message instead of a traceback.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import inspect
import re
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from tools.manifest import Kata, by_module, by_number

TRACK = "katas"  # set by conftest.py from --track
CURRENT: Kata | None = None  # the kata whose test is running (set by conftest.py)
_last_call = "the function"


class KataError(AssertionError):
    """A failure explained for a person. `blame` is the number of the kata at fault."""

    def __init__(self, message: str, blame: int | None = None) -> None:
        super().__init__(message)
        self.blame = blame if blame is not None else (CURRENT.number if CURRENT else None)
        self.problem = message  # without the "kata-7 needs kata-1" frame, when it is about another kata


class NotStarted(KataError):
    """The kata at fault still raises the stub's NotImplementedError."""


class TimedOut(BaseException):
    """Raised inside code that ran past its time limit; a BaseException so `except Exception` cannot swallow it."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TimedOut in this thread if the block runs longer than `seconds` (an endless loop, say).

    A timer thread sets an asynchronous exception on this one: pure Python, so it works on every
    platform; it lands at the next Python instruction, after any torch call in progress returns.
    """
    target = threading.get_ident()

    def interrupt() -> None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target), ctypes.py_object(TimedOut))

    timer = threading.Timer(seconds, interrupt)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def current() -> Kata:
    assert CURRENT is not None, "judge.CURRENT is set by conftest.py for every test"
    return CURRENT


# ---------------------------------------------------------------------------------------------
# Loading and calling the learner's code


class _Lazy:
    """A kata module imported on first use, inside a test: a file that does not import then fails
    each test with a one-paragraph message, instead of stopping pytest's collection of every file."""

    def __init__(self, module: str) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        kata = by_module(self._module)
        try:
            module = importlib.import_module(f"{TRACK}.{self._module}")
        except Exception as error:  # SyntaxError, NameError at import time, a broken earlier kata...
            raise _crash(error, f"importing {TRACK}/{self._module}.py", kata) from None
        return getattr(module, name)


def load(module: str) -> Any:
    """The learner's <track>.<module>, imported when a test first uses it."""
    return _Lazy(module)


def shape_of(value: Any) -> str:
    if isinstance(value, Tensor):
        return "(" + ", ".join(str(s) for s in value.shape) + ("," if value.dim() == 1 else "") + ")"
    if isinstance(value, (int, float)):
        return repr(value)
    return type(value).__name__


def describe_call(fn: Callable, args: tuple) -> str:
    name = getattr(fn, "__qualname__", getattr(fn, "__name__", "the function"))
    try:
        names = [p for p in inspect.signature(fn).parameters]
    except (TypeError, ValueError):
        names = []
    names += [f"arg{i}" for i in range(len(names), len(args))]
    parts = []
    for pname, value in zip(names, args):
        parts.append(f"{pname} {shape_of(value)}" if isinstance(value, Tensor) else pname)
    return f"{name}({', '.join(parts)})"


def call(fn: Callable, *args: Any, explain: Mapping[str, str] | None = None) -> Any:
    """Call the learner's fn; NotImplementedError and crashes become KataErrors that say who to blame.

    `explain` maps a regular expression to a likely cause: a crash whose message matches it
    is explained with that cause.
    """
    global _last_call
    _last_call = describe_call(fn, args)
    try:
        return fn(*args)
    except KataError:
        raise
    except NotImplementedError as error:
        raise not_started(error) from None
    except Exception as error:
        crash = _crash(error, f"calling {_last_call}", None)
        cause = next((c for pattern, c in (explain or {}).items() if re.search(pattern, str(error))), None)
        if cause and crash.blame == current().number:
            crash = KataError(f"{crash}\n  Likely cause: {cause}", blame=crash.blame)
        raise crash from None


def _package_dir() -> Path:
    return Path(sys.modules[TRACK].__file__).parent


def _frames_in_track(error: BaseException) -> list[traceback.FrameSummary]:
    try:
        root = _package_dir()
    except (KeyError, TypeError):
        return []
    frames = traceback.extract_tb(error.__traceback__)
    return [f for f in frames if Path(f.filename).parent == root]


def _kata_of_frame(frame: traceback.FrameSummary) -> Kata | None:
    return by_module(Path(frame.filename).stem)


def not_started(error: NotImplementedError) -> NotStarted:
    match = re.match(r"kata-(\d+)", str(error))
    frames = _frames_in_track(error)
    if match:
        culprit = by_number(int(match.group(1)))
    elif frames:
        culprit = _kata_of_frame(frames[-1]) or current()
    else:
        culprit = current()
    what = str(error).split(": ", 1)[-1].split(";")[0] if match else f"{TRACK}/{culprit.module}.py"
    if culprit.number == current().number:
        return NotStarted(
            f"{culprit.label}: {what}. Open {culprit.path(TRACK)}, read its docstring, and replace the "
            f"`raise NotImplementedError` with your code. Stuck? `nox -s hint -- {culprit.number}`.",
            blame=culprit.number,
        )
    return NotStarted(needs_message(culprit, what), blame=culprit.number)


def needs_message(culprit: Kata, problem: str) -> str:
    return (
        f"{current().label} needs {culprit.label}: {problem}. "
        f"Run `nox -s kata-{culprit.number}` first and come back when it passes."
    )


def _crash(error: Exception, doing: str, kata: Kata | None) -> KataError:
    frames = _frames_in_track(error)
    if isinstance(error, SyntaxError):  # the file that does not parse is the culprit, not its importer
        kata = by_module(Path(error.filename or "").stem) or kata
        line = f"\n  at {TRACK}/{Path(error.filename or '?').name}:{error.lineno}:  {(error.text or '').strip()}"
    elif frames:
        where = frames[-1]
        kata = _kata_of_frame(where) or kata
        line = f"\n  at {TRACK}/{Path(where.filename).name}:{where.lineno}:  {(where.line or '').strip()}"
    else:
        line = ""
    kata = kata or current()
    message = f"{type(error).__name__}: {error}".strip()
    text = f"{doing} raised {message}{line}"
    if kata.number != current().number:
        error = KataError(needs_message(kata, text), blame=kata.number)
        error.problem = text
        return error
    return KataError(f"{kata.label}: {text}", blame=kata.number)


def fail(message: str) -> KataError:
    """A KataError about the current kata, for checks that are not a tensor comparison."""
    return KataError(f"{current().label}: {message}")


# ---------------------------------------------------------------------------------------------
# Checking results


def unpack(value: Any, names: tuple[str, ...]) -> tuple:
    """Check that a call returned a tuple of len(names) values, as its docstring promises."""
    want = "(" + ", ".join(names) + ")"
    if not isinstance(value, tuple) or len(value) != len(names):
        got = f"a {len(value)}-tuple" if isinstance(value, tuple) else f"a {type(value).__name__}"
        raise fail(f"{_last_call} returned {got}; expected the tuple {want}.")
    return value


def tensor(name: str, got: Any, like: Tensor | None = None, shape: tuple | None = None) -> Tensor:
    """Check got is a tensor (with like's shape, dtype and device, when given)."""
    if not isinstance(got, Tensor):
        raise fail(f"{_last_call} returned {name} as a {type(got).__name__}; expected a torch.Tensor.")
    want_shape = tuple(like.shape) if like is not None else shape
    if want_shape is not None and tuple(got.shape) != tuple(want_shape):
        hint = ""
        if got.dim() == 2 and tuple(got.shape) == tuple(reversed(want_shape)):
            hint = " It has the transposed shape: check the order of the matrix product."
        raise fail(f"{_last_call} returned {name} of shape {tuple(got.shape)}; expected {tuple(want_shape)}.{hint}")
    if like is not None and got.dtype != like.dtype:
        raise fail(
            f"{_last_call} returned {name} as {got.dtype}; expected {like.dtype}, the dtype of the input "
            "(build new tensors from the inputs, e.g. torch.zeros_like, instead of fixing a dtype)."
        )
    if like is not None and got.device != like.device:
        raise fail(f"{_last_call} returned {name} on {got.device}; expected {like.device}, the input's.")
    return got


def _matches(got: Tensor, candidate: Any, rtol: float, atol: float) -> bool:
    if not isinstance(candidate, Tensor) or tuple(candidate.shape) != tuple(got.shape):
        return False
    got64, cand64 = got.detach().double().cpu(), candidate.detach().double().cpu()
    return bool(torch.allclose(got64, cand64, rtol=rtol, atol=atol, equal_nan=False))


def diagnose(got: Any, diagnoses: Mapping[str, Any] | None, rtol: float = 1e-4, atol: float = 1e-6) -> str:
    """The first described wrong variant that reproduces got, as a line; '' when none does."""
    if not isinstance(got, Tensor):
        return ""
    for text, candidate in (diagnoses or {}).items():
        try:
            value = candidate() if callable(candidate) else candidate
        except Exception:  # a variant that cannot be built for these inputs
            continue
        if _matches(got, value, rtol, atol):
            return f"\n  Likely cause: {text}"
    return ""


def close(
    name: str,
    got: Any,
    expected: Tensor,
    diagnoses: Mapping[str, Any] | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    compare_dtype: bool = True,
    nonfinite: str = "",
) -> None:
    """Fail, in words, unless got is a tensor of expected's shape whose values are allclose."""
    if isinstance(got, Tensor) and tuple(got.shape) != tuple(expected.shape):
        cause = diagnose(got, diagnoses)
        if cause:
            raise fail(
                f"{_last_call} returned {name} of shape {tuple(got.shape)}; expected {tuple(expected.shape)}.{cause}"
            )
    tensor(name, got, like=expected if compare_dtype else None, shape=tuple(expected.shape))
    got64 = got.detach().double().cpu()
    want64 = expected.detach().double().cpu()
    finite = torch.isfinite(got64)
    if not bool(finite.all()):
        index = tuple(int(i) for i in (~finite).nonzero()[0])
        raise fail(
            f"{_last_call} returned {name} with {int((~finite).sum())} NaN or inf values "
            f"(first at {list(index)}: {got64[index].item()}; expected {want64[index].item():.6g})."
            + (f"\n  Likely cause: {nonfinite}" if nonfinite else diagnose(got, diagnoses))
        )
    error = (got64 - want64).abs()
    allowed = atol + rtol * want64.abs()
    if bool((error <= allowed).all()):
        return
    worst = tuple(int(i) for i in torch.unravel_index(torch.argmax(error - allowed), error.shape))
    at = f" at {list(worst)}" if worst else ""
    wrong = int((error > allowed).sum())
    raise fail(
        f"{_last_call} returned {name} with wrong values: {wrong} of {error.numel()} entries are off. "
        f"Largest error {error[worst].item():.4g}{at}: got {got64[worst].item():.6g}, "
        f"expected {want64[worst].item():.6g}." + diagnose(got, diagnoses)
    )


def unchanged(name: str, before: Tensor, after: Tensor, diagnoses: Mapping[str, Any] | None = None) -> None:
    """Fail if the learner's code wrote into a tensor it was given (naming the write, when a diagnosis matches)."""
    if not torch.equal(before, after):
        changed = int((before != after).sum())
        raise fail(
            f"{_last_call} changed its input {name} in place ({changed} entries differ after the call). "
            "Build new tensors instead of assigning into (or using `+=`, `*=`, `[...] =` on) "
            "the tensors you are given: the caller still needs them." + diagnose(after, diagnoses)
        )


def value(name: str, got: Any, expected: Any, explain: str = "") -> None:
    """Fail unless got == expected, for plain values (keys, counts, types)."""
    if got != expected:
        raise fail(f"{name}: got {got!r}; expected {expected!r}.{(' ' + explain) if explain else ''}")


# ---------------------------------------------------------------------------------------------
# Independent references


def numerical_grad(f: Callable[[], Tensor], x: Tensor, dout: Tensor, h: float = 1e-6) -> Tensor:
    """Central difference of sum(f() * dout) with respect to x (float64), entry by entry."""
    grad = torch.zeros_like(x)
    flat, gflat = x.view(-1), grad.view(-1)
    for i in range(flat.numel()):
        old = flat[i].item()
        flat[i] = old + h
        plus = (f() * dout).sum().item()
        flat[i] = old - h
        minus = (f() * dout).sum().item()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * h)
    return grad


def autograd(f: Callable[..., Tensor], inputs: Iterable[Tensor], dout: Tensor) -> list[Tensor]:
    """torch.autograd's gradients of sum(f(*inputs) * dout) for each input (float64 copies)."""
    leaves = [t.detach().double().clone().requires_grad_(True) for t in inputs]
    with torch.enable_grad():
        out = f(*leaves)
        grads = torch.autograd.grad(out, leaves, grad_outputs=dout.double(), allow_unused=True)
    return [torch.zeros_like(leaf) if g is None else g for leaf, g in zip(leaves, grads)]


def linspace(shape: tuple[int, ...], low: float = -4.0, high: float = 4.0, dtype=torch.float32) -> Tensor:
    """The tutorial's deterministic inputs: evenly spaced values filling `shape` row by row."""
    n = 1
    for s in shape:
        n *= s
    return torch.linspace(low, high, n, dtype=dtype).reshape(shape)


def rand(*shape: int, generator: torch.Generator | None = None, dtype=torch.float64) -> Tensor:
    return torch.randn(*shape, generator=generator, dtype=dtype)
