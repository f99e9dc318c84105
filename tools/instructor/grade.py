"""`nox -s grade`: every kata's tests on the learner's code, as a grade a course platform can read.

    python -m tools.instructor.grade [--out DIR]     (default DIR: reports)

Writes DIR/grade.json (for scripts), DIR/grade.xml (JUnit, for CI dashboards) and DIR/grade.md (a
Markdown table, also appended to $GITHUB_STEP_SUMMARY when GitHub Actions sets it), and prints the
table. A kata earns its points (tools/manifest.toml, 1 each unless set) when all its tests pass, as
in GitHub Classroom, where each kata is one all-or-nothing step. A bonus kata (`bonus = true`) is
counted apart: "9 of 9 done" means the required katas, and the bonus is worth the points its entry
gives it (none unless set). The exit status is 0 whatever the score; 2 only when grading itself
could not run.
"""

from __future__ import annotations

import json
import os
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from tools.cli import Parser
from tools.learner import progress
from tools.manifest import Kata, command, katas
from tools.record import Outcome
from tools.run import supervisor
from tools.run.job import Job, JudgeError
from tools.settings import SettingsError, resolve


@dataclass(frozen=True)
class KataGrade:
    kata: Kata
    outcomes: tuple[Outcome, ...]

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def done(self) -> bool:
        return bool(self.outcomes) and self.passed == len(self.outcomes)

    @property
    def earned(self) -> int:
        return self.kata.points if self.done else 0

    @property
    def status(self) -> str:
        """As `nox -s progress` says it: done, not started, 3 of 5 tests pass, waits for kata-7."""
        return progress.status(list(self.outcomes), self.kata.number)[0]


def grade(root: Path | None = None) -> list[KataGrade]:
    """Judge every kata of the tree at root (the repository's katas/ when None) under the supervisor."""
    chosen = katas()
    jobs = [Job.of([kata], root=root) for kata in chosen]
    results = supervisor.run(jobs, workers=2, pytest_args=["--disable-warnings"])
    return [KataGrade(kata, tuple(outcomes)) for kata, outcomes in zip(chosen, results)]


def summary(grades: list[KataGrade]) -> dict:
    """The totals: katas done of the required ones, the bonus ones apart, and points over every kata."""
    total = sum(g.kata.points for g in grades)
    earned = sum(g.earned for g in grades)
    asked = [g for g in grades if not g.kata.bonus]
    extra = [g for g in grades if g.kata.bonus]
    return {
        "katas_done": sum(g.done for g in asked),
        "katas": len(asked),
        "bonus_done": sum(g.done for g in extra),
        "bonus": len(extra),
        "points": earned,
        "max_points": total,
        "percent": round(100 * earned / total, 1) if total else 0.0,
    }


def as_json(grades: list[KataGrade]) -> str:
    report = {
        **summary(grades),
        "by_kata": [
            {
                "kata": g.kata.number,
                "name": g.kata.name,
                "bonus": g.kata.bonus,
                "file": g.kata.path(),
                "status": g.status,
                "tests_passed": g.passed,
                "tests": len(g.outcomes),
                "points": g.earned,
                "max_points": g.kata.points,
                "failing": [o.test for o in g.outcomes if not (o.passed)],
                # test -> the ids (tests/mistakes.toml) of the likely causes its failure names
                "mistakes": {o.test: list(o.mistakes) for o in g.outcomes if o.mistakes},
            }
            for g in grades
        ],
    }
    return json.dumps(report, indent=2) + "\n"


def as_junit(grades: list[KataGrade]) -> str:
    suites = ET.Element("testsuites", name="katas", tests=str(sum(len(g.outcomes) for g in grades)))
    suites.set("failures", str(sum(len(g.outcomes) - g.passed for g in grades)))
    for g in grades:
        suite = ET.SubElement(suites, "testsuite", name=g.kata.label, tests=str(len(g.outcomes)))
        suite.set("failures", str(len(g.outcomes) - g.passed))
        for o in g.outcomes:
            file, _, name = o.test.partition("::")
            case = ET.SubElement(suite, "testcase", classname=file.removesuffix(".py").replace("/", "."), name=name)
            if not o.passed:  # a kata's test passes or fails: one that was skipped or did not run fails
                first = next((line for line in o.message.splitlines() if line.strip()), "failed")
                failure = ET.SubElement(case, "failure", message=first[:300])
                failure.text = o.message
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def as_markdown(grades: list[KataGrade]) -> str:
    total = summary(grades)
    rows = [["kata", "file", "tests passed", "points", "status"], ["---"] * 5]
    rows += [
        [
            f"{g.kata.number} `{g.kata.name}`{' (bonus)' if g.kata.bonus else ''}",
            f"`{g.kata.path()}`",
            f"{g.passed} of {len(g.outcomes)}",
            f"{g.earned} of {g.kata.points}",
            g.status,
        ]
        for g in grades
    ]
    rows.append(
        [
            "**total**",
            "",
            f"{sum(g.passed for g in grades)} of {sum(len(g.outcomes) for g in grades)}",
            f"**{total['points']} of {total['max_points']}**",
            f"{total['katas_done']} of {total['katas']} katas done{bonus_part(total)}",
        ]
    )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]  # columns that line up in a terminal
    lines = ["| " + " | ".join("-" * w if c == "---" else c.ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    return (
        f"## Katas: {total['katas_done']} of {total['katas']} done, {total['points']} of {total['max_points']} points "
        f"({total['percent']:g} %){bonus_part(total)}\n\n" + "\n".join(lines) + "\n"
    )


def bonus_part(total: dict) -> str:
    """', bonus 0 of 1' when the course has bonus katas; '' when it has none."""
    return f", bonus {total['bonus_done']} of {total['bonus']}" if total["bonus"] else ""


@command
def main(argv: list[str]) -> int:
    parser = Parser(prog="nox -s grade --", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports"), help="folder for the reports (default reports)")
    args = parser.parse_args(argv)
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out}: that is a file; give a folder (it is created if missing)")
    start = time.perf_counter()
    try:
        grades = grade(resolve("katas").elsewhere)
    except SettingsError as error:
        parser.error(str(error))
    except JudgeError as error:
        print(f"grade: the tests could not run, so there is no grade: {error}", file=sys.stderr)
        return 2
    missing = [g.kata.label for g in grades if not g.outcomes]
    if missing:
        print(f"grade: no test was collected for {', '.join(missing)}; is tests/ complete?", file=sys.stderr)
        return 2
    reports = {"grade.json": as_json(grades), "grade.xml": as_junit(grades), "grade.md": as_markdown(grades)}
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, text in reports.items():
            (args.out / name).write_text(text, encoding="utf-8", newline="\n")
        step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if step_summary:
            with open(step_summary, "a", encoding="utf-8") as file:
                file.write(reports["grade.md"])
    except OSError as error:
        print(f"grade: could not write the reports to {args.out}: {error.strerror or error}", file=sys.stderr)
        return 2
    print(reports["grade.md"])
    names = ", ".join(str(args.out / name) for name in reports)
    print(f"reports: {names} ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
