"""The one runner: every nox session that judges kata code runs pytest under this supervisor.

The learner's code is untrusted: it may loop forever inside one C call, end the process, or crash
it. So pytest runs in a worker process, `python -m tools.runner --worker SPEC`, and tests/plugin.py
reports to this supervisor, as JSON lines, when each test starts and ends, its verdict, and the
deadline of the block running now. When a deadline passes by more than GRACE seconds the worker is
killed; when the worker ends before its last test (os._exit, a crash, a kill), the test it was
running fails, blamed on the kata whose code was running (from the traceback faulthandler dumped),
and a new worker goes on with the tests that are left. A function that ran past its time limit is
not run again in the same session: its later calls fail at once with the same message.

    python -m tools.runner [--track katas|solutions] [--remember] [pytest arguments]

(`nox -s kata-N` runs `--track katas --remember tests/test_<kata>.py`: --remember keeps the verdict of a
run of whole katas for `nox -s progress`, tools/verdicts.py.)

`run(jobs)` is the same for tools: progress, stubs and bugzoo. A Job is some kata test files
against one tree; `workers` processes share the jobs, each importing torch once and calling
pytest.main job after job.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from tools import record, seal
from tools.cli import Parser
from tools.judge import processes, said
from tools.manifest import ROOT, Kata, by_module, by_number, command, kata_of_test, katas
from tools.record import Outcome

GRACE = 3.0  # seconds past a block's deadline before the worker is killed from outside
FORGET = ("katas", "solutions", "tests", "conftest")  # modules a job imports from its tree or tests/


@dataclass(frozen=True)
class Job:
    """Some kata test files (or any pytest arguments) judged against one tree."""

    args: tuple[str, ...]
    track: str = "katas"
    root: Path | None = None  # a folder holding another `katas` package (KATA_ROOT)

    @classmethod
    def of(cls, chosen: Sequence[Kata], track: str = "katas", root: Path | None = None) -> Job:
        return cls(tuple(k.test_file for k in chosen), track, root)


def parse_seconds(text: str) -> float:
    """A time limit in seconds, from a command line or the environment: a number greater than 0."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not (0 < seconds < float("inf")):
        raise ValueError(f"{text!r} is not a time limit: give a number of seconds greater than 0, such as 60")
    return seconds


