"""`nox -s stubs`: prove that every test needs its kata to be solved.

For each kata N, a temporary package holds the pristine stub of kata N (made from solutions/,
never read from a learner's katas/) and the reference for every other kata. Kata N's tests run
against it: every test must be collected and fail, and fail because of kata N.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tools import stubs
from tools.manifest import Kata, column, command, katas
from tools.record import Outcome
from tools.run import supervisor
from tools.run.job import Job


@command
def main() -> int:
    chosen = katas()
    with tempfile.TemporaryDirectory() as tmp:
        jobs = []
        for kata in chosen:
            stubs.write_package(Path(tmp) / kata.module / "katas", stubbed={kata.module})
            jobs.append(Job.of([kata], root=Path(tmp) / kata.module))
        found = [problems(kata, outcomes) for kata, outcomes in zip(chosen, supervisor.run(jobs, workers=2))]
    for kata, found_here in zip(chosen, found):
        verdict = "ok" if not found_here else f"{len(found_here)} problem(s)"
        print(f"  {column(kata)}  {verdict}")
        for problem in found_here:
            print(f"      {problem}")
    bad = sum(map(bool, found))
    print(f"\n{len(chosen) - bad} of {len(chosen)} katas: every test fails on the pristine stub, blamed on it.")
    return 1 if bad else 0


def problems(kata: Kata, outcomes: list[Outcome]) -> list[str]:
    """What is wrong with one kata's tests on its pristine stub; empty when they discriminate."""
    if not outcomes:
        return [f"{kata.label}: no test was collected from {kata.test_file}"]
    found = []
    for o in outcomes:
        name = o.test.split("::")[-1]
        if o.passed:
            found.append(f"{kata.label}: {name} passes without kata {kata.number} being solved")
        elif o.blame != kata.number:
            found.append(f"{kata.label}: {name} fails, but blames kata-{o.blame}: {o.message[:120]}")
    return found


if __name__ == "__main__":
    sys.exit(main())
