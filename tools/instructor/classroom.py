"""`nox -s grade -- --class DIR`: grade a whole class at once, and write what the class did.

    python -m tools.instructor.classroom --class DIR [--out OUT] [--workers N]   (OUT: DIR's sibling DIR-grading)

DIR holds one folder or .zip per student (tools/instructor/submissions.py finds and unpacks them into OUT/.work).
Each student's katas/ is judged by this repository's tests/ and tools, never the student's, all katas in one
supervised job (tools/run/), the earlier katas first so that a later kata's failure is blamed from the same run.
Students are judged N at a time (default: every core), each in a worker forked from this process once it has
imported torch and the tests (Linux; elsewhere a fresh interpreter each). OUT gets:

    class.json     per student: the fingerprint of their katas/, why they could not be judged, and per test the
                   status, the mistake ids named and the blame (classfile.py); written as students finish, so Ctrl-C
                   keeps what is done, and read again: a student whose katas/ did not change keeps their verdicts
                   (unless this repository's tests or judge changed: then every student is judged again)
    gradebook.csv  one row per student: points per kata, total, max, percent, reason, notes (tools/instructor/
                   gradebook.py)
    census.md, census.png   the class's picture (tools/instructor/census.py)

One bad submission never stops the class: it gets its row, its reason and 0 points for what could not run.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from tools import seal
from tools.cli import Parser
from tools.instructor import census, gradebook, platforms, progressbar, submissions
from tools.instructor.classfile import ClassFile, judge_digest, previous
from tools.instructor.submissions import Submission
from tools.judge import processes
from tools.manifest import ROOT, command, katas
from tools.record import Outcome
from tools.run import supervisor
from tools.run.job import Job, JudgeError
from tools.run.reaping import Reaper
from tools.run.warm import CAN_FORK, LEAN, prepare_warm

PYTEST = ["--disable-warnings", *LEAN]  # each student's pytest run


def default_out(class_dir: Path) -> Path:
    """Where the results go when --out is not given: beside the class folder, DIR-grading."""
    return class_dir.resolve().parent / f"{class_dir.resolve().name}-grading"


def entry(s: Submission, outcomes: Sequence[Outcome], seconds: float) -> dict[str, Any]:
    """One student as class.json keeps them."""
    r = platforms.results(outcomes, seconds, reason=s.reason, format_errors=s.format_errors)
    t = r.total
    return {
        "source": s.source.name,
        "fingerprint": s.fingerprint,
        "reason": s.reason,
        "format_errors": list(s.format_errors),
        "notes": list(s.notes),
        "tests_differ": None if s.tests is None else {k: list(getattr(s.tests, k)) for k in census.DIFFS},
        "seconds": round(seconds, 2),
        "points": t["points"],
        "max_points": t["max_points"],
        "percent": t["percent"],
        "katas": {str(g.kata.number): g.earned for g in r.grades},
        "tests": [
            {
                "test": o.test,
                "status": o.status,
                "blame": o.blame,
                "mistakes": list(o.mistakes),
                "did_not_run": o.did_not_run,
            }
            for o in outcomes
        ],
    }


def outcomes_of(student: dict[str, Any]) -> list[Outcome]:
    """The verdicts class.json kept for a student, as records (what points and the census need of them)."""
    return [
        Outcome(t["test"], t["status"], blame=t["blame"], mistakes=tuple(t["mistakes"]), did_not_run=t["did_not_run"])
        for t in student["tests"]
    ]


def judge_all(
    chosen: Sequence[Submission], workers: int, done: Callable[[Submission, list[Outcome], float], None]
) -> None:
    """Judge each submission (all katas, one job), `workers` at a time; done(s, outcomes, seconds) as each ends.

    `workers` threads each take the next student and judge them in a supervisor.run of their own, in a worker
    forked for that student alone, so that nothing of one student's run (a function quarantined after a hang, the
    modules a worker imported) reaches another's; a thread takes the next student as soon as its last is done,
    so every core stays busy to the end. The runs share one Reaper (each would otherwise end the others' workers
    as strays). Ctrl-C (or SIGTERM) stops every run, which ends its worker; the students done before are kept."""
    if not chosen:
        return
    warm = CAN_FORK
    if warm:
        prepare_warm([k.test_file for k in katas()])  # torch, pytest and the tests imported once, here
    sealed = bool(seal.blocked(ROOT))  # this copy's own judging files: checked once, not per student
    reaper, lock = Reaper(), threading.Lock()
    left, judged, failures = list(reversed(chosen)), [0], list[BaseException]()

    def judge_next() -> None:
        while not reaper.stop.is_set():
            with lock:
                if not left:
                    return
                s = left.pop()
            start = time.perf_counter()
            try:
                (outcomes,) = supervisor.run(
                    [Job.of(katas(), root=s.root)], warm=warm, sealed=sealed, reaper=reaper, pytest_args=PYTEST
                )
            except JudgeError as error:  # pytest refused to run: the tests' fault, unless others were judged
                with lock:
                    if not judged[0]:
                        failures.append(error)
                        reaper.stop.set()
                        return
                    why = str(error).splitlines()[0]
                    done(replace(s, reason=f"the judge could not run on it ({why}): 0 points"), [], 0.0)
                continue
            except BaseException as error:  # stopped (Ctrl-C), or the judge broke: said in the main thread
                failures.append(error)
                reaper.stop.set()
                return
            with lock:
                judged[0] += 1
                done(s, outcomes, time.perf_counter() - start)

    threads = [threading.Thread(target=judge_next, daemon=True, name=f"student-{n}") for n in range(workers)]
    with _signals_as_interrupt():
        try:
            for t in threads:
                t.start()
            while any(t.is_alive() for t in threads):
                for t in threads:
                    t.join(0.2)  # short waits: Ctrl-C lands here
        except BaseException:
            reaper.stop.set()  # each run ends its worker and returns
            for t in threads:
                t.join(10)
            raise
        finally:
            reaper.sweep()
    stopped = [f for f in failures if not isinstance(f, KeyboardInterrupt)]
    if stopped:
        raise stopped[0]
    if failures:
        raise KeyboardInterrupt


@contextmanager
def _signals_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP end the class as Ctrl-C does (what is done is kept); the signals only kata code sends
    (processes.IGNORED) are ignored while it judges, as the supervisor does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    saved = {n: signal.signal(getattr(signal, n), interrupt) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n)}
    saved |= {n: signal.signal(getattr(signal, n), signal.SIG_IGN) for n in processes.IGNORED if hasattr(signal, n)}
    try:
        yield
    finally:
        for name, handler in saved.items():
            signal.signal(getattr(signal, name), handler)


def grade_class(class_dir: Path, out: Path | None, workers: int | None = None, live: bool | None = None) -> int:
    """Grade every student of class_dir into out; 0 when every output was written, 2 when grading could not run,
    130 after Ctrl-C (class.json then holds the students done)."""
    class_dir = class_dir.resolve()
    out = (out or default_out(class_dir)).resolve()
    workers = max(1, workers or os.cpu_count() or 1)
    live = sys.stdout.isatty() if live is None else live
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    digest = judge_digest()
    before = previous(out, digest)
    subs = list(submissions.find(class_dir, out / ".work"))
    record = ClassFile(out, digest, {})
    chosen = []
    for s in subs:
        kept = before.get(s.name)
        if not s.judgeable:
            record.add(s.name, entry(s, [], 0.0))
        elif kept and kept.get("fingerprint") == s.fingerprint and not kept.get("reason"):
            record.add(s.name, entry(s, outcomes_of(kept), kept.get("seconds", 0.0)))
        else:
            chosen.append(s)
    print(
        f"{len(subs)} students in {class_dir}: {len(chosen)} to judge, {len(subs) - len(chosen)} kept or not judgeable"
    )
    with progressbar.progress(len(chosen), live) as advance:

        def done(s: Submission, outcomes: list[Outcome], seconds: float) -> None:
            record.add(s.name, entry(s, outcomes, seconds))
            advance(s.name)

        try:
            judge_all(chosen, workers, done)
        except KeyboardInterrupt:
            record.close()
            print(
                f"\nStopped: {len(record.students)} of {len(subs)} students are in {record.path}; run it again "
                "to judge the rest (those done are kept).",
                file=sys.stderr,
            )
            return 130
        except JudgeError as error:
            record.close()
            print(f"grade: the tests could not run, so there is no grade: {error}", file=sys.stderr)
            return 2
    record.close()
    students = dict(sorted(record.students.items()))
    gradebook.write(out / "gradebook.csv", students)
    census.write(out, students, {n: outcomes_of(st) for n, st in students.items()})
    seconds = time.perf_counter() - start
    per = f", {seconds / len(chosen):.2f} s per student judged, {workers} at a time" if chosen else ""
    print(f"{len(students)} students graded in {seconds:.0f} s{per}.")
    print(f"Wrote {out / 'gradebook.csv'}, {out / 'class.json'}, {out / 'census.md'}, {out / 'census.png'}")
    return 0


@command
def main(argv: list[str]) -> int:
    parser = Parser(prog="nox -s grade --", description=__doc__.splitlines()[0])
    parser.add_argument("--class", dest="class_dir", type=Path, required=True, metavar="DIR", help="the class folder")
    parser.add_argument("--out", type=Path, help="the results' folder (default: DIR-grading beside DIR)")
    parser.add_argument("--workers", type=int, metavar="N", help="students judged at once (default: every core)")
    args = parser.parse_args(argv)
    if not args.class_dir.is_dir():
        parser.error(f"--class {args.class_dir}: not a folder")
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers {args.workers}: give 1 or more")
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out}: that is a file; give a folder (it is created if missing)")
    return grade_class(args.class_dir, args.out, args.workers)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
