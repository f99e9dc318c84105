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
import ctypes
import importlib
import importlib.util
import inspect
import re
import sys
import threading
import time
import traceback
import unittest
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor

from tools.manifest import Kata, by_module, by_number, closure, katas
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


class TimedOut(BaseException):
    """Raised inside code that ran past its time limit; a BaseException so `except Exception` cannot swallow it."""


class Stopped(BaseException):
    """Raised on entry to a function that already ran past the time limit in this session."""


class ProgramExit(BaseException):
    """Raised instead of ending the process when a kata calls os._exit."""


# ---------------------------------------------------------------------------------------------
# The run's state: one Session per pytest run, one Test per test, set by tests/plugin.py only.


@dataclass
class Session:
    track: str  # "katas" or "solutions": the package judged
    root: Path  # the folder that holds that package
    timeout: float  # seconds of processor time a test may use (its clock time: WALL_FACTOR times that)
    hung: dict[tuple[str, str], str] = field(default_factory=dict)  # (file, function) -> the message
    unusable: dict[str, str] = field(default_factory=dict)  # kata module -> why its import cannot be used
    arm: Callable[[float], Any] = lambda seconds: contextlib.nullcontext()  # the supervisor's backstop

    @contextlib.contextmanager
    def limit(self, seconds: float) -> Iterator[Clock]:
        """Run a block under a time limit (`seconds` of processor time, WALL_FACTOR times that on the clock):
        TimedOut here, and the supervisor's hard stop just after the clock's limit."""
        with self.arm(seconds * WALL_FACTOR), time_limit(seconds) as clock:
            yield clock

    def package_dir(self) -> Path:
        return self.root / self.track

    def package(self) -> Any:
        """The judged package, imported from root/track whatever sys.path says."""
        if self.track not in sys.modules:
            init = self.package_dir() / "__init__.py"
            spec = importlib.util.spec_from_file_location(
                self.track, init, submodule_search_locations=[str(init.parent)]
            )
            assert spec is not None and spec.loader is not None, f"{init} is missing"
            module = importlib.util.module_from_spec(spec)
            sys.modules[self.track] = module
            spec.loader.exec_module(module)
        return sys.modules[self.track]


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
# Time limits, and watching which kata's code runs


WALL_FACTOR = 2.0  # a test's limit on the clock, as a multiple of its limit in processor time


def single_threaded() -> None:
    """One torch thread for kata code, in every process that runs it (set by tests/plugin.py and by the
    warm parent of forked workers). The katas' tensors are tiny: on a busy machine torch's one thread per
    core wait on each other (the digits training took 15.5 s with 2 threads against 0.84 s with 1, beside
    the same load), and a warm parent must not have started a thread pool before it forks."""
    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)
    with contextlib.suppress(RuntimeError):  # allowed once per process, before any inter-op work
        torch.set_num_interop_threads(1)


@dataclass
class Clock:
    """What a time limit measured: processor seconds and clock seconds since the block began."""

    limit: float  # processor seconds allowed
    wall_limit: float  # clock seconds allowed
    cpu: float = 0.0
    wall: float = 0.0
    stopped_by: str = ""  # "", "cpu" or "wall": which limit stopped the block

    @property
    def computing(self) -> bool:
        """Whether the block was computing when it was stopped (not waiting: a sleep, input(), a lock)."""
        return self.stopped_by == "cpu" or self.cpu >= self.limit / 2


@contextlib.contextmanager
def time_limit(seconds: float, wall: float | None = None) -> Iterator[Clock]:
    """Raise TimedOut in this thread once the block has used `seconds` of processor time (an endless loop,
    say), or has run `wall` seconds on the clock (WALL_FACTOR times `seconds` unless given: a wait).

    Processor time is the process's own: what other programs on a busy machine take is not counted, so a
    correct kata is judged the same on a loaded computer. A watcher thread sets an asynchronous exception
    on this one: pure Python, so it works on every platform; it lands at the next Python instruction. A
    wait inside one C call is the supervisor's to stop (tools/runner.py).
    """
    target = threading.get_ident()
    clock = Clock(seconds, wall if wall is not None else seconds * WALL_FACTOR)
    cpu0, wall0 = time.process_time(), time.monotonic()
    done = threading.Event()

    def measure() -> None:
        clock.cpu, clock.wall = time.process_time() - cpu0, time.monotonic() - wall0

    def watch() -> None:
        while not done.wait(0.05):
            measure()
            if clock.cpu > clock.limit or clock.wall > clock.wall_limit:
                clock.stopped_by = "cpu" if clock.cpu > clock.limit else "wall"
                while not done.is_set():  # again each second: a bare `except` in the loop may swallow one
                    _async_raise(target, TimedOut)
                    done.wait(1.0)
                return

    watcher = threading.Thread(target=watch, daemon=True, name="kata-time-limit")
    watcher.start()
    try:
        yield clock
    finally:
        done.set()
        watcher.join()
        measure()
        if clock.stopped_by:  # a TimedOut set just as the block ended lands here, not in the caller's code
            with contextlib.suppress(TimedOut):
                for _ in range(10_000):  # a loop: an asynchronous exception lands at its jumps
                    pass


