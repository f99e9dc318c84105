"""The judge: how the tests call a learner's code and explain what they find.

Every test goes through a few helpers here:

    mod = judge.load("affine")                  # the module under test, from the chosen track
    out, cache = judge.call(mod.affine_forward, x, W, b)
    judge.close("out", out, expected, diagnoses={"affine/no-bias": x @ W.T})

A failure raises `KataError`, whose message is written for the learner: which function, called
with which shapes, expected against got, and (when a classic mistake reproduces the result)
what the mistake probably is: its id names a sentence of tests/mistakes.toml (tools/mistakes.py), and
the error carries the ids it named. tests/plugin.py prints that message instead of a traceback.

What the judge knows about the run lives in two explicit objects, both set by tests/plugin.py
and nowhere else: the `Session` (the track judged, the time limit, functions already stopped
as endless loops, global settings a kata changed) and the `Test` (the kata under test, the kata
code that ran, and which call produced which value, so that a message names the right call).
"""

from __future__ import annotations

import contextlib
import inspect
import re
import traceback
import unittest
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor

from tools.judge import processes, said, sealed
from tools.judge.limits import (  # noqa: F401 (the plugin reaches these through the judge)
    WALL_FACTOR,
    Clock,
    ProgramExit,
    Stopped,
    TimedOut,
    changes,
    restore,
    single_threaded,
    time_limit,
    world,
)
from tools.judge.sandbox import reference_dout
from tools.manifest import Kata, by_module, by_number, katas
from tools.mistakes import Cause, as_cause, cause


