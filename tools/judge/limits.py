"""Time limits, and torch's global settings: what the judge and the kata process both need.

A time limit counts processor time (an endless loop) and clock time (a wait): a watcher thread
sets an asynchronous exception, TimedOut, in the thread it guards, so it works on every platform
and lands at the next Python instruction. A wait inside one C call is stopped from outside (the
kata process arms faulthandler; tools/runner.py kills a worker).
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch

WALL_FACTOR = 2.0  # a limit on the clock, as a multiple of the limit in processor time


class TimedOut(BaseException):
    """Raised inside code that ran past its time limit; a BaseException so `except Exception` cannot swallow it."""


class Stopped(BaseException):
    """Raised on entry to a function that already ran past the time limit in this session."""


class ProgramExit(BaseException):
    """Raised instead of ending the process when a kata calls os._exit."""


def single_threaded() -> None:
    """One torch thread for kata code, in every process that runs it. The katas' tensors are tiny: on a busy
    machine torch's one thread per core wait on each other (the digits training took 15.5 s with 2 threads
    against 0.84 s with 1, beside the same load), and a process must not have started a thread pool before
    it forks."""
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
    paused: float = 0.0  # clock seconds not counted (the judge waiting for the kata process)

    @property
    def computing(self) -> bool:
        """Whether the block was computing when it was stopped (not waiting: a sleep, input(), a lock)."""
        return self.stopped_by == "cpu" or self.cpu >= self.limit / 2


_pauses: dict[int, float] = {}  # thread -> when its current pause began
_paused: dict[int, float] = {}  # thread -> clock seconds of its finished pauses


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """A block whose clock time the current thread's time limit does not count (waiting for another process,
    which keeps its own limits)."""
    me = threading.get_ident()
    if me in _pauses:  # already paused
        yield
        return
    _pauses[me] = time.monotonic()
    try:
        yield
    finally:
        _paused[me] = _paused.get(me, 0.0) + time.monotonic() - _pauses.pop(me)


def _paused_for(thread: int) -> float:
    began = _pauses.get(thread)
    return _paused.get(thread, 0.0) + (time.monotonic() - began if began is not None else 0.0)


@contextlib.contextmanager
def time_limit(seconds: float, wall: float | None = None) -> Iterator[Clock]:
    """Raise TimedOut in this thread once the block has used `seconds` of processor time (an endless loop,
    say), or has run `wall` seconds on the clock (WALL_FACTOR times `seconds` unless given: a wait).

    Processor time is the process's own: what other programs on a busy machine take is not counted, so a
    correct kata is judged the same on a loaded computer.
    """
    target = threading.get_ident()
    clock = Clock(seconds, wall if wall is not None else seconds * WALL_FACTOR)
    cpu0, wall0 = time.process_time(), time.monotonic()
    done = threading.Event()
    paused0 = _paused_for(target)

    def measure() -> None:
        clock.paused = _paused_for(target) - paused0
        clock.cpu, clock.wall = time.process_time() - cpu0, time.monotonic() - wall0 - clock.paused

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


def was(before: Mapping[str, Any], changed: str) -> str:
    """The values before of the settings named in changes()' text."""
    return ", ".join(str(before[key]) for key in before if f"torch's {key} to" in changed)