def _async_raise(thread: int, error: type[BaseException]) -> None:
    # (Never with NULL to clear one: in CPython 3.11 that leaves the interpreter checking every instruction.)
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread), ctypes.py_object(error))


def kata_of_file(filename: str) -> Kata | None:
    """The kata a source file of the judged package belongs to, or None."""
    path = Path(filename)
    return by_module(path.stem) if path.parent == session().package_dir() else None


@contextlib.contextmanager
def watching(test: Test) -> Iterator[None]:
    """Record which katas' functions run in the block; stop at once a function known to loop forever."""
    files: dict[str, int | None] = {}
    hung = session().hung

    def tracer(frame: Any, event: str, arg: Any) -> None:
        code = frame.f_code
        number = files.get(code.co_filename, -1)
        if number == -1:
            kata = kata_of_file(code.co_filename)
            number = files[code.co_filename] = kata.number if kata else None
        if number is not None and code.co_name != "<module>":
            test.ran.add(number)
            message = hung.get((code.co_filename, code.co_name))
            if message:
                raise Stopped(message)

    with _tracing(tracer):
        yield


def not_watching() -> contextlib.AbstractContextManager[None]:
    """No watching in the block (an import: a module's top level is not the kata's code running)."""
    return _tracing(None)


@contextlib.contextmanager
def _tracing(tracer: Any) -> Iterator[None]:
    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(previous)


# ---------------------------------------------------------------------------------------------
# torch's global settings: every test starts from the same ones, and a kata may not change them


def world() -> dict[str, Any]:
    """The global settings a kata could change behind the tests' back."""
    settings = {
        "default dtype": torch.get_default_dtype(),
        "grad mode": torch.is_grad_enabled(),
        "number of threads": torch.get_num_threads(),
        "deterministic algorithms": torch.are_deterministic_algorithms_enabled(),
    }
    if hasattr(torch, "get_default_device"):
        settings["default device"] = torch.get_default_device()
    return settings


def restore(settings: Mapping[str, Any]) -> None:
    torch.set_default_dtype(settings["default dtype"])
    torch.set_grad_enabled(settings["grad mode"])
    if torch.get_num_threads() != settings["number of threads"]:
        torch.set_num_threads(settings["number of threads"])
    torch.use_deterministic_algorithms(settings["deterministic algorithms"])
    if "default device" in settings:
        torch.set_default_device(settings["default device"])


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """'torch's default dtype to torch.float64' for each setting that differs; '' when none."""
    return "; ".join(f"torch's {key} to {after[key]}" for key in before if before[key] != after[key])


def _check_world(before: Mapping[str, Any], who: str, kata: Kata) -> None:
    changed = changes(before, world())
    if changed:
        restore(before)
        said = cause("any/global-switch")
        raise KataError(
            _frame(kata, f"{who} changed {changed} (it was {_was(before, changed)}) and left it so.{said}"),
            blame=kata.number,
            mistakes=said.ids,
        )


def _was(before: Mapping[str, Any], changed: str) -> str:
    return ", ".join(str(before[key]) for key in before if f"torch's {key} to" in changed)


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
    """Import a kata module and, first, each kata it builds on, checking that none changes torch's settings."""
    track = session().track
    with not_watching():
        session().package()
    for need in [*closure(kata), kata]:
        name = f"{track}.{need.module}"
        stopped = session().hung.get((str(session().package_dir() / f"{need.module}.py"), "<module>"))
        if stopped and need.module not in session().unusable:
            session().unusable[need.module] = stopped
        if name not in sys.modules and need.module not in session().unusable:
            before = world()
            try:
                with not_watching():
                    importlib.import_module(name)
            except TimedOut as error:
                frames = _frames_in_track(error)
                at = f" (stopped at {need.path(track)}:{frames[-1].lineno}: {(frames[-1].line or '').strip()})"
                session().unusable[need.module] = (
                    f"importing {need.path(track)} did not finish within the test's time limit: the code at the "
                    "top level of the file (outside any function) runs on import, and it does not end"
                    + (at if frames else "")
                )
            except Stopped:
                raise
            except BaseException as error:  # SyntaxError, NameError at import time, sys.exit() ...
                crash = _crash(error, f"importing {need.path(track)}", need)
                crash.about_inputs = False
                raise crash from None
            changed = changes(before, world())
            if changed:
                restore(before)
                session().unusable[need.module] = (
                    f"{need.path(track)} changed {changed} when imported: leave global settings alone "
                    "(no torch.set_... calls at the top of the file)"
                )
        if need.module in session().unusable:
            raise KataError(_frame(need, session().unusable[need.module]), blame=need.number, about_inputs=False)
    return sys.modules[f"{track}.{kata.module}"]


def kind(value: Any) -> str:
    """'None', 'a list', 'a Tensor': what a value is, for a sentence."""
    return "None" if value is None else f"a {type(value).__name__}"