def seconds_argument(text: str) -> float:
    """parse_seconds as an argparse type: a bad value is argparse's one-line error."""
    try:
        return parse_seconds(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


# ---------------------------------------------------------------------------------------------
# The supervisor


@dataclass
class _Watch:
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


def run(
    jobs: Sequence[Job],
    live: bool = False,
    workers: int = 1,
    pytest_args: Sequence[str] = (),
    warm: bool = False,
    sealed: bool = True,
) -> list[list[Outcome]]:
    """Judge each job under supervision; the Outcomes of each, in order.

    sealed: first compare a student copy's judging files with its seal (tools/seal.py).

    warm: fork each worker from this process, which has imported torch and the tests once
    (`prepare_warm`), instead of starting a fresh interpreter: a run then costs what its tests cost.
    Only where fork is safe with torch (Linux); elsewhere a fresh process, with the same guarantees.
    """
    processes.keep_private()  # it holds the workers' event files: no kata code may open them through /proc
    blocked = seal.blocked(ROOT) if sealed else {}  # a student copy whose judging files were edited
    if blocked:
        return _sealed_run(jobs, blocked, live, workers, pytest_args, warm)
    results: list[list[Outcome]] = [[] for _ in jobs]
    chunks = [list(range(len(jobs)))[w::workers] for w in range(workers)]
    chunks = [c for c in chunks if c]
    errors: list[BaseException] = []
    reaper = _Reaper()

    def supervise_chunk(indices: list[int]) -> None:
        chunk = [jobs[i] for i in indices]
        for index, outcomes in zip(indices, _supervise(chunk, live, pytest_args, warm, reaper)):
            results[index] = outcomes

    def beside(indices: list[int]) -> None:
        try:
            supervise_chunk(indices)
        except BaseException as error:  # reported below, in the main thread
            errors.append(error)

    threads = [threading.Thread(target=beside, args=(c,), daemon=True) for c in chunks[1:]]
    with _terminate_as_interrupt():
        try:
            for t in threads:
                t.start()
            supervise_chunk(chunks[0])  # the first chunk here, the others beside it (Ctrl-C lands here)
            for t in threads:
                t.join()
        except BaseException:  # Ctrl-C or a kill while threads supervise: each kills its worker, then we go
            reaper.stop.set()
            for t in threads:
                t.join(10)
            raise
        finally:
            reaper.sweep()
    if errors:
        raise errors[0]
    return results


def _sealed_run(
    jobs: Sequence[Job], blocked: dict[int, list[str]], live: bool, workers: int, pytest_args: Sequence[str], warm: bool
) -> list[list[Outcome]]:
    """run() where some katas are judged by files that differ from the release (tools/seal.py): those get one
    failure each that says which files, and no test of theirs runs; the others are judged as usual."""
    results: list[list[Outcome]] = []
    left: list[tuple[int, Job]] = []
    shown: set[str] = set()
    for index, job in enumerate(jobs):
        named = [k for k in katas() if k in map(kata_of_test, job.args)]
        out = [k for k in named or katas() if k.number in blocked]
        results.append([_unsealed(k, blocked[k.number]) for k in out])
        shown.update(line for k in out for line in blocked[k.number])
        kept = tuple(a for a in job.args if kata_of_test(a) not in out)
        if (named and len(out) < len(named)) or not out:
            left.append((index, replace(job, args=kept)))
    if live and shown:
        lines = "\n".join(sorted(shown))
        print(f"Not judged: a file that judges differs from the release.\n{lines}\n", flush=True)
    judged = run([job for _, job in left], live, workers, pytest_args, warm, sealed=False) if left else []
    for (index, _), outcomes in zip(left, judged):
        results[index] += outcomes
    return results


UNSEALED = "judging_files"  # the name of the one failure of a kata whose judging files differ from the release


def _unsealed(kata: Kata, lines: list[str]) -> Outcome:
    shown = "; ".join(lines[:3]) + (f"; and {len(lines) - 3} more" if len(lines) > 3 else "")
    return Outcome(
        test=f"{kata.test_file}::{UNSEALED}",
        status="failed",
        blame=kata.number,
        did_not_run=True,
        message=f"{kata.label}: not judged, no points: {shown}.",
    )


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While the block runs in the main thread, SIGTERM, SIGHUP and SIGQUIT (a kill, a closed terminal, a CI
    timeout, Ctrl-\\) interrupt it like Ctrl-C, so that the workers are killed and the temporary folders go."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    ends = [name for name in ("SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, name)]
    saved = {name: signal.signal(getattr(signal, name), interrupt) for name in ends}
    # Signals whose default would end the supervisor without a word, and which nobody sends it but kata code
    # (os.kill(os.getppid(), ...)): ignored while it judges.
    for name in processes.IGNORED:
        if hasattr(signal, name):
            saved[name] = signal.signal(getattr(signal, name), signal.SIG_IGN)
    try:
        yield
    finally:
        for name, handler in saved.items():
            signal.signal(getattr(signal, name), handler)


