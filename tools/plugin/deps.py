"""Blame by evidence: an earlier kata is held to its own tests before a failure is put on a later one.

When a test of kata 8 fails, the plugin (tools/plugin/) asks `first_broken` about the earlier katas whose code
ran in that test. Each is judged by its own tests, never by a quick check of this module's: a kata
passes only if every one of its tests does. Its verdict comes from, in this order:

- this run, when it judged all of that kata's tests before (`progress` and `grade` judge in kata order);
- a remembered verdict (tools/verdicts.py: on disk while none of the files it depends on changed, or
  earlier in this process for the same content);
- else a supervised run of its tests, now, in a process of its own; its verdict is then remembered.

If one of them fails, the learner is sent there first instead of reading the later kata's details.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

from tools import verdicts
from tools.judge.context import session as judging
from tools.manifest import ROOT, Kata, by_number
from tools.record import Outcome
from tools.run import supervisor
from tools.run.job import Job


def first_broken(
    candidates: Iterable[Kata], judged: Mapping[int, Sequence[Outcome]] | None = None
) -> tuple[Kata, str] | None:
    """The earliest of these katas whose own tests do not all pass, and why, in a few words.

    judged: whole verdicts of katas already judged in this run, by kata number."""
    chosen = sorted(set(candidates), key=lambda k: k.number)
    verdict = own_verdicts(chosen, judged or {})
    for kata in chosen:
        outcomes = verdict.get(kata.number)
        failing = next((o for o in outcomes if not o.passed), None) if outcomes else None
        if outcomes and failing is None:
            continue
        if failing is None:  # no test of it could run: say so, rather than guess
            return kata, "its own tests could not be run"
        culprit = by_number(failing.blame) if failing.blame else kata
        name = failing.test.split("::")[-1]
        if culprit != kata:
            return culprit, f"{kata.label}, whose code ran here, fails its own test `{name}` because of it"
        return kata, f"it fails its own test `{name}` ({_problem(failing.message, kata)})"
    return None


def own_verdicts(chosen: Sequence[Kata], judged: Mapping[int, Sequence[Outcome]]) -> dict[int, Sequence[Outcome]]:
    """Every outcome of each chosen kata's own tests on the tree being judged: judged in this run, remembered,
    or, for the rest, judged now, all in one supervised run (earlier katas first, so that the later ones'
    failures are blamed from that same run's verdicts)."""
    session = judging()
    on_disk = session.track == "katas"
    known: dict[int, Sequence[Outcome]] = {}
    for kata in chosen:
        remembered = judged.get(kata.number) or (verdicts.recall(session.root, kata) if on_disk else None)
        if remembered:
            known[kata.number] = remembered
    unknown = [kata for kata in chosen if kata.number not in known]
    if unknown:
        root = session.root if session.root != ROOT else None
        job = Job.of(unknown, session.track, root)
        (outcomes,) = supervisor.run([job], pytest_args=["--kata-timeout", f"{session.timeout:g}"])
        for kata in unknown:
            known[kata.number] = mine = [o for o in outcomes if o.kata == kata]
            if on_disk and mine:
                verdicts.keep(session.root, kata, mine)
    return known


def _problem(message: str, kata: Kata) -> str:
    """The first line of a failure's message, without the kata's label, cut to a readable length."""
    first = message.strip().splitlines()[0] if message.strip() else "it fails"
    first = first.removeprefix(f"{kata.label}: ").rstrip(".")
    return first if len(first) <= 160 else first[:157].rsplit(" ", 1)[0] + " ..."


_PASSES: dict[tuple, str] = {}  # a kata's own verdict on one content of the tree, judged once a process


def own_tests(kata: Kata, judged: Mapping[int, Sequence[Outcome]] | None = None) -> str:
    """Whether kata passes its own tests on the tree being judged: "passes", "fails" (it, or a kata it needs), or
    "unknown" (they could not be run). The judge asks it about the earlier kata whose code a crash happened in
    (tools/judge/blame.py): that kata is blamed only when it fails them. judged: as for first_broken (the plugin
    passes this run's, so that `grade` and a class, which judge kata by kata in order, start no second run)."""
    session = judging()
    package = session.package_dir()
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(package.glob("*.py")))).hexdigest()
    key = (str(session.root), session.track, kata.number, digest)
    if key not in _PASSES:
        broken = first_broken([kata], judged)
        _PASSES[key] = "passes" if broken is None else "unknown" if broken[1].endswith("could not be run") else "fails"
    return _PASSES[key]
