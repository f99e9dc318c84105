"""Time limits, and torch's global settings: what the judge and the kata process both need.

A time limit counts processor time (an endless loop) and clock time (a wait): a watcher thread
sets an asynchronous exception, TimedOut, in the thread it guards, so it works on every platform
and lands at the next Python instruction. A wait inside one C call is stopped from outside (the
kata process arms faulthandler; the supervisor, tools/run/, kills a worker).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
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


@dataclass(eq=False)
class _Guarded:
    """One block under a time limit, as the watcher sees it."""

    thread: int
    clock: Clock
    cpu0: float
    wall0: float
    paused0: float
    raised: float = 0.0  # when TimedOut was last set in its thread (monotonic), 0 if never

    def measure(self) -> None:
        clock = self.clock
        clock.paused = _paused_for(self.thread) - self.paused0
        clock.cpu, clock.wall = time.process_time() - self.cpu0, time.monotonic() - self.wall0 - clock.paused


class _Watcher:
    """One thread per process that watches every block under a time limit, started with the first and kept:
    a thread started per call cost more than the katas' small calls themselves (0.2 ms each)."""

    PERIOD = 0.05  # seconds between two looks at the clocks

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Condition()  # (waited on with a timeout, never notified)
        self.blocks: list[_Guarded] = []
        self.thread = threading.Thread(target=self.run, daemon=True, name="kata-time-limit")
        self.thread.start()

    def arm(self, block: _Guarded) -> None:
        with self.lock:  # (not woken: the watcher looks every PERIOD, and waking it costs a small call's time)
            self.blocks.append(block)

    def disarm(self, block: _Guarded) -> None:
        """After this returns the watcher sets no more TimedOut for the block (one already set may be pending)."""
        while True:
            try:
                with self.lock:
                    if block in self.blocks:
                        self.blocks.remove(block)
                return
            except TimedOut:  # landed here, as the block ended: it is counted by the caller's stopped_by
                continue

    def run(self) -> None:
        while True:
            with self.lock:
                self.lock.wait(self.PERIOD)
                now = time.monotonic()
                for block in self.blocks:
                    block.measure()
                    clock = block.clock
                    if not clock.stopped_by and (clock.cpu > clock.limit or clock.wall > clock.wall_limit):
                        clock.stopped_by = "cpu" if clock.cpu > clock.limit else "wall"
                    if clock.stopped_by and now - block.raised >= 1.0:  # again each second: a bare `except` may
                        block.raised = now  # swallow one
                        _async_raise(block.thread, TimedOut)


_watchers: dict[int, _Watcher] = {}  # process id -> its watcher (a forked process starts its own)


def others_threads() -> int:
    """Threads running beside this process's main thread and its time-limit watcher: kata code's, in the kata
    process (started with the threading module; one that outlives its test may leave the process unable to answer)."""
    own = {threading.main_thread(), *(w.thread for w in _watchers.values())}
    return sum(1 for t in threading.enumerate() if t not in own)


def _watcher() -> _Watcher:
    found = _watchers.get(os.getpid())
    if found is None or not found.thread.is_alive():
        _watchers.clear()
        found = _watchers[os.getpid()] = _Watcher()
    return found


@contextlib.contextmanager
def time_limit(seconds: float, wall: float | None = None) -> Iterator[Clock]:
    """Raise TimedOut in this thread once the block has used `seconds` of processor time (an endless loop,
    say), or has run `wall` seconds on the clock (WALL_FACTOR times `seconds` unless given: a wait).

    Processor time is the process's own: what other programs on a busy machine take is not counted, so a
    correct kata is judged the same on a loaded computer.
    """
    target = threading.get_ident()
    clock = Clock(seconds, wall if wall is not None else seconds * WALL_FACTOR)
    block = _Guarded(target, clock, time.process_time(), time.monotonic(), _paused_for(target))
    watcher = _watcher()
    watcher.arm(block)
    try:
        yield clock
    finally:
        watcher.disarm(block)
        block.measure()
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
        settings["default device"] = _default_device()
    return settings


_CPU = torch.device("cpu")


def _default_device() -> torch.device:
    """torch.get_default_device(), without its look through the stack of modes when there is none (the usual case:
    it runs twice at every request; set_default_device enters a mode)."""
    no_mode = getattr(torch._C, "_len_torch_function_stack", None)
    context = getattr(getattr(torch, "_GLOBAL_DEVICE_CONTEXT", None), "device_context", None)
    if no_mode is not None and no_mode() == 0 and context is None:
        return _CPU
    return torch.get_default_device()


def restore(settings: Mapping[str, Any]) -> None:
    """Put back the settings that differ, and only those: setting torch's default device, even to the one it
    has, leaves a mode that routes every later torch call through Python (slower, and seen by a tracer)."""
    now = world()
    if now["default dtype"] != settings["default dtype"]:
        torch.set_default_dtype(settings["default dtype"])
    if now["grad mode"] != settings["grad mode"]:
        torch.set_grad_enabled(settings["grad mode"])
    if now["number of threads"] != settings["number of threads"]:
        torch.set_num_threads(settings["number of threads"])
    if now["deterministic algorithms"] != settings["deterministic algorithms"]:
        torch.use_deterministic_algorithms(settings["deterministic algorithms"])
    if "default device" in settings and now.get("default device") != settings["default device"]:
        cpu = settings["default device"] == torch.device("cpu")
        torch.set_default_device(None if cpu else settings["default device"])


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """'torch's default dtype to torch.float64' for each setting that differs; '' when none."""
    return "; ".join(f"torch's {key} to {after[key]}" for key in before if before[key] != after[key])


def was(before: Mapping[str, Any], changed: str) -> str:
    """The values before of the settings named in changes()' text."""
    return ", ".join(str(before[key]) for key in before if f"torch's {key} to" in changed)