class JudgeError(RuntimeError):
    """pytest itself could not run (a usage error, an error in the tests): not the learner's doing."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _supervise(
    jobs: list[Job], live: bool, pytest_args: Sequence[str], warm: bool, reaper: _Reaper
) -> list[list[Outcome]]:
    results: list[list[Outcome]] = [[] for _ in jobs]
    collected: dict[int, list[str]] = {}  # per job, every test pytest collected
    hung: list[dict] = []
    first, skip, launch = 0, set[str](), 0
    # ignore_cleanup_errors: on Windows a worker just killed may still hold its files for a moment
    with tempfile.TemporaryDirectory(prefix="kata-run-", ignore_cleanup_errors=True) as tmp:
        while first < len(jobs):
            folder = Path(tmp) / f"worker{launch}"
            folder.mkdir(parents=True)  # parents: kata code may have removed the run's folder
            (folder / "hung.json").write_text(json.dumps(hung), encoding="utf-8")
            spec = {
                "jobs": [
                    {"args": list(j.args), "track": j.track, "root": str(j.root) if j.root else None} for j in jobs
                ],
                "first": first,
                "skip": sorted(skip),
                "folder": str(folder),
                "memory_gb": processes.MEMORY_GB,  # the ceiling of the worker and of its kata process
                "args": [*pytest_args, *(["--no-header"] if launch else [])],
            }
            (folder / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
            watch, rc, killed = _watch_worker(folder, first, len(jobs), results, hung, live, warm and CAN_FORK, reaper)
            launch += 1
            for index, tests in watch.collected.items():
                collected.setdefault(index, []).extend(t for t in tests if t not in collected[index])
            if watch.refused is not None or (watch.job == first and not watch.started and rc):
                stderr = _text(folder / "stderr.txt")
                raise JudgeError(
                    f"pytest could not run (exit code {watch.refused or rc}).\n{stderr[-3000:]}",
                    watch.refused or rc or 1,
                )
            if watch.done_jobs == len(jobs) - 1:
                break
            # The worker ended (or was stopped) before its last job was done.
            job = watch.job
            done = {o.test for o in results[job]}
            if watch.test is not None:
                outcome, stopped = _ended(watch, folder, rc, killed, jobs[job].track)
                results[job].append(outcome)
                done.add(outcome.test)
                if stopped:
                    hung.append(stopped)
                if live:
                    print(f"\nFAILED {outcome.test}\n{outcome.message}\n", flush=True)
                left = [t for t in watch.collected.get(job, []) if t not in done]
                if left:
                    if live:
                        print(f"(a new test process runs the {len(left)} test(s) left)\n", flush=True)
                    first, skip = job, done
                    continue
            else:  # it ended outside any test: the job's other tests cannot run
                paused = watch.stopped_by is not None and f"paused by signal {processes.signal_name(watch.stopped_by)}"
                big = watch.over_memory and f"it held more than {processes.MEMORY_GB} GB of memory"
                why = f"the test process ended before it ({paused or big or _exit_status(rc)})"
                results[job] += [_not_run(test, why) for test in watch.collected.get(job, []) if test not in done]
            first, skip = job + 1, set()
    for index, tests in collected.items():  # a test collected and never reported never passes
        reported = {o.test for o in results[index]}
        results[index] += [_not_run(t, "the run stopped before it") for t in tests if t not in reported]
    return results


def _watch_worker(
    folder: Path,
    first: int,
    count: int,
    results: list[list[Outcome]],
    hung: list[dict],
    live: bool,
    fork: bool,
    reaper: _Reaper,
) -> tuple[_Watch, int | None, bool]:
    """Run one worker from job `first` on, following its events; kill it past a deadline. Whatever it started
    ends with it (reaper.end)."""
    command = [sys.executable, "-m", "tools.runner", "--worker", str(folder / "spec.json")]
    # The events file is opened before the worker starts (see _tail).
    with open(folder / "stderr.txt", "wb") as stderr, open(folder / "events.jsonl", "a+b") as channel:
        process: Any
        if fork:
            process = _Forked(folder / "spec.json", None if live else stderr)
        else:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                stdout=_descriptor(1) if live else subprocess.DEVNULL,
                stderr=_descriptor(2) if live else stderr,
                **_OWN_GROUP,
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
    reaper: _Reaper,
) -> tuple[_Watch, int | None, bool]:
    """Follow one worker's events until it ends, or kill it past its deadline (or when the run stops). On any
    exit, Ctrl-C included, the caller's reaper.end kills the worker and what it started."""
    watch, killed, finished, looked = _Watch(job=first), False, None, 0.0
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
        time.sleep(0.03)
    return watch, process.returncode, killed


