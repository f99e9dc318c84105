"""Follow one worker: start it (forked or fresh), read its events as they come, and kill it past its deadline."""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from tools import record
from tools.judge import processes
from tools.manifest import ROOT
from tools.record import Outcome
from tools.run.reaping import OWN_GROUP, Reaper
from tools.run.warm import Forked
from tools.settings import GRACE


@dataclass
class Watch:
    """What the supervisor knows of one worker from its events."""

    job: int = 0
    test: str | None = None
    kata: int | None = None
    since: float = 0.0  # when the test running now started
    deadline: float | None = None
    done_jobs: int = -1
    collected: dict[int, list[str]] = field(default_factory=dict)
    started: bool = False  # pytest began collecting
    refused: int | None = None  # pytest's exit code when it could not run (usage or internal error)
    stopped_by: int | None = None  # the signal that stopped (paused) the worker, which was then ended
    over_memory: bool = False  # it held more than processes.MEMORY_GB in memory, and was ended


def watch_worker(
    folder: Path,
    first: int,
    count: int,
    results: list[list[Outcome]],
    hung: list[dict],
    live: bool,
    fork: bool,
    reaper: Reaper,
) -> tuple[Watch, int | None, bool]:
    """Run one worker from job `first` on, following its events; kill it past a deadline. Whatever it started
    ends with it (reaper.end)."""
    command = [sys.executable, "-m", "tools.runner", "--worker", str(folder / "spec.json")]
    # The events file is opened before the worker starts (see _tail).
    with open(folder / "stderr.txt", "wb") as stderr, open(folder / "events.jsonl", "a+b") as channel:
        process: Any
        if fork:
            process = Forked(folder / "spec.json", None if live else stderr)
        else:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                stdout=_descriptor(1) if live else subprocess.DEVNULL,
                stderr=_descriptor(2) if live else stderr,
                **OWN_GROUP,
            )
        reaper.spawned.add(process.pid)
        try:
            return _follow(process, _tail(channel), first, count, results, hung, reaper)
        finally:
            reaper.end(process)


def _follow(
    process: Any,
    events: Callable[[], list[dict]],
    first: int,
    count: int,
    results: list[list[Outcome]],
    hung: list[dict],
    reaper: Reaper,
) -> tuple[Watch, int | None, bool]:
    """Follow one worker's events until it ends, or kill it past its deadline (or when the run stops). On any
    exit, Ctrl-C included, the caller's reaper.end kills the worker and what it started."""
    watch, killed, finished, looked = Watch(job=first), False, None, 0.0
    with _ending(process.pid) as nap:  # a wait that ends as the worker does
        while True:
            if reaper.stop.is_set():
                raise KeyboardInterrupt("the run was stopped")
            exited = process.poll() is not None
            for event in events():
                _handle(watch, event, results, hung)
            if exited:
                break
            watch.stopped_by = processes.stopped_by(process.pid)
            if time.time() >= looked + 0.25:  # RLIMIT_DATA misses shared memory (mmap): what it holds counts too
                looked = time.time()
                watch.over_memory = processes.resident(process.pid) > processes.MEMORY_GB
            if watch.stopped_by is not None or watch.over_memory:  # paused (SIGSTOP...) or too big: end it now
                process.kill()
                process.wait()
                break
            if watch.done_jobs == count - 1 and finished is None:  # done: it has GRACE seconds to exit
                finished = time.time()
            deadline = watch.deadline if finished is None else finished
            if deadline is not None and time.time() > deadline + GRACE:
                process.kill()
                process.wait()
                killed = True
                for event in events():
                    _handle(watch, event, results, hung)
                break
            nap(0.03)
    return watch, process.returncode, killed


@contextlib.contextmanager
def _ending(pid: int) -> Iterator[Callable[[float], None]]:
    """A nap of at most t seconds that ends as soon as the process ends (Linux: a pidfd; elsewhere a sleep), so
    that a verdict is read the moment the worker exits, not up to 30 ms later."""
    try:
        fd = os.pidfd_open(pid)  # type: ignore[attr-defined]
    except (AttributeError, OSError):  # not Linux 5.3+, or no such process
        yield time.sleep
        return
    try:
        yield lambda t: select.select([fd], [], [], t) and None
    finally:
        os.close(fd)


def _descriptor(fd: int) -> int | None:
    """Hand a live worker this process's descriptor `fd` itself, not only what it inherits: on Windows a
    child inherits the process's standard handles, which a descriptor redirected with os.dup2 (as check(N)
    does in a notebook) does not change. None when there is no such descriptor (pythonw)."""
    try:
        os.fstat(fd)
    except OSError:
        return None
    return fd


def _tail(channel: BinaryIO) -> Callable[[], list[dict]]:
    """A function returning the events appended to the open file since its last call. Both ends hold the
    file open from before kata code runs, so code that removes the run's folder does not cut the channel."""
    position = 0

    def new() -> list[dict]:
        nonlocal position
        channel.seek(position)  # bytes: positions stay exact whatever the platform's line ends
        data = channel.read()
        complete = data[: data.rfind(b"\n") + 1]
        position += len(complete)
        return [json.loads(line) for line in complete.decode("utf-8").splitlines() if line.strip()]

    return new


def _handle(watch: Watch, event: dict, results: list[list[Outcome]], hung: list[dict]) -> None:
    kind = event["event"]
    if kind == "job":
        watch.job = event["job"]
    elif kind == "collected":
        watch.collected[watch.job] = event["tests"]
        watch.started = True
    elif kind == "start":
        watch.test, watch.kata, watch.deadline, watch.since = event["test"], event["kata"], None, event["time"]
    elif kind == "deadline":
        watch.deadline = event["at"]
    elif kind == "hung":
        hung.append({k: event.get(k, "") for k in ("file", "function", "message", "package")})
    elif kind == "end":
        results[watch.job].append(record.read(event["outcome"]))
        watch.test, watch.deadline = None, None
    elif kind == "job-done":
        watch.done_jobs = event["job"]
        if event["code"] in (3, 4):  # pytest's INTERNAL_ERROR and USAGE_ERROR
            watch.refused = event["code"]
