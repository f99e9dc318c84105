"""`nox -s progress`: where a learner stands on every kata, and what to do next."""

from __future__ import annotations

import sys
from collections.abc import Collection
from dataclasses import replace

from tools import verdicts
from tools.manifest import bonus, column, command, katas, required
from tools.record import Outcome
from tools.run import supervisor
from tools.run.job import UNSEALED, Job, JudgeError
from tools.settings import SettingsError, resolve


def status(outcomes: list[Outcome], number: int, done: Collection[int] = ()) -> tuple[str, bool]:
    """(text for the table, done?) for one kata's outcomes; `done`: the katas known to pass every test, which
    this one cannot be waiting for (a kata's own verdict wins: never "done" beside "waits for" it)."""
    outcomes = [replace(o, blame=number) if o.blame in done else o for o in outcomes]
    if any(o.test.endswith(f"::{UNSEALED}") for o in outcomes):  # a student copy's edited tests
        return "not judged: a file that judges it differs from the release (`nox -s reset -- --judge`)", False
    passed = sum(o.passed for o in outcomes)
    total = len(outcomes)
    if not total:
        return "no test ran", False
    if passed == total:
        return "done", True
    failing = [o for o in outcomes if not o.passed]
    waits = sorted({o.blame for o in failing if o.blame and o.blame != number})
    behind = f" (waits for kata-{', kata-'.join(map(str, waits))})" if waits else ""
    if waits and not any(o.blame == number for o in failing):  # nothing can be said of this kata's own code yet
        return behind.strip(" ()"), False
    if passed == 0 and all(o.not_started for o in failing):
        return "not started" + behind, False
    unrun = sum(o.did_not_run for o in outcomes)
    return f"{passed} of {total} tests pass{f' ({unrun} did not run)' if unrun else ''}{behind}", False


def bar(done: int, total: int, width: int = 27) -> str:
    filled = round(width * done / total)
    return "[" + "#" * filled + "." * (width - filled) + f"] {done} of {total} katas done"


def tally(done: Collection[int]) -> str:
    """The bar of the required katas done, then the bonus ones apart: '[###...] 9 of 9 katas done, bonus 0 of 1'."""
    extra = bonus()
    line = bar(sum(k.number in done for k in required()), len(required()))
    return line + (f", bonus {sum(k.number in done for k in extra)} of {len(extra)}" if extra else "")


def all_done(done: Collection[int]) -> str:
    """What to say when every required kata is done: train, and the bonus katas still open, if any."""
    left = [k for k in bonus() if k.number not in done]
    then = f" Bonus, when you like: `nox -s kata-{left[0].number}`, {left[0].path()}." if left else ""
    return f"All {len(required())} katas done. Train your network on real digits: `nox -s train`.{then}"


@command
def main() -> int:
    all_katas = katas()
    try:
        settings = resolve("katas")
    except SettingsError as error:
        print(f"nox -s progress: {error}")
        return 2
    root = settings.root
    options = sys.argv[1:]  # pytest options: then every kata is judged afresh, and nothing is remembered
    found = {kata: None if options else verdicts.load(root, kata) for kata in all_katas}
    todo = [kata for kata, outcomes in found.items() if outcomes is None]
    if todo:
        job = Job.of(todo, root=settings.elsewhere)
        try:
            (outcomes,) = supervisor.run([job], pytest_args=options)
        except JudgeError as error:  # pytest refused the options: say so in a line
            refusal = next((line for line in str(error).splitlines() if "error:" in line), str(error).splitlines()[0])
            print(f"nox -s progress: pytest refused the options {' '.join(options)!r}: {refusal.strip()}")
            return 2
        for kata in todo:
            mine = found[kata] = [o for o in outcomes if o.kata == kata]
            if not options:
                verdicts.store(root, kata, mine)
    rows: dict[bool, list[str]] = {False: [], True: []}  # the required katas' rows, the bonus ones'
    next_kata = None
    finished: set[int] = set()
    for kata in all_katas:  # in kata order: those a kata may wait for are known before it
        text, done = status(found[kata] or [], kata.number, finished)
        if done:
            finished.add(kata.number)
        if not done and next_kata is None and not kata.bonus:
            next_kata = kata
        mark = "x" if done else " "
        rows[kata.bonus].append(f"  [{mark}] {column(kata)}  {text}")
    print("Your katas (katas/):\n")
    print("\n".join(rows[False]))
    if rows[True]:
        print('\nBonus, optional (not needed for "all done"):\n' + "\n".join(rows[True]))
    print("\n" + tally(finished))
    if len(todo) < len(all_katas):
        print(
            f"({len(all_katas) - len(todo)} verdicts remembered: nothing they depend on changed since they were judged)"
        )
    if next_kata is None:
        print(f"\n{all_done(finished)}")
    else:
        print(f"\nnext: `nox -s kata-{next_kata.number}`, open {next_kata.path()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