def _text(path: Path) -> str:
    """A file the worker wrote, or "" when it is not there (kata code may have removed the run's folder)."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


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


def _handle(watch: _Watch, event: dict, results: list[list[Outcome]], hung: list[dict]) -> None:
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
        hung.append({k: event[k] for k in ("file", "function", "message")})
    elif kind == "end":
        results[watch.job].append(record.read(event["outcome"]))
        watch.test, watch.deadline = None, None
    elif kind == "job-done":
        watch.done_jobs = event["job"]
        if event["code"] in (3, 4):  # pytest's INTERNAL_ERROR and USAGE_ERROR
            watch.refused = event["code"]


FRAME = re.compile(r'File "(?P<file>.+)", line (?P<line>\d+) in (?P<function>\S+)')


def _ended(watch: _Watch, folder: Path, rc: int | None, killed: bool, track: str) -> tuple[Outcome, dict | None]:
    """The failure of the test a worker was running when it was stopped or ended."""
    assert watch.test is not None
    dump = _text(folder / "dump.txt")
    tested = by_number(watch.kata) if watch.kata else None
    frames = [m.groupdict() for m in FRAME.finditer(dump)]  # innermost first, thread after thread
    mine = [f for f in frames if Path(f["file"]).parent.name == track and by_module(Path(f["file"]).stem)]
    culprit = by_module(Path(mine[0]["file"]).stem) if mine else tested
    at, outer = "", None
    if mine and culprit:
        outer = [f for f in mine if by_module(Path(f["file"]).stem) == culprit][-1]
        at = said.where(outer["function"], culprit.path(track), mine[0]["line"])
    timed_out = killed or "Timeout" in dump
    stopped = None
    if timed_out:
        text = said.stopped_from_outside(at)
        if outer is not None and culprit is not None:
            again = said.stopped_again(outer["function"], culprit.path(track))
            stopped = {"file": outer["file"], "function": outer["function"], "message": again}
    elif watch.over_memory:
        text = f"this test was ended{at}: {said.out_of_memory(processes.MEMORY_GB)}"
    elif watch.stopped_by is not None:
        text = said.paused(at, f"stopped by signal {processes.signal_name(watch.stopped_by)}")
    else:
        how = _exit_status(rc)
        text = said.ended(at, how)
        if outer is not None and culprit is not None:
            again = said.ended_again(outer["function"], culprit.path(track), how)
            stopped = {"file": outer["file"], "function": outer["function"], "message": again}
    message = _framed(tested, culprit, text)
    blame = culprit.number if culprit else None
    duration = max(0.0, time.time() - watch.since) if watch.since else 0.0
    outcome = Outcome(test=watch.test, status="failed", blame=blame, message=message, duration=duration)
    return outcome, stopped


def _framed(tested: Kata | None, culprit: Kata | None, text: str) -> str:
    if culprit and tested and culprit != tested:
        return (
            f"{tested.label} needs {culprit.label}: {text}. Run `nox -s kata-{culprit.number}` first "
            "and come back when it passes."
        )
    return f"{culprit.label}: {text}." if culprit else f"{text}."


def _exit_status(rc: int | None) -> str:
    if rc is not None and rc < 0:
        return f"killed by signal {processes.signal_name(-rc)}"
    if rc is not None and rc >= 0xC0000000:  # Windows: an NTSTATUS, such as 0xC0000005 for an access violation
        return f"crashed, Windows status {rc:#x}"
    return f"exit code {rc}"


def _not_run(test: str, why: str) -> Outcome:
    kata = kata_of_test(test)
    return Outcome(
        test=test,
        status="failed",
        blame=kata.number if kata else None,
        did_not_run=True,
        message=f"{kata.label + ': ' if kata else ''}this test did not run: {why}. A test that did not run never "
        "passes: run it again, and if it happens again, look for code of yours that ends the run.",
    )


# ---------------------------------------------------------------------------------------------
# Nothing outlives a run: each worker leads a process group of its own, the processes kata code
# starts end with it, and a worker whose supervisor is killed ends itself.


out_of_memory = said.out_of_memory  # (its one wording is in tools/judge/said.py)


# A new session: the worker leads its own process group, which its children join (Windows: a new group).
_OWN_GROUP: dict[str, Any] = (
    {"creationflags": 0x200} if os.name == "nt" else {"start_new_session": True}  # 0x200: CREATE_NEW_PROCESS_GROUP
)


class _Reaper:
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


def _confine(folder: Path) -> None:
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


# ---------------------------------------------------------------------------------------------
# The warm path: fork workers from a process that imported torch and the tests once

CAN_FORK = sys.platform == "linux"  # macOS: fork after importing torch is unsafe; Windows: no fork


def prepare_warm(test_files: Sequence[str] = ()) -> None:
    """Make this process a warm parent for forked workers: import torch, pytest, the plugin and the test
    modules, then run those tests once on the pristine stubs (never on the learner's code), so that torch's
    and hypothesis's first-call costs are paid here, once. One torch thread: forking a process whose thread
    pool has started is not safe, and the katas' tensors are small."""
    import importlib

    judge = importlib.import_module("tests.judge")
    judge.single_threaded()
    importlib.import_module("tests.plugin")
    for path in test_files:
        importlib.import_module(f"tests.{Path(path).stem}")
    if test_files:
        _warm_up(test_files)


def _warm_up(test_files: Sequence[str]) -> None:
    """Run the tests once here, quietly, on the pristine stubs (never the learner's code, and the same with
    or without solutions/): they fail at once, but the judge, hypothesis and the tensors the tests build pay
    their first-call costs. That takes a run from 2.0 s to 0.4 s (tools/maintainer/watch_timing.py, kata 1)."""
    import io

    import pytest

    from tools import stubs

    saved = os.environ.pop("KATA_ROOT", None)
    try:
        with tempfile.TemporaryDirectory(prefix="kata-warm-", ignore_cleanup_errors=True) as tmp:
            stubs.write_pristine(Path(tmp) / "katas")
            os.environ["KATA_ROOT"] = tmp
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                pytest.main([*test_files, "-q", "--track", "katas", "-p", "no:cacheprovider"])
    finally:
        os.environ.pop("KATA_ROOT", None)
        if saved is not None:
            os.environ["KATA_ROOT"] = saved
        for name in list(sys.modules):
            if name.split(".")[0] == "katas":
                del sys.modules[name]


class _Forked:
    """A worker forked from this warm process, with Popen's poll / kill / wait."""

    def __init__(self, spec: Path, stderr: Any) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        self.returncode: int | None = None
        self.pid = os.fork()
        if self.pid == 0:  # the child: judge, then leave without running the parent's cleanup
            try:
                if stderr is not None:
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(devnull, 1)
                    os.dup2(stderr.fileno(), 2)
                work(spec, forget=False)
            finally:
                os._exit(1)

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def wait(self) -> int | None:
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode


# ---------------------------------------------------------------------------------------------
# The worker


def work(spec_path: Path, forget: bool = True) -> None:
    """Run the spec's jobs with pytest.main, one after another, in this one interpreter.

    Before each job the modules of the previous one are forgotten (not before the first job of a
    forked worker: its parent imported the tests and never any kata)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the supervisor's to handle
    for name in processes.IGNORED:  # the kata process (tools/judge/sandbox.py) is our child: kata code reaches us
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    import pytest

    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    processes.RESIDENT_GB = spec.get("memory_gb", processes.MEMORY_GB)  # the supervisor's ceiling, for kata code
    _confine(Path(spec["folder"]))
    # Opened once, before any kata code runs, and handed to the plugin; then its name is removed (the supervisor
    # holds it open too), so no process can open it by name to write a verdict of its own.
    events = open(Path(spec["folder"]) / "events.jsonl", "a", encoding="utf-8")  # noqa: SIM115
    with contextlib.suppress(OSError):  # Windows: a file held open keeps its name
        (Path(spec["folder"]) / "events.jsonl").unlink()
    base_path, base_env = list(sys.path), dict(os.environ)
    for index in range(spec["first"], len(spec["jobs"])):
        job = spec["jobs"][index]
        for name in list(sys.modules):
            if (forget or index > spec["first"]) and name.split(".")[0] in FORGET:
                del sys.modules[name]
        sys.path[:] = base_path
        os.environ.clear()
        os.environ.update(base_env, KATA_TRACK=job["track"])
        if job["root"]:
            os.environ["KATA_ROOT"] = job["root"]
        _emit(events, "job", job=index)
        skip = [f"--deselect={test}" for test in spec["skip"]] if index == spec["first"] else []
        options = ["-p", "no:cacheprovider", "-p", "no:faulthandler", f"--kata-supervisor={spec['folder']}"]
        options.append(f"--kata-events={events.fileno()}")
        code = pytest.main([*job["args"], *options, *skip, *spec["args"]])
        _emit(events, "job-done", job=index, code=int(code))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # at once: a thread that kata code left running must not keep the worker alive


def _emit(events: TextIO, event: str, **data: object) -> None:
    events.write(json.dumps({"event": event, "time": time.time(), **data}) + "\n")
    events.flush()


# ---------------------------------------------------------------------------------------------
# What to do next


def next_steps(track: str, outcomes: Sequence[Outcome]) -> list[str]:
    """The closing lines: per kata at fault, what to do; or, when one kata's tests all pass, what next."""
    failures = [o for o in outcomes if not o.passed]
    if not failures:
        done = {o.kata for o in outcomes if o.passed and o.kata is not None}
        if track != "katas" or len(done) != 1:
            return []
        (kata,) = done
        following = [k for k in katas() if k.number > kata.number and not _known_done(k)]
        optional = " (a bonus, optional)" if following and following[0].bonus else ""
        then = (
            f"Next{optional}: `nox -s kata-{following[0].number}`, open {following[0].path()}"
            if following
            else "The katas after it pass too: train your network on real digits with `nox -s train`"
            if kata.number < len(katas())
            else "That was the last kata: train your network on real digits with `nox -s train`"
        )
        return [f"{kata.label} passes every test. {then}."]
    unjudged = sorted({o.blame for o in failures if o.blame and o.test.endswith(f"::{UNSEALED}")})
    if unjudged:
        labels = ", ".join(by_number(n).label for n in unjudged)
        return [f"{labels}: not judged until the files that judge are the release's: `nox -s reset -- --judge`."]
    by_kata: dict[int, list[bool]] = {}
    for o in failures:
        if o.blame:
            by_kata.setdefault(o.blame, []).append(o.not_started)
    lines = []
    for number in sorted(by_kata):
        kata = by_number(number)
        flags = by_kata[number]
        state = "not started" if all(flags) else "to fix"
        count = f"{len(flags)} failing test{'s' if len(flags) > 1 else ''}"
        lines.append(
            f"{kata.label}: {state} ({count} because of it). Edit {kata.path(track)}; hint: `nox -s hint -- {number}`."
        )
    return lines


def _known_done(kata: Kata) -> bool:
    """Whether a remembered verdict, still valid, says all of kata's tests pass (tools/verdicts.py)."""
    from tools import verdicts

    outcomes = verdicts.load(Path(os.environ.get("KATA_ROOT") or ROOT), kata)
    return outcomes is not None and bool(outcomes) and all(o.passed for o in outcomes)


def remember(track: str, args: Sequence[str], outcomes: Sequence[Outcome]) -> None:
    """After `nox -s kata-N` (--remember) with no options of the learner's, only whole kata test files: keep the
    verdict for `nox -s progress`."""
    from tools import verdicts

    chosen = [None if "::" in a else kata_of_test(a) for a in args]
    if track != "katas" or not chosen or None in chosen:
        return
    root = Path(os.environ.get("KATA_ROOT") or ROOT)
    for kata in dict.fromkeys(k for k in chosen if k is not None):
        verdicts.store(root, kata, [o for o in outcomes if o.kata == kata])


@command
def main(argv: list[str]) -> int:
    if argv[:1] == ["--worker"]:
        work(Path(argv[1]))
        return 0
    parser = Parser(prog="python -m tools.runner", add_help=False)
    parser.add_argument("--track", choices=("katas", "solutions"), default=os.environ.get("KATA_TRACK", "katas"))
    parser.add_argument("--kata-timeout", type=seconds_argument)  # checked here: one line, not pytest's usage
    # A learner's run of whole katas (`nox -s kata-N`, check(N)): remember the verdict when no option of theirs
    # narrows it, and leave pytest's short summary out (-rN; an -r of the learner's comes later and wins): the
    # closing lines below say what to do.
    parser.add_argument("--remember", action="store_true")
    known, rest = parser.parse_known_args(argv)
    if known.kata_timeout is not None:
        rest = [*rest, "--kata-timeout", str(known.kata_timeout)]
    elif "KATA_TIMEOUT" in os.environ:
        try:
            parse_seconds(os.environ["KATA_TIMEOUT"])
        except ValueError as error:
            print(f"KATA_TIMEOUT: {error}", file=sys.stderr)
            return 2
    quiet = ["--disable-warnings"] if known.track == "katas" else []  # torch's warnings are not the learner's
    try:
        (outcomes,) = run(
            [Job(("-rN", *rest) if known.remember else tuple(rest), known.track)], live=True, pytest_args=quiet
        )
    except JudgeError as error:
        return error.code  # pytest printed why
    if known.remember:
        remember(known.track, rest, outcomes)
    if not outcomes:  # never a success: a run that judged nothing says nothing about the code
        print("No test ran, so nothing was judged: check the test names and options given (`-k`, `::name`).")
        return 1
    lines = next_steps(known.track, outcomes)
    success = all(o.passed for o in outcomes)
    if lines:
        title = "done" if success else "what to do next"
        print(f"{'-' * 30} {title} {'-' * 30}")
        print("\n".join(lines))
    return 0 if success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
