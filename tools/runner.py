"""The command line of the supervisor (tools/run/): `nox -s kata-N` and the other sessions that judge kata code.

    python -m tools.runner [--track katas|solutions] [--remember] [pytest arguments]

(`nox -s kata-N` runs `--track katas --remember tests/test_<kata>.py`: --remember keeps the verdict of a
run of whole katas for `nox -s progress`, tools/verdicts.py.) `python -m tools.runner --worker SPEC` is a
worker (tools/run/worker.py), started by the supervisor.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from tools.cli import Parser
from tools.manifest import command, kata_of_test
from tools.record import Outcome
from tools.run import supervisor
from tools.run.advice import next_steps
from tools.run.job import Job, JudgeError
from tools.run.worker import work
from tools.settings import TRACKS, Settings, SettingsError, resolve, seconds_argument


def remember(settings: Settings, args: Sequence[str], outcomes: Sequence[Outcome]) -> None:
    """After `nox -s kata-N` (--remember) with no options of the learner's, only whole kata test files: keep the
    verdict for `nox -s progress`."""
    from tools import verdicts

    chosen = [None if "::" in a else kata_of_test(a) for a in args]
    if settings.track != "katas" or not chosen or None in chosen:
        return
    for kata in dict.fromkeys(k for k in chosen if k is not None):
        verdicts.store(settings.root, kata, [o for o in outcomes if o.kata == kata])


@command
def main(argv: list[str]) -> int:
    if argv[:1] == ["--worker"]:
        work(Path(argv[1]))
        return 0
    parser = Parser(prog="python -m tools.runner", add_help=False)
    parser.add_argument("--track", choices=TRACKS)
    parser.add_argument("--kata-timeout", type=seconds_argument)  # checked here: one line, not pytest's usage
    # A learner's run of whole katas (`nox -s kata-N`, check(N)): remember the verdict when no option of theirs
    # narrows it, and leave pytest's short summary out (-rN; an -r of the learner's comes later and wins): the
    # closing lines below say what to do.
    parser.add_argument("--remember", action="store_true")
    parser.add_argument("-n", "--numprocesses", "--dist")  # pytest-xdist's: refused below, in one line
    known, rest = parser.parse_known_args(argv)
    if known.numprocesses is not None:
        said = "-n / --numprocesses / --dist are pytest-xdist's, and the judge runs its own workers: leave them out"
        print(said, file=sys.stderr)
        return 2
    try:
        settings = resolve(known.track, known.kata_timeout)
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    if known.kata_timeout is not None:  # the worker's pytest reads the environment itself
        rest = [*rest, "--kata-timeout", str(known.kata_timeout)]
    quiet = ["--disable-warnings"] if settings.track == "katas" else []  # torch's warnings are not the learner's
    try:
        (outcomes,) = supervisor.run(
            [Job(("-rN", *rest) if known.remember else tuple(rest), settings.track)], live=True, pytest_args=quiet
        )
    except JudgeError as error:
        return error.code  # pytest printed why
    if known.remember:
        remember(settings, rest, outcomes)
    if not outcomes:  # never a success: a run that judged nothing says nothing about the code
        print("No test ran, so nothing was judged: check the test names and options given (`-k`, `::name`).")
        return 1
    lines = next_steps(settings.track, outcomes)
    success = all(o.passed for o in outcomes)
    if lines:
        title = "done" if success else "what to do next"
        print(f"{'-' * 30} {title} {'-' * 30}")
        print("\n".join(lines))
    return 0 if success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
