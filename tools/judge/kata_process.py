"""The kata process's life: seal itself off from the judge's process, then serve the judge's requests through
a Sandbox until the connection closes.

Sealing off: its input is empty, its output goes to files of its own (handed to the judge with each answer),
it closes every descriptor it inherited but the connection (the supervisor's events file included), signals
the judge's processes ignore get their defaults back, a crash or the judge's SIGUSR1 leaves a traceback, and
os._exit becomes an exception in this process (a process kata code forks ends as it asks).
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch

from tools.judge import limits, rebuilt, references, wire
from tools.judge.processes import IGNORED
from tools.judge.sandbox import Config, Sandbox, preload


def main(conn: Any, config: Config) -> None:
    """The kata process's life: seal itself off, then serve the judge until the connection closes."""
    keep = conn.fileno()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the supervisor's to handle
    for name in IGNORED:  # ignored by the judge's processes, not by kata code: it gets the defaults
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    captures = [tempfile.TemporaryFile(), tempfile.TemporaryFile()]  # noqa: SIM115
    for fd, capture in zip((1, 2), captures):
        os.dup2(capture.fileno(), fd)
    dump = open(config.dump, "w", encoding="utf-8")  # noqa: SIM115
    kept = {0, 1, 2, keep, dump.fileno(), *(c.fileno() for c in captures)}
    for fd in _open_descriptors():
        if fd not in kept:
            with contextlib.suppress(OSError):
                os.close(fd)
    sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)  # noqa: SIM115
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    # A crash leaves its traceback; so does the judge's SIGUSR1 before it ends a process stuck inside one C call.
    # (Not dump_traceback_later: a watchdog the parent had running when it forked would deadlock it here.)
    faulthandler.enable(file=dump)
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, file=dump, all_threads=False)
    limits.single_threaded()
    preload()  # (forked: already done by the judge)
    real_exit = os._exit

    def refuse(status: int) -> None:
        if os.getpid() != me:  # a process forked by kata code ends as it asks
            real_exit(status)
        raise limits.ProgramExit(f"os._exit({status})")

    me = os.getpid()
    os._exit = refuse  # type: ignore[assignment]
    sandbox = Sandbox(config, output=[(c, 0) for c in captures])
    sandbox.baseline = {**limits.world(), "default dtype": torch.float32, "grad mode": True}
    sandbox.rng = torch.get_rng_state().numpy().tobytes()

    def unreported(error: BaseException | None, where: str) -> None:
        """An error no caller saw, when kata code raised it (not a file of the worker's, closed above, freed)."""
        if error is None or isinstance(error, SystemExit):
            return
        record = wire.error_record(error)
        if any(Path(frame[0]).parent == sandbox.package_dir for frame in record["frames"]):
            sandbox.unreported.append({**record, "unreported": where})

    def unraisable(what: Any) -> None:
        unreported(what.exc_value, "del")

    def in_thread(what: Any) -> None:
        unreported(what.exc_value, "thread")

    sys.unraisablehook, threading.excepthook = unraisable, in_thread
    os.register_at_fork(after_in_parent=lambda: setattr(sandbox, "forked", True))
    ops: dict[str, Callable[..., Any]] = {
        "begin": sandbox.begin,
        "load": sandbox.load,
        "attribute": sandbox.attribute,
        "probe": sandbox.probe,
        "call_and_probe": sandbox.call_and_probe,
        "stand_in": sandbox.stand_in,
        "nudged": lambda bridge, fn, args, wrt, h: references.nudged(fn, args, wrt, float(h)),
    }
    bridge = _KataBridge(conn, "k", live=False, ops={k: _op(f) for k, f in ops.items()}, guard=sandbox.guard)
    bridge.on_context, bridge.report = partial(sandbox.on_context, bridge), sandbox.report
    with contextlib.suppress(wire.Gone, wire.Refused, KeyboardInterrupt):
        bridge.serve_forever()
    real_exit(0)


class _KataBridge(wire.Bridge):
    """The kata process's end. An error the judge raised while serving kata code (a KeyError from a dict of the
    judge's spy net) reaches kata code as an exception of its own kind, not as the wire's RemoteError: kata code's
    `except KeyError` catches it, and the verdict names it."""

    def request(self, op: str, *args: Any) -> Any:
        try:
            return super().request(op, *args)
        except wire.RemoteError as error:
            raise rebuilt.of_kind(error.record, Exception) from None


def _op(method: Callable[..., Any]) -> Callable[..., Any]:
    return lambda bridge, *args: method(bridge, *args)


def _open_descriptors() -> list[int]:
    for folder in ("/proc/self/fd", "/dev/fd"):
        with contextlib.suppress(OSError):
            return [int(name) for name in os.listdir(folder)]
    return list(range(3, 256))
