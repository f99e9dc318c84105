"""The judge's end of the kata process: start it, ask it to load and call, and restart it when it dies.

The learner's code never runs in the process that holds pytest, the tests and the judge. The
kata process (tools/judge/sandbox.py) is started before pytest collects a test: forked on Linux
(a few milliseconds; the worker has imported torch and never a kata or a test's values), a
fresh interpreter elsewhere. What comes back is plain data (tools/judge/wire.py): an error as its
class's name, message and frames, rebuilt here as an exception of the same name and kind
(tools/judge/rebuilt.py), so the judge's sentences about crashes read as they did.

While the judge waits for an answer its own time limit pauses (the kata process keeps the test's
limit itself), and it watches the kata process: a process that ends, or holds more memory than a
worker may, fails the call at once with what happened, and a new kata process starts with the
next test.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import re
import select
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from tools.judge import kata_process, limits, processes, sandbox, wire
from tools.judge.rebuilt import rebuild

CAN_FORK = sys.platform == "linux"  # macOS: fork after importing torch is unsafe; Windows: no fork
GRACE = 1.5  # seconds past the test's clock limit before the judge ends a kata process stuck in one C call
STARTUP = 120.0  # seconds a kata process may take to answer its first request of a test (a new one, a busy machine)
FRAME = re.compile(r'File "(?P<file>.+)", line (?P<line>\d+) in (?P<function>\S+)')


class Ended(Exception):
    """The kata process ended (or was ended) while it ran a call: how, and where, from its last traceback."""

    def __init__(
        self, how: str, frames: list[traceback.FrameSummary], timed_out: bool, over_memory: bool, paused: bool = False
    ) -> None:
        super().__init__(how)
        self.how, self.frames, self.timed_out, self.over_memory = how, frames, timed_out, over_memory
        self.paused = paused


class _JudgeBridge(wire.Bridge):
    """The judge's end: every wait watches the kata process, and an error of its arrives rebuilt."""

    client: Client

    def request(self, op: str, *args: Any) -> Any:
        if not self.client.alive():
            raise Ended("it had ended, or could not start, before this call", [], False, False)
        try:
            with limits.paused():
                return super().request(op, *args)
        except wire.RemoteError as error:
            raise rebuild(error.record) from None
        except wire.Gone:
            raise self.client.ended() from None
        except wire.Refused as error:
            self.client.stop()
            raise Ended(f"it sent what the judge does not accept ({error})", [], False, False) from None
        except BaseException:  # interrupted while the kata process was mid-answer: it cannot be trusted again
            self.client.stop()
            raise

    def receive(self) -> tuple:
        self.client.watch()
        return super().receive()