class KataError(AssertionError):
    """A failure explained for a person. `blame` is the number of the kata at fault; `mistakes`, the ids
    (tests/mistakes.toml) of the likely causes its message names."""

    def __init__(
        self, message: str, blame: int | None = None, about_inputs: bool = True, mistakes: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.mistakes = tuple(mistakes)
        self.blame = blame if blame is not None else current().number
        self.problem = message  # without the "kata-7 needs kata-1" frame, when it is about another kata
        self.about_inputs = about_inputs  # False: the test's inputs do not matter (an import, a stub)


class NotStarted(KataError):
    """The kata at fault still raises the stub's NotImplementedError."""

    def __init__(self, message: str, blame: int | None = None) -> None:
        super().__init__(message, blame, about_inputs=False)


# What a test runner treats as a test's outcome when raised: from code a test calls, each is a failure.
OUTCOMES = (pytest.skip.Exception, pytest.fail.Exception, pytest.exit.Exception, unittest.SkipTest)


# ---------------------------------------------------------------------------------------------
# The run's state: one Session per pytest run, one Test per test, set by tests/plugin.py only.


@dataclass
class Session:
    track: str  # "katas" or "solutions": the package judged
    root: Path  # the folder that holds that package
    timeout: float  # seconds of processor time a test may use (its clock time: WALL_FACTOR times that)
    kata: sealed.Client  # the process where kata code runs (tools/judge/sealed.py)
    hung: dict[tuple[str, str], str] = field(default_factory=dict)  # (file, function) -> the message
    arm: Callable[[float], Any] = lambda seconds: contextlib.nullcontext()  # the supervisor's backstop
    tell: Callable[..., None] = lambda event, **data: None  # an event for the supervisor (tests/plugin.py)

    def quarantine(self, file: str, function: str, message: str) -> None:
        """A function that did not finish (or ended the process) is not run again in this session: its later
        calls fail at once with message, in this worker and, told, in the supervisor's next ones."""
        self.hung[(file, function)] = message
        self.tell("hung", file=file, function=function, message=message)

    @contextlib.contextmanager
    def limit(self, seconds: float) -> Iterator[Clock]:
        """Run a test's own code under a time limit (`seconds` of processor time, WALL_FACTOR times that on the
        clock, not counting the waits for the kata process, which keeps the same limit for kata code): TimedOut
        here, and the supervisor's hard stop after both could have run out."""
        with self.arm(2 * seconds * WALL_FACTOR), time_limit(seconds) as clock:
            yield clock

    def package_dir(self) -> Path:
        return self.root / self.track


@dataclass
class Test:
    kata: Kata
    ran: set[int] = field(default_factory=set)  # the katas whose functions ran in this test
    origins: dict[int, tuple[Any, str]] = field(default_factory=dict)  # id(value) -> (value, the call)
    last_call: str = "your code"


_session: Session | None = None
_test: Test | None = None


def start_session(session: Session) -> None:
    global _session
    _session = session


def start_test(test: Test | None) -> None:
    global _test
    _test = test


def session() -> Session:
    assert _session is not None, "judge.start_session is called by tests/plugin.py"
    return _session


def current() -> Kata:
    assert _test is not None, "judge.start_test is called by tests/plugin.py for every test"
    return _test.kata


def test() -> Test:
    assert _test is not None, "judge.start_test is called by tests/plugin.py for every test"
    return _test


# ---------------------------------------------------------------------------------------------
# torch's global settings: the kata process reports a change kata code made (and undoes it)


def _check_world(who: str, kata: Kata) -> None:
    change = session().kata.take_world_change()
    if change:
        changed, before = change
        said = cause("any/global-switch")
        raise KataError(
            _frame(kata, f"{who} changed {changed} (it was {before}) and left it so.{said}"),
            blame=kata.number,
            mistakes=said.ids,
        )


# ---------------------------------------------------------------------------------------------
# Loading and calling the learner's code


class _Lazy:
    """A kata module imported on first use, inside a test: a file that does not import then fails
    each test with a one-paragraph message, instead of stopping pytest's collection of every file."""

    def __init__(self, module: str) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # pytest and hypothesis look for their own markers at collection
            raise AttributeError(name)
        kata = by_module(self._module)
        assert kata is not None, f"{self._module} is not a kata module"
        module = import_kata(kata)
        try:
            return getattr(module, name)
        except AttributeError:
            raise KataError(
                _frame(
                    kata,
                    f"{kata.path(session().track)} has no `{name}`: the file is empty, or `{name}` was renamed "
                    f"or deleted. Put back the definition the stub starts with (`nox -s reset -- {kata.number}` "
                    "restores the whole stub and backs up your file first)",
                ),
                blame=kata.number,
                about_inputs=False,
            ) from None


def load(module: str) -> Any:
    """The learner's <track>.<module>, imported when a test first uses it."""
    return _Lazy(module)


def import_kata(kata: Kata) -> Any:
    """The kata module, imported in the kata process with each kata it builds on (none may change torch's
    settings), as a handle; a failure names the kata whose file could not be used."""
    try:
        return session().kata.load(kata.module)
    except (TimedOut, Stopped):
        raise
    except sealed.Ended as ended:
        raise _ended(ended, f"importing {kata.path(session().track)}") from None
    except BaseException as error:  # SyntaxError, NameError at import time, sys.exit() ...
        record = getattr(error, "record", {})
        need = by_module(str(record.get("kata", ""))) or kata
        if record.get("unusable"):
            raise KataError(_frame(need, str(error)), blame=need.number, about_inputs=False) from None
        crash = _crash(error, str(record.get("doing", f"importing {need.path(session().track)}")), need)
        crash.about_inputs = False
        raise crash from None


def stand_in(name: str, *args: Any) -> Any:
    """An object of tests/stand_ins.py, made in the kata process (where kata code's autograd can follow it)."""
    return session().kata.stand_in(name, *args)


def is_a(value: Any, cls: type) -> bool:
    """isinstance, for a value here or an object of the kata process (by the names of its classes)."""
    if sealed.is_remote(value):
        return cls.__name__ in value._meta.get("ancestors", [])
    return isinstance(value, cls)


def kind(value: Any) -> str:
    """'None', 'a list', 'a Tensor': what a value is, for a sentence."""
    if sealed.is_remote(value):
        return f"a {value._meta.get('type', 'object')}"
    return "None" if value is None else f"a {type(value).__name__}"


def shape_of(value: Any) -> str:
    if isinstance(value, Tensor):
        return "(" + ", ".join(str(s) for s in value.shape) + ("," if value.dim() == 1 else "") + ")"
    if isinstance(value, (bool, int, float)):
        return repr(value)
    return type(value).__name__


def _parameter_names(fn: Callable, count: int) -> list[str]:
    meta = getattr(fn, "_meta", None) if sealed.is_remote(fn) else None
    if meta is not None:
        names = list(meta.get("parameters", [])) if meta.get("kind") in ("function", "class") else ["x"]
    elif inspect.isfunction(fn) or inspect.ismethod(fn) or inspect.isclass(fn):
        try:
            names = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            names = []
    else:
        names = ["x"]  # a module called on its input
    return names + [f"arg{i}" for i in range(len(names), count)]


def describe_call(fn: Callable, args: tuple) -> str:
    """'relu_forward(x (2, 3))', 'TwoLayerNet(5, 4, 3)', 'TwoLayerPytorch module(x (3, 6))'."""
    meta = getattr(fn, "_meta", {}) if sealed.is_remote(fn) else {}
    is_class = meta.get("kind") == "class" if meta else inspect.isclass(fn)
    if meta.get("kind") in ("function", "class"):
        name = str(meta.get("name"))
    elif meta:
        name = f"{meta.get('type')} module"
    elif inspect.isfunction(fn) or inspect.ismethod(fn) or inspect.isclass(fn):
        name = fn.__qualname__
    else:
        name = f"{type(fn).__name__} module"
    names = _parameter_names(fn, len(args))
    parts = []
    for pname, value in zip(names, args):
        if isinstance(value, Tensor):
            parts.append(f"{pname} {shape_of(value)}")
        elif isinstance(value, (bool, int, float)):
            parts.append(repr(value) if is_class else f"{pname}={value!r}")
        else:
            parts.append(pname)
    return f"{name}({', '.join(parts)})"


# Crashes whose torch message a learner cannot be expected to decode: a pattern -> the mistake's id.
COMMON_CRASHES = {
    r"could not infer output dtype.*Bool": "any/bool-mean",
    r"mat1 and mat2 shapes cannot be multiplied|size mismatch|must match the size": "any/shapes-do-not-fit",
    r"expected (scalar type|m1 and m2 to have the same dtype)|found dtype .* but expected": "any/two-dtypes",
    r"Boolean value of Tensor with more than one value is ambiguous": "any/tensor-as-truth-value",
    r"one_hot is only applicable to index tensor": "any/labels-not-long",
    r"leaf Variable that requires grad is being used in an in-place operation": "any/in-place-on-leaf",
    r"Can't call numpy\(\) on Tensor that requires grad": "any/numpy-of-grad-tensor",
    r"does not require grad and does not have a grad_fn": "any/backward-without-grad",
    r"'tuple' object has no attribute": "any/pair-as-tensor",
    r"object is not subscriptable|cannot unpack non-iterable|object is not iterable": "any/wrong-kind-returned",
}


def call(fn: Callable, *args: Any, explain: Mapping[str, str | Cause] | None = None, probe: list | None = None) -> Any:
    """Call the learner's fn; NotImplementedError and crashes become KataErrors that say who to blame.

    fn is a handle on the kata process (a kata's function, class or object): the call runs there, and its
    result comes back by value. probe: call it as `in_graph` does instead (these tensors being the others).

    `explain` maps a regular expression to a likely cause (a mistake's id, or a judge.cause): a crash whose
    message matches it is explained with that cause (before the common torch crashes in COMMON_CRASHES).
    """
    described = describe_call(fn, args)
    state = test()
    state.last_call = described
    shapes = [(i, a, a.shape, a.dtype) for i, a in enumerate(args) if isinstance(a, Tensor)]
    try:
        result = fn(*args) if probe is None else session().kata.probe(fn, args, probe)
    except (KataError, TimedOut, Stopped):
        raise
    except NotImplementedError as error:
        raise not_started(error) from None
    except sealed.Ended as ended:
        raise _ended(ended, f"calling {described}") from None
    except BaseException as error:  # a crash; SystemExit, KeyboardInterrupt and os._exit included
        crash = _crash(error, f"calling {described}", None)
        explained = {**(explain or {}), **COMMON_CRASHES}
        said = as_cause(next((c for pattern, c in explained.items() if re.search(pattern, str(error))), None))
        if said:
            crash = KataError(f"{crash}{said}", blame=crash.blame, mistakes=said.ids)
        raise crash from None
    _check_world(described, current())
    for i, arg, shape, dtype in shapes:
        if arg.shape != shape or arg.dtype != dtype:
            name = _parameter_names(fn, len(args))[i]
            raise fail(
                f"{described} changed its input {name} in place: it was {tuple(shape)} {dtype} and is now "
                f"{tuple(arg.shape)} {arg.dtype}. Methods ending in `_` (unsqueeze_, t_, resize_) change the tensor "
                "they are called on: use the plain method, which makes a new tensor, and leave your inputs alone."
            )
    _remember(result if probe is None else result.get("result"), described)
    return result


def _remember(result: Any, described: str) -> None:
    """Note which call produced a value (and the items of a returned tuple or dict)."""
    origins = test().origins
    items = result.values() if isinstance(result, dict) else result if isinstance(result, tuple) else ()
    for value in (result, *items):
        origins[id(value)] = (value, described)


def origin(value: Any) -> str | None:
    """The call that returned value, when a judge.call did; None otherwise."""
    found = test().origins.get(id(value))
    return found[1] if found is not None and found[0] is value else None


def _frames_in_track(error: BaseException) -> list[traceback.FrameSummary]:
    """The frames of kata code where error was raised: those the kata process sent (`frames`), or its own."""
    root = session().package_dir()
    frames = getattr(error, "frames", None)
    if not isinstance(frames, list):
        frames = traceback.extract_tb(error.__traceback__)
    return [f for f in frames if Path(f.filename).parent == root]


def _kata_of_frame(frame: traceback.FrameSummary) -> Kata | None:
    return by_module(Path(frame.filename).stem)


def not_started(error: NotImplementedError) -> NotStarted:
    match = re.match(r"kata-(\d+)", str(error))
    frames = _frames_in_track(error)
    if match and 1 <= int(match.group(1)) <= len(katas()):
        culprit = by_number(int(match.group(1)))
    elif frames:
        culprit = _kata_of_frame(frames[-1]) or current()
    else:
        culprit = current()
    track = session().track
    what = str(error).split(": ", 1)[-1].split(";")[0] if match else f"{track}/{culprit.module}.py"
    if culprit.number == current().number:
        found = NotStarted(
            f"{culprit.label}: {what}. Open {culprit.path(track)}, read its docstring, and replace the "
            f"`raise NotImplementedError` with your code. Stuck? `nox -s hint -- {culprit.number}`.",
            blame=culprit.number,
        )
    else:
        found = NotStarted(needs_message(culprit, what), blame=culprit.number)
    found.problem = what
    return found


def needs_message(culprit: Kata, problem: str) -> str:
    return (
        f"{current().label} needs {culprit.label}: {problem.rstrip('.')}.\n"
        f"  Run `nox -s kata-{culprit.number}` first and come back when it passes."
    )


def _frame(kata: Kata, text: str) -> str:
    """A message about kata's code, framed for the test that found it."""
    if kata.number != current().number:
        return needs_message(kata, text)
    return f"{kata.label}: {text}."


def _crash(error: BaseException, doing: str, kata: Kata | None) -> KataError:
    frames = _frames_in_track(error)
    track = session().track
    unreported = getattr(error, "record", {}).get("unreported")
    if unreported in said.UNREPORTED:  # raised in a __del__ or a thread of kata code, where no caller sees it
        doing = said.UNREPORTED[unreported]
    if isinstance(error, (SyntaxError, ValueError)) and not frames and kata is not None and doing.startswith("import"):
        # The file that does not parse is the culprit, not its importer.
        filename = getattr(error, "filename", None)
        kata = by_module(Path(filename).stem) if filename else kata
        kata = kata or current()
        problem = str(error)
        if "null bytes" in problem or "Non-UTF-8" in problem or "codec can't decode" in problem:
            why = "it holds null bytes" if "null bytes" in problem else "it holds bytes that are not UTF-8 text"
            text = (
                f"{kata.path(track)} is not a Python text file ({why}). Save it as UTF-8 text; "
                f"`nox -s reset -- {kata.number}` puts back the stub and backs up this file first"
            )
            return KataError(_frame(kata, text), blame=kata.number)
        at = (
            f"\n  at {kata.path(track)}:{error.lineno}:  {(error.text or '').strip()}"
            if isinstance(error, SyntaxError) and error.lineno
            else ""
        )
        text = f"{doing} raised {type(error).__name__}: {getattr(error, 'msg', None) or error}{at}"
        error_ = KataError(_frame(kata, text).rstrip("."), blame=kata.number)
        error_.problem = text
        return error_
    missing = re.match(r"cannot import name '(\w+)' from '(\w+)\.(\w+)'", str(error))
    if isinstance(error, ImportError) and missing and by_module(missing.group(3)):
        # `from .relu import relu_backward` where relu.py has no relu_backward: kata 2's fault.
        owner = by_module(missing.group(3))
        assert owner is not None
        text = (
            f"{owner.path(track)} has no `{missing.group(1)}` (renamed or deleted?), which "
            f"{Path(frames[-1].filename).name if frames else 'another kata'} imports. Put back its definition; "
            f"`nox -s reset -- {owner.number}` restores the stub and backs up your file first"
        )
        found = KataError(_frame(owner, text), blame=owner.number)
        found.problem = text
        return found
    line = ""
    if frames:
        where = frames[-1]
        kata = _kata_of_frame(where) or kata
        line = f"\n  at {track}/{Path(where.filename).name}:{where.lineno}:  {(where.line or '').strip()}"
    kata = kata or current()
    if isinstance(error, ProgramExit):
        message = f"{error} (the process would end): your code must return its result, not end the program"
    elif isinstance(error, SystemExit):
        message = f"SystemExit({error}): your code must return its result, not end the program"
    elif isinstance(error, KeyboardInterrupt):
        message = "KeyboardInterrupt: remove the `raise KeyboardInterrupt` (or input()) from your code"
    elif isinstance(error, MemoryError) or "can't allocate memory" in str(error):
        message = f"{type(error).__name__}: {out_of_memory()}"
    elif isinstance(error, OUTCOMES):
        message = (
            f"{type(error).__name__}({str(error)[:200]!r}), one of pytest's own outcomes: only a test decides whether "
            "it passes, fails or is skipped. Your code must return its result and let the tests judge it"
        )
    else:
        message = f"{type(error).__name__}: {error}" if str(error).strip() else type(error).__name__
    text = f"{doing} raised {message}{line}"
    if kata.number != current().number:
        found = KataError(needs_message(kata, text), blame=kata.number)
        found.problem = text
        return found
    return KataError(f"{kata.label}: {text}", blame=kata.number)


def _ended(ended: sealed.Ended, doing: str) -> BaseException:
    """The kata process ended while it ran kata code (doing): a wait inside one C call that was stopped from
    outside, a pause, too much memory, an exit or a crash; blamed on the kata whose code was running, and that
    function is not run again in this session when the process was stopped or crashed inside it."""
    track = session().track
    frames = [f for f in ended.frames if Path(f.filename).parent == session().package_dir()]
    culprit = (by_module(Path(frames[-1].filename).stem) if frames else None) or current()
    at = said.where(frames[-1].name, culprit.path(track), frames[-1].lineno or 0) if frames else ""
    outer = next((f for f in frames if by_module(Path(f.filename).stem) == culprit), None)
    again = ""
    if ended.timed_out:
        text = said.stopped_from_outside(at)
        again = said.stopped_again(outer.name, culprit.path(track)) if outer else ""
    elif ended.over_memory:
        text = f"this test was ended{at}: {said.out_of_memory(processes.RESIDENT_GB)}"
    elif ended.paused:
        text = said.paused(at, ended.how)
    else:
        text = said.ended(at, ended.how)
        again = said.ended_again(outer.name, culprit.path(track), ended.how) if outer else ""
    if again and outer is not None:
        session().quarantine(outer.filename, outer.name, again)
    return KataError(_frame(culprit, text), blame=culprit.number)


def out_of_memory() -> str:
    """What to say when kata code ran out of memory: the ceiling of the test process when it has one."""
    try:
        import resource

        ceiling = resource.getrlimit(resource.RLIMIT_DATA)[0]
    except (ImportError, AttributeError, OSError):
        ceiling = -1
    return said.out_of_memory(ceiling / 2**30 if 0 < ceiling < 2**50 else None)


def fail(message: str, cause: Cause | None = None) -> KataError:
    """A KataError about the current kata, for checks that are not a tensor comparison; `cause` (judge.cause(id))
    ends the message with the mistake's "Likely cause" line."""
    message += str(cause) if cause else ""
    error = KataError(f"{current().label}: {message}", mistakes=cause.ids if cause else ())
    error.problem = message
    return error


# ---------------------------------------------------------------------------------------------
# Checking results


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
    """The first mistake (an id, or a judge.cause with its fields) whose wrong variant reproduces got; None when
    none does."""
    if not isinstance(got, Tensor):
        return None
    for named, candidate in (diagnoses or {}).items():
        try:
            value = candidate() if callable(candidate) else candidate
        except Exception:  # a variant that cannot be built for these inputs
            continue
        if _matches(got, value, rtol, atol):
            return as_cause(named)
    return None


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


def _listed(names: list[str]) -> str:
    """'x', 'x and W', 'x, W and b'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def in_graph(
    fn: Callable,
    args: tuple,
    names: tuple[str, ...],
    reference: Callable[..., Tensor] | None = None,
    explain: Mapping[str, str] | None = None,
    rtol: float = 1e-4,
    atol: float = 1e-6,
    others: Mapping[str, Tensor] | None = None,
) -> None:
    """Fail, in words, unless fn's result stays in autograd's graph when its inputs require grad.

    fn is called again on copies of args whose floating-point tensors require grad, as torch.autograd
    calls a layer (kata 9 runs the learner's layers, loss and net so); names are the returned tuple's,
    the first being the result that must be differentiable. `others` names tensors that already
    require grad and that fn reads from elsewhere (a net's parameters). Each input that requires grad
    must be reached from that result by autograd and, given reference (a torch function of args and
    then the others), receive the gradient reference's gives it. A forward that passes its values
    through NumPy, Python numbers, .detach() or torch.no_grad() has the right numbers but not this.
    """
    leaves = tuple(
        a.detach().clone().requires_grad_(True) if isinstance(a, Tensor) and a.is_floating_point() else a for a in args
    )
    params = _parameter_names(fn, len(args))
    inputs = [(params[i], a) for i, a in enumerate(leaves) if isinstance(a, Tensor) and a.requires_grad]
    inputs += list((others or {}).items())
    if not inputs:
        return
    # Run in the kata process, where its autograd graph lives: the result, and the gradients autograd gives.
    found = call(fn, *leaves, explain=explain, probe=list((others or {}).values()))
    got = tensor(names[0], unpack(found.get("result"), names)[0])
    listed = _listed([n for n, _ in inputs])
    subject = f"{names[0]} from {describe_call(fn, leaves)}"
    if not found.get("grad_fn") and not found.get("is_input"):
        state = (
            "is a new leaf (it requires grad, but has no grad_fn that leads back to them)"
            if found.get("requires_grad")
            else "does not (it has no grad_fn)"
        )
        raise fail(
            f"{subject} is not connected to its inputs' autograd graph: {listed} "
            f"{'requires' if len(inputs) == 1 else 'require'} grad here and {names[0]} {state}. Every torch "
            "operation on a tensor that requires grad records itself in the graph and returns a tensor that "
            "requires grad; a result that does not, although an input does, was computed where autograd could not "
            "follow, and torch.autograd (kata 9 runs your layers, loss and net under it) cannot differentiate it.",
            cause("any/left-torch"),
        )
    dout = reference_dout(got)
    grads = list(found.get("grads") or [None] * len(inputs))
    unreached = [name for (name, _), grad in zip(inputs, grads) if grad is None]
    if unreached:
        cut = _listed(unreached)
        reached = [name for name, _ in inputs if name not in unreached]
        raise fail(
            f"{subject} is not connected to {cut} in autograd's graph: its values depend on {cut}, but autograd "
            f"finds no path from {names[0]} back to {cut} (the gradient comes out None)"
            + (f", while {_listed(reached)} {'is' if len(reached) == 1 else 'are'} reached" if reached else "")
            + ". A tensor cut out of the graph keeps its values but not the record of where they came from, so "
            f"torch.autograd (kata 9) would leave {cut} untrained.",
            cause("any/input-detached", cut=cut, itself="itself" if len(unreached) == 1 else "themselves"),
        )
    if reference is None:
        return
    doubles = [
        a.detach().double().requires_grad_(True) if isinstance(a, Tensor) and a.requires_grad else a for a in leaves
    ]
    extra = [t.detach().double().requires_grad_(True) for t in (others or {}).values()]
    wrt = [d for d in doubles if isinstance(d, Tensor) and d.requires_grad] + extra
    with torch.enable_grad():
        expected = torch.autograd.grad(reference(*doubles, *extra), wrt, grad_outputs=dout.double(), allow_unused=True)
    for (name, leaf), grad, want in zip(inputs, grads, expected):
        try:
            expected_grad = torch.zeros_like(leaf) if want is None else want.to(leaf.dtype)
            close(f"autograd's gradient for {name}", grad, expected_grad, rtol=rtol, atol=atol)
        except KataError as error:
            said = cause(
                "any/unused-branch-overflow" if not bool(torch.isfinite(grad).all()) else "any/values-apart-from-graph",
                result=names[0],
            )
            raise fail(
                f"{subject} has the right values, but autograd differentiates it wrongly: {error.problem}", said
            ) from None


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
