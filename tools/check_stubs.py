"""`nox -s stubs`: prove that every test needs its kata to be solved.

For each kata N, a temporary package holds the pristine stub of kata N (made from solutions/,
never read from a learner's katas/) and the reference for every other kata. Kata N's tests run
against it: every test must be collected and fail, and fail because of kata N.
"""

from __future__ import annotations

import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tools import results, stubs
from tools.manifest import Kata, katas


def check(kata: Kata) -> list[str]:
    """Problems found for one kata; empty when its tests discriminate."""
    with tempfile.TemporaryDirectory() as tmp:
        stubs.write_package(Path(tmp) / "katas", stubbed={kata.module})
        outcomes = results.run([kata], track="katas", kata_root=Path(tmp))
    if not outcomes:
        return [f"{kata.label}: no test was collected from {kata.test_file}"]
    problems = []
    for o in outcomes:
        name = o.test.split("::")[-1]
        if o.passed:
            problems.append(f"{kata.label}: {name} passes without kata {kata.number} being solved")
        elif o.blame != kata.number:
            problems.append(f"{kata.label}: {name} fails, but blames kata-{o.blame}: {o.message[:120]}")
    return problems


def main() -> int:
    chosen = katas()
    with ThreadPoolExecutor(max_workers=2) as pool:
        found = list(pool.map(check, chosen))
    for kata, problems in zip(chosen, found):
        verdict = "ok" if not problems else f"{len(problems)} problem(s)"
        print(f"  kata-{kata.number} {kata.name:<16} {verdict}")
        for problem in problems:
            print(f"      {problem}")
    bad = sum(map(bool, found))
    print(f"\n{len(chosen) - bad} of {len(chosen)} katas: every test fails on the pristine stub, blamed on it.")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