class Client:
    """The kata process of this pytest run, seen from the judge."""

    def __init__(self, track: str, root: Path, folder: Path | None, memory_gb: float = processes.MEMORY_GB) -> None:
        self.track, self.root = track, root
        self.memory_gb = memory_gb  # what it may hold: the supervisor's ceiling for a worker
        self.folder = folder or Path(tempfile.mkdtemp(prefix="kata-sealed-"))
        self.process: Any = None
        self.bridge: _JudgeBridge | None = None
        self._ready: Callable[[float], bool] = lambda seconds: True  # something to read within seconds (start)
        atexit.register(self.close)  # before multiprocessing's own handler, which would wait for it (LIFO)
        self.launches = 0
        self.ran: set[int] = set()
        self.world_change: list[str] = []
        self.rng = b""
        self.over_memory = self.timed_out = False
        self.paused_by: int | None = None  # the signal that paused the kata process, which was then ended
        self.limit, self.used = 10.0, 0.0  # the test's limit, and the clock seconds kata code has used of it
        self.starting = False  # answering a new test's first request: no test limit yet
        self.fresh = False  # started and not yet asked anything: a new test's start is a request of its own
        self.threads = False  # kata code's threads still ran at the last answer: so is the next test's start
        self.pending: list | None = None  # a new test's start, said with its first request (context)
        self.warnings: list[tuple[str, str, str, int]] = []  # the test's warnings: category, message, file, line
        self.attributes: dict[tuple[str, str], Any] = {}  # (module, name) -> a kata's function or class, this test

    # -- the process --------------------------------------------------------------------------

    def start(self) -> None:
        context: Any = multiprocessing.get_context("fork" if CAN_FORK else "spawn")
        if CAN_FORK:
            sandbox.preload()  # once here, and every kata process forked from this one has it
        mine, theirs = context.Pipe()
        self.dump = self.folder / f"kata-dump-{self.launches}.txt"
        self.launches += 1
        config = sandbox.Config(self.track, str(self.root), str(self.dump))
        process = context.Process(target=kata_process.main, args=(theirs, config), name="kata", daemon=False)
        sys.stdout.flush()
        sys.stderr.flush()
        process.start()
        theirs.close()
        self.process, self.over_memory, self.timed_out, self.paused_by = process, False, False, None
        self._ready = _readiness(mine)
        bridge = _JudgeBridge(mine, "j", live=True)
        bridge.client = self
        bridge.context, bridge.on_report = self.context, self.on_report
        self.bridge = bridge
        self.rng = b""
        self.attributes.clear()  # handles of the process that ended
        self.fresh, self.pending, self.threads = True, None, False

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def stop(self, wait: bool = True) -> None:
        if self.process is not None:
            with contextlib.suppress(Exception):
                self.process.kill()
                if wait:
                    _reap(self.process, 5)
            if self.bridge is not None:
                with contextlib.suppress(Exception):
                    self.bridge.conn.close()

    def close(self, wait: bool = True) -> None:
        """End the kata process. wait=False: kill it and go on, unreaped (a worker about to exit: a process as big
        as torch takes 20-30 ms to end, and the supervisor, which adopts it, reaps it beside the worker's end)."""
        self.stop(wait)
        self.process = None

    def watch(self) -> None:
        """Wait until the kata process says something. End it if it holds too much memory, or if it outlives the
        test's clock limit by GRACE seconds (a wait inside one C call, where its own limit cannot reach):
        first SIGUSR1, on which faulthandler writes where it was."""
        assert self.bridge is not None
        allowed = STARTUP if self.starting else max(self.limit * limits.WALL_FACTOR - self.used, 0.1) + GRACE
        deadline = time.monotonic() + allowed
        while not self._ready(0.1):
            if not self.process.is_alive():
                return  # the read that follows finds the connection closed
            stopped = _stopped_by(self.process.pid)
            if stopped is not None:  # kata code paused its own process: it would never answer
                self.paused_by = stopped
                self.process.kill()
            elif _resident(self.process.pid) > self.memory_gb:
                self.over_memory = True
                self.process.kill()
            elif time.monotonic() > deadline and not self.timed_out:
                self.timed_out = True
                _signal(self.process.pid, "SIGUSR1")
                _reap(self.process, 1.0)
                self.process.kill()

    def ended(self) -> Ended:
        """How the kata process ended, and where, from faulthandler's last traceback."""
        _reap(self.process, 5)
        closed = self.process.is_alive()  # alive, but its end of the connection is closed: it cannot answer
        if closed:
            self.process.kill()
            _reap(self.process, 5)
        code = self.process.exitcode
        dump = self.dump.read_text(encoding="utf-8", errors="replace") if self.dump.exists() else ""
        found = [m.groupdict() for m in FRAME.finditer(dump)]  # innermost first
        frames = [
            traceback.FrameSummary(f["file"], int(f["line"]), f["function"], line=_source(f["file"], int(f["line"])))
            for f in reversed(found)
        ]
        if self.over_memory:
            how = f"it held more than {self.memory_gb:g} GB of memory"
        elif self.paused_by is not None:
            how = f"stopped by signal {_signal_name(self.paused_by)}"
        elif closed:
            how = "it closed its connection to the judge, and was ended"
        elif code is not None and code < 0:
            how = f"killed by signal {_signal_name(-code)}"
        else:
            how = f"exit code {code}"
        return Ended(how, frames, self.timed_out, self.over_memory, paused=self.paused_by is not None)

    # -- what crosses beside each request and answer -------------------------------------------

    def context(self) -> dict[str, Any]:
        said: dict[str, Any] = {"grad": torch.is_grad_enabled()}
        if self.pending is not None:
            said["begin"], self.pending = self.pending, None
        state = torch.get_rng_state().numpy().tobytes()
        if state != self.rng:
            said["rng"] = self.rng = state
        return said

    def on_report(self, said: dict[str, Any]) -> None:
        self.threads = type(said.get("threads")) is int
        ran = said.get("ran")
        if isinstance(ran, list):
            self.ran.update(n for n in ran if type(n) is int)
        rng = said.get("rng")
        if type(rng) is bytes and rng:
            torch.set_rng_state(torch.frombuffer(bytearray(rng), dtype=torch.uint8))
            self.rng = rng
        for name, stream in (("out", sys.stdout), ("err", sys.stderr)):
            if type(said.get(name)) is str:
                stream.write(said[name])
        used = said.get("used")
        if isinstance(used, list) and len(used) == 2:
            self.used = float(used[1])
        warned = said.get("warnings")
        for w in warned if type(warned) is list else ():
            plain = type(w) is list and len(w) == 4 and all(type(v) is str for v in w[:3]) and type(w[3]) is int
            if plain and tuple(w) not in self.warnings:
                self.warnings.append((w[0], w[1], w[2], w[3]))
        world = said.get("world")
        if isinstance(world, list) and len(world) == 2:
            self.world_change[:] = [str(w) for w in world]

    # -- what the judge asks ------------------------------------------------------------------------

    def begin(self, limit: float, hung: dict[tuple[str, str], str], ran: set[int]) -> None:
        """A new test: a kata process that is alive (a new one if the last ended), and a clean slate on both
        sides. `ran` is the test's record of which katas' code ran. A kata process that has answered before hears
        of the new test with the test's first request (no message of its own: 61 fewer a submission). A new one
        is asked at once, with time to start (a fresh interpreter, off Linux, imports torch first); so is one
        where kata code's threads still ran (one may keep it from answering: it is then replaced, and the test
        runs on a new one)."""
        self.ran, self.world_change[:], self.warnings = ran, [], []
        self.attributes.clear()
        for attempt in (1, 2):  # a kata process that ended, or does not answer, is replaced once more
            if not self.alive():
                self.stop()
                self.start()
            assert self.bridge is not None
            self.bridge.reset()
            self.limit, self.used = limit, 0.0
            told = [limit, [[f, fn, m] for (f, fn), m in hung.items()]]
            if not self.fresh and not self.threads:
                self.pending = told
                return
            self.starting = True
            try:
                self.bridge.request("begin", *told)
                self.fresh = False
                return
            except Ended:
                if attempt == 2:
                    raise
            finally:
                self.starting = False

    def load(self, module: str, name: str | None = None) -> Any:
        """A kata module (imported in the kata process with each kata it builds on), or its attribute `name`: one
        request. A function or class is remembered until the test ends (its handle lives that long): a test
        calls the same few functions hundreds of times."""
        assert self.bridge is not None
        if name is None:
            return self.bridge.request("load", module)
        known = self.attributes.get((module, name))
        if known is None:
            known = self.bridge.request("attribute", module, name)
            if is_remote(known) and known._meta.get("kind") in ("function", "class"):
                self.attributes[(module, name)] = known
        return known

    def probe(self, fn: Any, leaves: tuple, others: list) -> dict[str, Any]:
        assert self.bridge is not None
        with torch.enable_grad():
            return self.bridge.request("probe", fn, list(leaves), others)

    def call_and_probe(self, fn: Any, args: tuple, leaves: tuple) -> tuple[Any, Any]:
        """fn(*args), then the probe of fn on leaves, in one request: (the result, the probe's answer, or its error
        rebuilt). An error of the call itself is raised, as a call's."""
        assert self.bridge is not None
        found = self.bridge.request("call_and_probe", fn, list(args), list(leaves))
        if type(found) is not list or len(found) != 2 or type(found[1]) is not dict:
            self.stop()
            raise Ended("it sent what the judge does not accept (a call and probe of the wrong form)", [], False, False)
        result, answer = found
        error = answer.get("error")
        return result, rebuild(error) if type(error) is dict else answer

    def nudged(self, fn: Any, args: tuple, wrt: Any, h: float) -> list:
        assert self.bridge is not None
        return self.bridge.request("nudged", fn, list(args), wrt, h)

    def stand_in(self, name: str, *args: Any) -> Any:
        assert self.bridge is not None
        return self.bridge.request("stand_in", name, list(args))

    def take_world_change(self) -> list[str]:
        found, self.world_change[:] = self.world_change[:], []
        return found


