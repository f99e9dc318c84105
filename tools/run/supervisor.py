"""The supervisor: judge jobs in worker processes, one chunk of jobs per worker at a time, and gather the Outcomes.

A worker that ends before its last test is replaced by a new one that goes on with the tests left; the test
it was running fails (ended.py). A student copy whose judging files differ from its seal is not judged.
"""

from __future__ import annotations

import contextlib
import json
import signal
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from tools import seal
from tools.judge import processes
from tools.manifest import ROOT, Kata, kata_of_test, katas
from tools.record import Outcome
from tools.run import ended
from tools.run.follow import watch_worker
from tools.run.job import UNSEALED, Job, JudgeError
from tools.run.reaping import Reaper
from tools.run.warm import CAN_FORK


def run(
    jobs: Sequence[Job],
    live: bool = False,
    workers: int = 1,
    pytest_args: Sequence[str] = (),
    warm: bool = False,
    sealed: bool = True,
    reaper: Reaper | None = None,
) -> list[list[Outcome]]:
    """Judge each job under supervision; the Outcomes of each, in order.

    sealed: first compare a student copy's judging files with its seal (tools/seal.py).

    warm: fork each worker from this process, which has imported torch and the tests once
    (`prepare_warm`), instead of starting a fresh interpreter: a run then costs what its tests cost.
    Only where fork is safe with torch (Linux); elsewhere a fresh process, with the same guarantees.

    reaper: one shared by runs side by side in threads of this process (a class's students), so that none ends
    another's workers as strays; each run makes its own when None.
    """
    processes.keep_private()  # it holds the workers' event files: no kata code may open them through /proc
    blocked = seal.blocked(ROOT) if sealed else {}  # a student copy whose judging files were edited
    if blocked:
        return _sealed_run(jobs, blocked, live, workers, pytest_args, warm, reaper)
    results: list[list[Outcome]] = [[] for _ in jobs]
    chunks = [list(range(len(jobs)))[w::workers] for w in range(workers)]
    chunks = [c for c in chunks if c]
    errors: list[BaseException] = []
    reaper = Reaper() if reaper is None else reaper

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
    jobs: Sequence[Job],
    blocked: dict[int, list[str]],
    live: bool,
    workers: int,
    pytest_args: Sequence[str],
    warm: bool,
    reaper: Reaper | None,
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
    judged = (
        run([job for _, job in left], live, workers, pytest_args, warm, sealed=False, reaper=reaper) if left else []
    )
    for (index, _), outcomes in zip(left, judged):
        results[index] += outcomes
    return results


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


def _supervise(
    jobs: list[Job], live: bool, pytest_args: Sequence[str], warm: bool, reaper: Reaper
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
            watch, rc, killed = watch_worker(folder, first, len(jobs), results, hung, live, warm and CAN_FORK, reaper)
            launch += 1
            for index, tests in watch.collected.items():
                collected.setdefault(index, []).extend(t for t in tests if t not in collected[index])
            if watch.refused is not None or (watch.job == first and not watch.started and rc):
                stderr = ended.worker_file(folder / "stderr.txt")
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
                outcome, stopped = ended.failure(watch, folder, rc, killed, jobs[job].track)
                results[job].append(outcome)
                done.add(outcome.test)
                if stopped:  # quarantined in this job's tree only: another tree's function of that name is another
                    hung.append({**stopped, "package": str(Path(jobs[job].root or ROOT) / jobs[job].track)})
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
                why = f"the test process ended before it ({paused or big or ended.exit_status(rc)})"
                results[job] += [ended.not_run(test, why) for test in watch.collected.get(job, []) if test not in done]
            first, skip = job + 1, set()
    for index, tests in collected.items():  # a test collected and never reported never passes
        reported = {o.test for o in results[index]}
        results[index] += [ended.not_run(t, "the run stopped before it") for t in tests if t not in reported]
    return results
