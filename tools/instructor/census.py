"""The class's picture: census.md and census.png from every student's verdicts (tools/instructor/classroom.py).

    count(students, outcomes) -> Census      the numbers
    write(out, students, outcomes)           out/census.md, out/census.png

Per kata how many students finished it; per test the failure rate among the students judged; the named mistakes
(tests/mistakes.toml, its sentence said through tools/mistakes.py) ranked by how many students make them; how
often an earlier kata was the real cause of a failure (the blame is another kata than the test's); the students
whose tests/ differs from the release, with what differs (listed, never used); those that could not be judged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools import mistakes
from tools.instructor import platforms
from tools.manifest import by_number, katas
from tools.record import Outcome

DIFFS = ("added", "changed", "removed")  # a TestsDiff's fields, as class.json keeps them


@dataclass
class Census:
    students: int = 0
    judged: int = 0
    finished: Counter[int] = field(default_factory=Counter)  # kata -> students who finished it
    failed: Counter[str] = field(default_factory=Counter)  # test -> students it failed for
    ran: Counter[str] = field(default_factory=Counter)  # test -> students it was judged for
    named: dict[str, set[str]] = field(default_factory=dict)  # mistake id -> the students it was named for
    earlier: Counter[tuple[int, int]] = field(default_factory=Counter)  # (kata, blamed earlier kata) -> students
    earlier_tests: int = 0  # failed tests whose real cause was an earlier kata
    failed_tests: int = 0
    unjudged: dict[str, str] = field(default_factory=dict)  # student -> reason
    edited: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # student -> what differs in tests/

    def ranked(self) -> list[tuple[str, int]]:
        """The mistake ids by how many students make them, most first (then by id)."""
        return sorted(((i, len(s)) for i, s in self.named.items()), key=lambda p: (-p[1], p[0]))


def count(students: Mapping[str, Mapping[str, Any]], outcomes: Mapping[str, Sequence[Outcome]]) -> Census:
    c = Census(students=len(students))
    for name, student in students.items():
        if student["tests_differ"]:
            c.edited[name] = {k: v for k, v in student["tests_differ"].items() if v}
        if student["reason"]:
            c.unjudged[name] = student["reason"]
            continue
        c.judged += 1
        results = platforms.results(outcomes[name])
        c.finished.update(g.kata.number for g in results.grades if g.done)
        pairs = set()
        for o in outcomes[name]:
            c.ran[o.test] += 1
            if o.passed:
                continue
            c.failed[o.test] += 1
            c.failed_tests += 1
            for i in o.mistakes:
                c.named.setdefault(i, set()).add(name)
            if o.kata is not None and o.blame is not None and o.blame != o.kata.number:
                c.earlier_tests += 1
                pairs.add((o.kata.number, o.blame))
        c.earlier.update(pairs)
    return c


def _sentence(mistake: str) -> str:
    known = mistakes.catalogue().get(mistake)
    return known.says.replace("{", "<").replace("}", ">").replace("|", "\\|") if known else "(not in the catalogue)"


def _rate(n: int, of: int) -> str:
    return f"{100 * n / of:.0f} %" if of else "-"


def markdown(c: Census) -> str:
    lines = [f"# Census: {c.students} students, {c.judged} judged", ""]
    lines += ["## Katas finished", "", "| kata | finished | of judged |", "|---|---|---|"]
    for k in katas():
        done = c.finished[k.number]
        lines.append(f"| {k.number} `{k.name}`{' (bonus)' if k.bonus else ''} | {done} | {_rate(done, c.judged)} |")
    lines += ["", "## Tests by failure rate", "", "| test | failed | of | rate |", "|---|---|---|---|"]
    for test in sorted(c.ran, key=lambda t: (-c.failed[t] / c.ran[t], t)):
        lines.append(f"| `{test}` | {c.failed[test]} | {c.ran[test]} | {_rate(c.failed[test], c.ran[test])} |")
    lines += ["", "## Named mistakes, by how many students make them", ""]
    lines += ["| mistake | students | what it is |", "|---|---|---|"] if c.named else ["None was named."]
    lines += [f"| `{i}` | {n} | {_sentence(i)} |" for i, n in c.ranked()]
    lines += ["", "## An earlier kata as the real cause", ""]
    lines.append(
        f"{c.earlier_tests} of {c.failed_tests} failed tests ({_rate(c.earlier_tests, c.failed_tests)}) failed because "
        "of an earlier kata (the test's blame is that kata)."
    )
    if c.earlier:
        lines += ["", "| kata failing | because of | students |", "|---|---|---|"]
        for (kata, blamed), n in sorted(c.earlier.items(), key=lambda p: (-p[1], p[0])):
            lines.append(f"| {by_number(kata).label} | {by_number(blamed).label} | {n} |")
    lines += ["", "## Students whose tests/ differs from the release (listed, not used)", ""]
    lines += [f"- {n}: " + "; ".join(f"{k} {', '.join(v)}" for k, v in d.items()) for n, d in c.edited.items()] or [
        "None."
    ]
    lines += ["", "## Not judged (0 points)", ""]
    lines += [f"- {n}: {why}" for n, why in c.unjudged.items()] or ["None."]
    return "\n".join(lines) + "\n"


def picture(c: Census, path: Path, top: int = 15) -> bool:
    """census.png: katas finished, and the most made mistakes; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        return False
    ranked = c.ranked()[:top]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [1, 1.4]})
    numbers = [k.number for k in katas()]
    left.bar([str(n) for n in numbers], [c.finished[n] for n in numbers], color="tab:blue")
    left.set(title=f"Katas finished ({c.judged} students judged)", xlabel="kata", ylabel="students")
    right.barh([i for i, _ in ranked][::-1], [n for _, n in ranked][::-1], color="tab:red")
    right.set(title=f"The {len(ranked)} mistakes most named", xlabel="students")
    right.tick_params(axis="y", labelsize=8)
    for axis in (left.yaxis, right.xaxis):  # students are whole
        axis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def write(out: Path, students: Mapping[str, Mapping[str, Any]], outcomes: Mapping[str, Sequence[Outcome]]) -> Census:
    c = count(students, outcomes)
    (out / "census.md").write_text(markdown(c), encoding="utf-8", newline="\n")
    picture(c, out / "census.png")
    return c
