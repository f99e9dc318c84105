"""What a test fails with when its worker was stopped or ended under it, and the tests that never ran."""

from __future__ import annotations

import re
import time
from pathlib import Path

from tools.judge import processes, said
from tools.manifest import Kata, by_module, by_number, kata_of_test
from tools.record import Outcome
from tools.run.follow import Watch


def worker_file(path: Path) -> str:
    """A file the worker wrote, or "" when it is not there (kata code may have removed the run's folder)."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


FRAME = re.compile(r'File "(?P<file>.+)", line (?P<line>\d+) in (?P<function>\S+)')


def failure(watch: Watch, folder: Path, rc: int | None, killed: bool, track: str) -> tuple[Outcome, dict | None]:
    """The failure of the test a worker was running when it was stopped or ended."""
    assert watch.test is not None
    dump = worker_file(folder / "dump.txt")
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
        how = exit_status(rc)
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


def exit_status(rc: int | None) -> str:
    if rc is not None and rc < 0:
        return f"killed by signal {processes.signal_name(-rc)}"
    if rc is not None and rc >= 0xC0000000:  # Windows: an NTSTATUS, such as 0xC0000005 for an access violation
        return f"crashed, Windows status {rc:#x}"
    return f"exit code {rc}"


def not_run(test: str, why: str) -> Outcome:
    kata = kata_of_test(test)
    return Outcome(
        test=test,
        status="failed",
        blame=kata.number if kata else None,
        did_not_run=True,
        message=f"{kata.label + ': ' if kata else ''}this test did not run: {why}. A test that did not run never "
        "passes: run it again, and if it happens again, look for code of yours that ends the run.",
    )
