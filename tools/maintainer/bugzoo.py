"""The bug zoo: do the tests catch the classic mistakes, and do they name them?

Each mistake in tools/maintainer/bugzoo.toml is one exact text replacement in the reference solution of a
kata. For each, a temporary `katas` package holds every reference module with that one module
mutated, and that kata's tests run against it (tools/run/). A mistake is caught when a
test fails; it is named when a failure's verdict names (Outcome.mistakes) one of the catalogue's mistakes
that list it (tests/mistakes.toml, their `zoo`): by id, whatever the words say.

    python -m tools.maintainer.bugzoo              run the whole zoo (exit 1 if one escapes, or < 90 % named)
    python -m tools.maintainer.bugzoo --kata 3     only kata 3's mistakes
    python -m tools.maintainer.bugzoo --list       list the mistakes without running them
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tools import mistakes, stubs
from tools.manifest import Kata, column, command, katas, parse_number, tomllib
from tools.record import Outcome
from tools.run import supervisor
from tools.run.job import Job

ZOO = Path(__file__).with_name("bugzoo.toml")
NEEDED = 0.9  # the share of mistakes that must be named by their own id


@dataclass(frozen=True)
class Mistake:
    kata: Kata
    id: str
    what: str
    old: str
    new: str

    @property
    def key(self) -> str:
        """module/id, as the catalogue's `zoo` lists name it."""
        return f"{self.kata.module}/{self.id}"

    @property
    def names(self) -> tuple[str, ...]:
        """The ids of the catalogue's mistakes (tests/mistakes.toml) that should name this one."""
        return tuple(m.id for m in mistakes.catalogue().values() if self.key in m.zoo)

    def apply(self, source: str) -> str:
        """The reference source with this mistake made; `old` must occur once, inside a kata region."""
        count = source.count(self.old)
        assert count == 1, f"{self.kata.module}/{self.id}: `old` occurs {count} times in the reference, not once"
        start = source.index(self.old)
        regions = _regions(source)
        assert any(a <= start and start + len(self.old) <= b for a, b in regions), (
            f"{self.kata.module}/{self.id}: `old` is not inside a `# >>> kata` region (the learner's code)"
        )
        return source.replace(self.old, self.new)


@dataclass(frozen=True)
class Verdict:
    mistake: Mistake
    caught: bool
    named: tuple[str, ...]  # the ids the failures' verdicts named, in order, each once

    @property
    def own(self) -> str:
        """The first id named that is one of the mistake's own (catalogue entries listing it); '' when none."""
        return next((i for i in self.named if i in self.mistake.names), "")


def _regions(source: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of the learner's code in the kata regions of a module."""
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    return [(starts[r.begin + 1], starts[r.end]) for r in stubs.regions(lines)]


def load() -> list[Mistake]:
    """Every mistake in the zoo, in kata order, each checked against its reference source."""
    table = tomllib.loads(ZOO.read_text(encoding="utf-8"))
    unknown = set(table) - {k.module for k in katas()}
    assert not unknown, f"{ZOO.name} names modules that are not katas: {sorted(unknown)}"
    zoo = []
    for kata in katas():
        source = (stubs.SOLUTIONS / f"{kata.module}.py").read_text(encoding="utf-8")
        for entry in table.get(kata.module, []):
            mistake = Mistake(kata, entry["id"], entry["what"], entry["old"], entry["new"])
            mistake.apply(source)
            zoo.append(mistake)
    ids = [(m.kata.module, m.id) for m in zoo]
    assert len(ids) == len(set(ids)), "two mistakes of one kata share an id"
    listed = {z for m in mistakes.catalogue().values() for z in m.zoo}
    missing = sorted(listed - {m.key for m in zoo})
    assert not missing, f"tests/mistakes.toml lists bug-zoo mistakes that {ZOO.name} does not have: {missing}"
    return zoo


def judge(zoo: list[Mistake]) -> list[Verdict]:
    """Run each mistake's kata tests against the reference package with that one mistake made."""
    with tempfile.TemporaryDirectory() as tmp:
        jobs = []
        for i, mistake in enumerate(zoo):
            package = Path(tmp) / str(i) / "katas"
            stubs.write_package(package, stubbed=())
            path = package / f"{mistake.kata.module}.py"
            path.write_text(mistake.apply(path.read_text(encoding="utf-8")), encoding="utf-8", newline="\n")
            jobs.append(Job.of([mistake.kata], root=package.parent))
        return [verdict(mistake, outcomes) for mistake, outcomes in zip(zoo, supervisor.run(jobs, workers=2))]


def verdict(mistake: Mistake, outcomes: list[Outcome]) -> Verdict:
    failures = [o for o in outcomes if not o.passed]
    named = tuple(dict.fromkeys(i for o in failures for i in o.mistakes))
    return Verdict(mistake, caught=bool(failures), named=named)


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.maintainer.bugzoo", description=__doc__.splitlines()[0])
    parser.add_argument("--kata", help="only this kata's mistakes (a number or a name)")
    parser.add_argument("--list", action="store_true", help="list the mistakes without running them")
    args = parser.parse_args(argv)
    zoo = load()
    if args.kata:
        try:
            chosen = parse_number(args.kata)
        except ValueError as error:
            parser.error(str(error))
        zoo = [m for m in zoo if m.kata == chosen]
    if args.list:
        for m in zoo:
            print(f"  {column(m.kata)}  {m.id:<24} {m.what}  [{', '.join(m.names) or 'named by no id'}]")
        print(f"\n{len(zoo)} mistakes.")
        return 0
    started = time.monotonic()
    verdicts = judge(zoo)
    for v in verdicts:
        m = v.mistake
        if not v.caught:
            said = "(no test fails)"
        elif v.own:
            said = v.own
        elif v.named:
            said = f"(named {', '.join(v.named)}; its own: {', '.join(m.names) or 'none in tests/mistakes.toml'})"
        else:
            said = "(named nothing; the test still fails)"
        print(f"  {column(m.kata)}  {m.id:<24} {'yes' if v.caught else 'NO ':<4} {said}")
    caught = sum(v.caught for v in verdicts)
    named = sum(v.caught and bool(v.own) for v in verdicts)
    share = named / len(verdicts) if verdicts else 1.0
    print(
        f"\n{len(verdicts)} mistakes, {caught} caught, {named} named by their own id ({100 * share:.0f} %). "
        f"{time.monotonic() - started:.0f} s."
    )
    return 0 if caught == len(verdicts) and share >= NEEDED else 1


if __name__ == "__main__":
    sys.exit(main())
