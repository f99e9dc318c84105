"""What the judge's processes read of the processes that run kata code, and the signals they ignore.

Torch-free: the supervisor (tools/run/) reads its workers so, and the judge (tools/judge/sealed.py)
its kata process.
"""

from __future__ import annotations

import os
import signal
import sys

# Signals whose default would end a judging process without a word, and which nobody sends it but kata code
# (os.kill(os.getppid(), ...)): ignored by the supervisor and the worker, set back to the defaults for kata code.
IGNORED = ("SIGUSR1", "SIGUSR2", "SIGALRM", "SIGVTALRM", "SIGPROF")

MEMORY_GB = 4  # a worker's or a kata process's ceiling: what it allocates (RLIMIT_DATA) and holds (Linux)


def resident(pid: int) -> float:
    """The process's resident memory in GB, shared pages included (Linux; 0 where it cannot be read)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0


def stopped_by(pid: int) -> int | None:
    """The signal that paused the process (SIGSTOP, SIGTSTP...), or None while it runs (or ended, or the OS
    cannot tell). The process stays as it was: waitid only looks (WNOWAIT)."""
    if not hasattr(os, "waitid"):  # Windows
        return None
    try:
        info = os.waitid(os.P_PID, pid, os.WSTOPPED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return None
    return info.si_status if info is not None and info.si_code == os.CLD_STOPPED else None


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def keep_private() -> None:
    """Linux: other processes of the same user (kata code among them) may no longer open this process's files
    through /proc/PID/fd, nor trace it (PR_SET_DUMPABLE 0). Root still can; elsewhere nothing changes."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    except (OSError, AttributeError):
        pass
