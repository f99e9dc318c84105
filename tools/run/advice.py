"""What to do next: the closing lines of a run, per kata at fault or, when a kata passes, the next one."""

from __future__ import annotations

from collections.abc import Sequence

from tools.manifest import Kata, by_number, katas
from tools.record import Outcome
from tools.run.job import UNSEALED
from tools.settings import resolve


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

    outcomes = verdicts.load(resolve("katas").root, kata)
    return outcomes is not None and bool(outcomes) and all(o.passed for o in outcomes)
