"""One submission's verdicts as a course platform reads them: one Results object, one writer per platform.

    results(outcomes, seconds=..., reason=..., format_errors=...) -> Results   the per-test records, by kata
    gradescope(results) -> dict      Gradescope's results.json (gradescope-autograders.readthedocs.io, specs)
    prairielearn(results) -> dict    PrairieLearn's external grader results.json (docs: externalGrading)

Points are `nox -s grade`'s (tools/instructor/grade.py, whose KataGrade and summary these use): a kata earns its
manifest points when all its tests pass, nothing otherwise, and a bonus kata's points count in the total. A platform
lists tests, so a kata's points are split evenly over its tests as their max_score (max_points), and each test scores
its share only when its kata is done: a passing test of an unfinished kata shows "passed" with 0 of its share, and
says why. The top-level score is the grade's points (Gradescope) or points over the maximum (PrairieLearn), the same
as `nox -s grade`'s total however the shares round.

A submission that could not be judged (no katas/, a broken zip: Submission.reason) scores 0 on Gradescope with the
reason as its output; on PrairieLearn it is not gradable (`gradable: false`, the reason in `format_errors`), and so
is one whose kata files are missing or do not compile (Submission.format_errors): PrairieLearn then counts no attempt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from tools.instructor.grade import KataGrade, bonus_part, summary
from tools.manifest import katas
from tools.record import Outcome

Visibility = Literal["hidden", "after_due_date", "after_published", "visible"]  # Gradescope's four


@dataclass(frozen=True)
class Results:
    """One submission: its verdicts grouped by kata, or why it could not be judged."""

    grades: tuple[KataGrade, ...]
    seconds: float = 0.0  # how long judging took
    reason: str = ""  # why it could not be judged; "" when it was
    format_errors: tuple[str, ...] = ()  # kata files missing or that do not compile

    @property
    def total(self) -> dict[str, Any]:
        return summary(list(self.grades))

    @property
    def headline(self) -> str:
        """'7 of 9 katas done, 7 of 9 points (77.8 %), bonus 0 of 1', as grade.md's title says it."""
        t = self.total
        return (
            f"{t['katas_done']} of {t['katas']} katas done, {t['points']} of {t['max_points']} points "
            f"({t['percent']:g} %){bonus_part(t)}"
        )


def results(
    outcomes: Iterable[Outcome], seconds: float = 0.0, reason: str = "", format_errors: Iterable[str] = ()
) -> Results:
    """The per-test records grouped by kata in the manifest's order; a kata with none earns nothing."""
    by_kata: dict[int, list[Outcome]] = {k.number: [] for k in katas()}
    for o in outcomes:
        if o.kata is not None:
            by_kata[o.kata.number].append(o)
    grades = tuple(KataGrade(k, tuple(by_kata[k.number])) for k in katas())
    return Results(grades, seconds, reason, tuple(format_errors))


def _share(g: KataGrade) -> float:
    """Each test's part of its kata's points."""
    return g.kata.points / len(g.outcomes) if g.outcomes else 0.0


def _test_name(o: Outcome, g: KataGrade) -> str:
    return f"{g.kata.label}: {o.test.partition('::')[2] or o.test}"


def _said(o: Outcome, g: KataGrade) -> str:
    """What the learner reads for one test: the failure's message; for a pass in an unfinished kata, why it
    scores nothing yet; "" for a pass in a finished one."""
    if not o.passed:
        return o.message or "failed"
    if g.done:
        return ""
    worth = f"{g.kata.points} point{'s' if g.kata.points != 1 else ''}"
    return f"Passed. {g.kata.label} earns its {worth} when all its {len(g.outcomes)} tests pass ({g.passed} do)."


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _overall(r: Results) -> str:
    lines = [r.reason] if r.reason else []
    lines += [r.headline]
    if r.format_errors:
        lines += ["Kata files that cannot be imported:", *(f"  {e}" for e in r.format_errors)]
    return "\n".join(lines)


def gradescope(r: Results, visibility: Visibility = "visible", stdout: Visibility = "hidden") -> dict[str, Any]:
    """Gradescope's results.json: the grade's points as `score`, one test per kata test (visibility: when
    students see them; stdout: when they see the autograder's own output, which only instructors need)."""
    tests = [
        {
            "name": _test_name(o, g),
            "number": f"{g.kata.number}.{i}",
            "score": _share(g) if g.done else 0.0,
            "max_score": _share(g),
            "status": o.status,
            "output": _said(o, g),
            "tags": list(o.mistakes),
            "visibility": visibility,
        }
        for g in r.grades
        for i, o in enumerate(g.outcomes, start=1)
    ]
    return {
        "score": r.total["points"],
        "execution_time": round(r.seconds),
        "output": _overall(r),
        "visibility": visibility,
        "stdout_visibility": stdout,
        "extra_data": {k: v for k, v in r.total.items() if k != "percent"},
        "tests": tests,
    }


def prairielearn(r: Results) -> dict[str, Any]:
    """PrairieLearn's results.json: `score` in [0, 1], one test per kata test; not gradable, with its
    `format_errors`, when the submission could not be judged or its kata files cannot be imported."""
    if r.reason or r.format_errors:
        return {
            "gradable": False,
            "format_errors": [e for e in (r.reason, *r.format_errors) if e],
            "message": r.reason or "Kata files that cannot be imported: fix them and submit again.",
        }
    total = r.total
    tests = [
        {
            "name": _test_name(o, g),
            "description": g.kata.summary,
            "points": _share(g) if g.done else 0.0,
            "max_points": _share(g),
            "message": _first_line(_said(o, g)) or "Passed.",
            **({"output": o.message} if "\n" in o.message.strip() and not o.passed else {}),
        }
        for g in r.grades
        for o in g.outcomes
    ]
    score = total["points"] / total["max_points"] if total["max_points"] else 0.0
    return {"gradable": True, "score": min(1.0, max(0.0, score)), "message": _overall(r), "tests": tests}