def _readiness(conn: Any) -> Callable[[float], bool]:
    """Whether the connection has something to read within t seconds: one poll object for the connection's life
    where there is poll (Connection.poll builds a selector at every call, a tenth of a small request's cost)."""
    if not hasattr(select, "poll"):  # Windows
        return conn.poll
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN | select.POLLPRI)
    return lambda t: bool(poller.poll(t * 1000))


def _reap(process: Any, seconds: float) -> None:
    """Wait at most seconds for the process to end, and reap it. (Not Process.join: its sentinel is a pipe the
    kata process closes at once, with every descriptor it inherits, so join would think it ended and block.)"""
    end, nap = time.monotonic() + seconds, 0.001
    while process.is_alive() and time.monotonic() < end:
        time.sleep(nap)  # a process killed ends within a millisecond or two: look again soon, then less often
        nap = min(2 * nap, 0.02)


def _source(filename: str, line: int) -> str:
    import linecache

    return linecache.getline(filename, line).strip()


def _signal(pid: int, name: str) -> None:
    import signal

    if hasattr(signal, name):
        with contextlib.suppress(OSError):
            os.kill(pid, getattr(signal, name))


_resident, _stopped_by, _signal_name = processes.resident, processes.stopped_by, processes.signal_name


def is_remote(value: Any) -> bool:
    return isinstance(value, wire.Proxy)
