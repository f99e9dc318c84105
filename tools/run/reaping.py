"""Nothing outlives a run: each worker leads a process group of its own, the processes kata code starts end with
it, and a worker whose supervisor is killed ends itself."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tools.judge import processes

# A new session: the worker leads its own process group, which its children join (Windows: a new group).
OWN_GROUP: dict[str, Any] = (
    {"creationflags": 0x200} if os.name == "nt" else {"start_new_session": True}  # 0x200: CREATE_NEW_PROCESS_GROUP
)


class Reaper:
    """The workers of one run, and what they leave behind.

    end(worker) kills the worker's process group (every process kata code started, grandchildren
    included, unless one left the group) and, on Linux, where this process is a child sub-reaper,
    every orphan handed to it since the run began (those that left the group, with setsid, say)."""

    def __init__(self) -> None:
        self.stop = threading.Event()  # set when the run is interrupted: each thread kills its worker
        self.spawned: set[int] = set()
        self.lock = threading.Lock()
        self.before = _children() if _become_subreaper() else None  # None: no sub-reaper here

    def end(self, worker: Any) -> None:
        if worker.poll() is None:
            worker.kill()
        worker.wait()
        if os.name == "nt":  # no process groups to signal: end the tree that is left, by parent ids
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(worker.pid)], capture_output=True, check=False)
        else:
            with contextlib.suppress(OSError):
                os.killpg(worker.pid, signal.SIGKILL)
        self.sweep()

    def sweep(self) -> None:
        """Kill and reap the orphans this process adopted (Linux), until none is left."""
        if self.before is None:
            return
        with self.lock:
            for _ in range(50):  # an orphan killed may hand its own children to us: again
                strays = _children() - self.before - self.spawned
                if not strays:
                    return
                for pid in strays:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                    with contextlib.suppress(OSError):
                        os.waitpid(pid, 0)


def _become_subreaper() -> bool:
    """Linux: orphans of this process's descendants are handed to it, not to init (PR_SET_CHILD_SUBREAPER)."""
    if sys.platform != "linux":
        return False
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _children(of: set[int] | None = None) -> set[int]:
    """The ids of the children of the processes `of` (this one when None): Linux, from /proc."""
    parents, found = of or {os.getpid()}, set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) in parents:  # the parent's id, after the state
            found.add(int(stat.parent.name))
    return found


def _descendants() -> set[int]:
    """This process's children, their children, and so on (Linux)."""
    found: set[int] = set()
    generation = _children()
    while generation - found:
        found |= generation
        generation = _children(generation)
    return found


def confine(folder: Path) -> None:
    """In a worker: lead a process group of its own, cap its memory, and end (with all it started, and its
    supervisor's temporary folder) when its supervisor is gone."""
    if os.name == "nt":
        return
    processes.keep_private()
    with contextlib.suppress(OSError):  # already a leader when started with start_new_session
        os.setsid()
    try:
        import resource

        ceiling = processes.MEMORY_GB * 2**30
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        if hard == resource.RLIM_INFINITY or hard > ceiling:
            resource.setrlimit(resource.RLIMIT_DATA, (ceiling, hard))
    except (ImportError, ValueError, OSError, AttributeError):
        pass
    parent = os.getppid()
    adopts = _become_subreaper()  # what kata code starts stays below this worker, whatever it does

    def orphaned() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        shutil.rmtree(folder.parent, ignore_errors=True)
        for pid in _descendants() if adopts else ():  # those that left the group too
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        os.killpg(0, signal.SIGKILL)

    threading.Thread(target=orphaned, daemon=True, name="kata-orphaned").start()