def shape_of(value: Any) -> str:
    if isinstance(value, Tensor):
        return "(" + ", ".join(str(s) for s in value.shape) + ("," if value.dim() == 1 else "") + ")"
    if isinstance(value, (bool, int, float)):
        return repr(value)
    return type(value).__name__


def _parameter_names(fn: Callable, count: int) -> list[str]:
    if inspect.isfunction(fn) or inspect.ismethod(fn) or inspect.isclass(fn):
        try:
            names = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            names = []
    else:
        names = ["x"]  # a module called on its input
    return names + [f"arg{i}" for i in range(len(names), count)]


def describe_call(fn: Callable, args: tuple) -> str:
    """'relu_forward(x (2, 3))', 'TwoLayerNet(5, 4, 3)', 'TwoLayerPytorch module(x (3, 6))'."""
    if inspect.isfunction(fn) or inspect.ismethod(fn) or inspect.isclass(fn):
        name = fn.__qualname__
    else:
        name = f"{type(fn).__name__} module"
    names = _parameter_names(fn, len(args))
    parts = []
    for pname, value in zip(names, args):
        if isinstance(value, Tensor):
            parts.append(f"{pname} {shape_of(value)}")
        elif isinstance(value, (bool, int, float)):
            parts.append(repr(value) if inspect.isclass(fn) else f"{pname}={value!r}")
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


def call(fn: Callable, *args: Any, explain: Mapping[str, str | Cause] | None = None) -> Any:
    """Call the learner's fn; NotImplementedError and crashes become KataErrors that say who to blame.

    `explain` maps a regular expression to a likely cause (a mistake's id, or a judge.cause): a crash whose
    message matches it is explained with that cause (before the common torch crashes in COMMON_CRASHES).
    """
    described = describe_call(fn, args)
    state = test()
    state.last_call = described
    before = world()
    shapes = [(i, a, a.shape, a.dtype) for i, a in enumerate(args) if isinstance(a, Tensor)]
    try:
        result = fn(*args)
    except (KataError, TimedOut, Stopped):
        raise
    except NotImplementedError as error:
        raise not_started(error) from None
    except BaseException as error:  # a crash; SystemExit, KeyboardInterrupt and os._exit included
        crash = _crash(error, f"calling {described}", None)
        explained = {**(explain or {}), **COMMON_CRASHES}
        said = as_cause(next((c for pattern, c in explained.items() if re.search(pattern, str(error))), None))
        if said:
            crash = KataError(f"{crash}{said}", blame=crash.blame, mistakes=said.ids)
        raise crash from None
    _check_world(before, described, current())
    for i, arg, shape, dtype in shapes:
        if arg.shape != shape or arg.dtype != dtype:
            name = _parameter_names(fn, len(args))[i]
            raise fail(
                f"{described} changed its input {name} in place: it was {tuple(shape)} {dtype} and is now "
                f"{tuple(arg.shape)} {arg.dtype}. Methods ending in `_` (unsqueeze_, t_, resize_) change the tensor "
                "they are called on: use the plain method, which makes a new tensor, and leave your inputs alone."
            )
    _refuse_subclasses(result, described)
    _remember(result, described)
    return result


PLAIN = (Tensor, torch.nn.Parameter)  # what a tensor from torch operations is (a Parameter is a leaf one)


def _refuse_subclasses(result: Any, described: str) -> None:
    """A tensor subclass can redefine every operation the checks use (comparisons, subtraction): only a plain
    tensor is judged by its numbers."""
    items = result.values() if isinstance(result, dict) else result if isinstance(result, (tuple, list)) else ()
    for value in (result, *items):
        if isinstance(value, Tensor) and type(value) not in PLAIN:
            raise fail(
                f"{described} returned a {type(value).__name__}, a subclass of torch.Tensor, where a plain tensor "
                "belongs: the tests judge plain tensors only. Build your results with torch operations on your "
                "inputs, which give plain tensors."
            )


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
    root = session().package_dir()
    return [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).parent == root]


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


def out_of_memory() -> str:
    """What to say when kata code ran out of memory: the ceiling of the test process when it has one."""
    from tools.runner import out_of_memory as said

    try:
        import resource

        ceiling = resource.getrlimit(resource.RLIMIT_DATA)[0]
    except (ImportError, AttributeError, OSError):
        ceiling = -1
    return said(ceiling / 2**30 if 0 < ceiling < 2**50 else None)


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
    with torch.enable_grad():
        got = tensor(names[0], unpack(call(fn, *leaves, explain=explain), names)[0])
    listed = _listed([n for n, _ in inputs])
    subject = f"{names[0]} from {describe_call(fn, leaves)}"
    if got.grad_fn is None and not any(got is leaf for _, leaf in inputs):
        state = (
            "is a new leaf (it requires grad, but has no grad_fn that leads back to them)"
            if got.requires_grad
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
    dout = torch.randn(got.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64).to(got.dtype)
    with torch.enable_grad():
        grads = torch.autograd.grad(got, [leaf for _, leaf in inputs], grad_outputs=dout, allow_unused=True)
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
