"""`nox -s solutions`: every test against the reference, then: does the manifest's `needs` tell the truth?

The plugin records, per test, which katas' code ran (tools/plugin/). A kata's `needs` in
tools/manifest.toml must agree with its tests: every kata whose code they ran is a need (or a
need of a need), and every kata named in `needs` is used by them. When a need is missing, an
unfinished earlier kata would be imported too late; a stale one sends learners to the wrong kata.
"""

from __future__ import annotations

import sys

from tools.manifest import by_number, closure, command, katas
from tools.record import Outcome
from tools.run import supervisor
from tools.run.job import Job


def disagreements(outcomes: list[Outcome]) -> list[str]:
    used: dict[int, set[int]] = {}
    for outcome in outcomes:
        if outcome.kata is not None:
            used.setdefault(outcome.kata.number, set()).update(outcome.ran)
    found = []
    for kata in katas():
        ran = used.get(kata.number, set()) - {kata.number}
        for number in sorted(ran - {k.number for k in closure(kata)}):
            found.append(
                f"{kata.test_file} runs the code of {by_number(number).label}, which {kata.label} does "
                f"not list in `needs` (tools/manifest.toml)"
            )
        for number in sorted(set(kata.needs) - ran):
            found.append(
                f"{kata.label} lists {by_number(number).label} in `needs`, but {kata.test_file} never runs its code"
            )
    return found


def chooses_tests(argv: list[str]) -> bool:
    """Whether pytest arguments run only a part of the suite, or run it differently (a path, -k, -x, ...), rather
    than only allowing a test more time (--kata-timeout), after which the whole suite still speaks for the manifest."""
    rest = list(argv)
    while rest:
        argument = rest.pop(0)
        if argument == "--kata-timeout" and rest:
            rest.pop(0)
        elif not argument.startswith("--kata-timeout="):
            return True
    return False


@command
def main(argv: list[str]) -> int:
    (outcomes,) = supervisor.run([Job(("tests", *argv), track="solutions")], live=True)
    if not outcomes or any(not o.passed for o in outcomes):
        return 1
    if chooses_tests(argv):  # a chosen part of the suite says nothing about the manifest as a whole
        return 0
    found = disagreements(outcomes)
    print("\n".join(found) or "The manifest's `needs` agree with the code each kata's tests run.")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
