"""The course platforms' results (tools/instructor/platforms.py): Gradescope's results.json and PrairieLearn's
external grader results, each checked against the fields its documentation gives (a JSON schema each, which refuses
a key the documentation does not have), with `nox -s grade`'s points."""

from __future__ import annotations

import json
import random

import pytest

from tools.instructor import platforms
from tools.instructor.grade import KataGrade, summary
from tools.manifest import katas
from tools.record import Outcome

VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
NUMBER = {"type": "number"}
# https://gradescope-autograders.readthedocs.io/en/latest/specs/ ("Output format"): every key it documents.
GRADESCOPE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["score", "execution_time", "output", "visibility", "stdout_visibility", "tests"],
    "properties": {
        "score": NUMBER,
        "execution_time": NUMBER,
        "output": {"type": "string"},
        "output_format": {"type": "string"},
        "test_output_format": {"type": "string"},
        "test_name_format": {"type": "string"},
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "leaderboard": {"type": "array"},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "score", "max_score", "status", "output", "tags", "visibility"],
                "properties": {
                    "score": NUMBER,
                    "max_score": NUMBER,
                    "status": {"enum": ["passed", "failed"]},
                    "name": {"type": "string", "minLength": 1},
                    "name_format": {"type": "string"},
                    "number": {"type": "string"},
                    "output": {"type": "string"},
                    "output_format": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "visibility": VISIBILITY,
                    "extra_data": {"type": "object"},
                },
            },
        },
    },
}
# https://prairielearn.readthedocs.io/en/latest/externalGrading/ ("Grading results"): score in [0, 1] when
# gradable; `gradable: false` with `format_errors` (a string or a list of them) when not.
PL_TEST = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "points", "max_points", "message"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "points": NUMBER,
        "max_points": NUMBER,
        "message": {"type": "string"},
        "output": {"type": "string"},
        "images": {"type": "array"},
    },
}
PRAIRIELEARN = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "gradable": {"type": "boolean"},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "message": {"type": "string"},
        "output": {"type": "string"},
        "images": {"type": "array"},
        "tests": {"type": "array", "items": PL_TEST},
        "format_errors": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
    },
    "if": {"properties": {"gradable": {"const": False}}, "required": ["gradable"]},
    "then": {"required": ["format_errors"]},
    "else": {"required": ["score"]},
}


def valid(data: dict, schema: dict) -> None:
    json.dumps(data, allow_nan=False)  # plain JSON: no NaN, no tuples that only Python reads
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator(schema).validate(data)


def outcomes(passing: dict[int, int], tests: int = 3) -> list[Outcome]:
    """`tests` tests for each kata, the first passing[kata] of them passing (0 when not listed)."""
    made = []
    for kata in katas():
        for i in range(tests):
            name = f"tests/test_{kata.module}.py::test_{i}"
            if i < passing.get(kata.number, 0):
                made.append(Outcome(name, "passed"))
            else:
                made.append(
                    Outcome(
                        name,
                        "failed",
                        blame=kata.number,
                        message=f"{kata.label}: wrong\n  detail {i}",
                        mistakes=(f"{kata.module}/m{i}",),
                    )
                )
    return made


def test_gradescope_has_the_documented_fields_and_the_grade_s_points():
    first, second = katas()[0], katas()[1]
    r = platforms.results(outcomes({first.number: 3, second.number: 2}), seconds=12.6)
    data = platforms.gradescope(r)
    valid(data, GRADESCOPE)
    points = summary(list(r.grades))["points"]
    assert data["score"] == points == first.points and data["execution_time"] == 13
    assert sum(t["score"] for t in data["tests"]) == pytest.approx(points)
    assert sum(t["max_score"] for t in data["tests"]) == pytest.approx(sum(k.points for k in katas()))
    assert data["output"].startswith(f"1 of {len([k for k in katas() if not k.bonus])} katas done")
    half = [t for t in data["tests"] if t["name"].startswith(second.label)]
    assert [t["status"] for t in half] == ["passed", "passed", "failed"]
    assert [t["score"] for t in half] == [0, 0, 0]  # all or nothing, as `nox -s grade` counts a kata
    assert "earns its 1 point when all its 3 tests pass (2 do)" in half[0]["output"]
    assert half[2]["output"] == f"{second.label}: wrong\n  detail 2" and half[2]["tags"] == [f"{second.module}/m2"]
    assert [t["tags"] for t in data["tests"] if t["name"].startswith(first.label)] == [[], [], []]


def test_prairielearn_has_the_documented_fields_and_a_score_in_0_1():
    first = katas()[0]
    r = platforms.results(outcomes({first.number: 3}))
    data = platforms.prairielearn(r)
    valid(data, PRAIRIELEARN)
    total = summary(list(r.grades))
    assert data["gradable"] is True and data["score"] == pytest.approx(total["points"] / total["max_points"])
    assert sum(t["points"] for t in data["tests"]) == pytest.approx(total["points"])
    failing = [t for t in data["tests"] if t["points"] == 0 and t["max_points"] > 0]
    assert failing and all(t["message"].endswith(": wrong") and "detail" in t["output"] for t in failing)


def test_a_right_submission_scores_everything_and_a_stub_nothing():
    right = platforms.results(outcomes({k.number: 3 for k in katas()}))
    assert platforms.gradescope(right)["score"] == sum(k.points for k in katas())
    assert platforms.prairielearn(right)["score"] == 1.0
    assert all(t["output"] == "" for t in platforms.gradescope(right)["tests"])
    stub = platforms.results(outcomes({}))
    assert platforms.gradescope(stub)["score"] == 0 and platforms.prairielearn(stub)["score"] == 0.0


def test_the_total_is_the_grade_s_whatever_the_mix():
    rng = random.Random(18)
    for _ in range(20):
        tests = rng.randint(1, 7)
        mix = {k.number: rng.randint(0, tests) for k in katas()}
        r = platforms.results(outcomes(mix, tests))
        expected = summary([KataGrade(g.kata, g.outcomes) for g in r.grades])["points"]
        data = platforms.gradescope(r)
        assert data["score"] == expected == sum(k.points for k in katas() if mix[k.number] == tests)
        assert sum(t["score"] for t in data["tests"]) == pytest.approx(expected)


def test_a_submission_that_could_not_be_judged():
    r = platforms.results([], reason="a zip that cannot be read: File is not a zip file")
    gs = platforms.gradescope(r)
    valid(gs, GRADESCOPE)
    assert gs["score"] == 0 and gs["tests"] == [] and gs["output"].startswith("a zip that cannot be read")
    pl = platforms.prairielearn(r)
    valid(pl, PRAIRIELEARN)
    assert pl == {
        "gradable": False,
        "format_errors": ["a zip that cannot be read: File is not a zip file"],
        "message": "a zip that cannot be read: File is not a zip file",
    }


def test_kata_files_that_cannot_be_imported_are_not_gradable_on_prairielearn():
    errors = ("katas/relu.py:2: invalid syntax",)
    r = platforms.results(outcomes({katas()[0].number: 3}), format_errors=errors)
    pl = platforms.prairielearn(r)
    valid(pl, PRAIRIELEARN)
    assert pl["gradable"] is False and pl["format_errors"] == list(errors) and "score" not in pl
    gs = platforms.gradescope(r)  # Gradescope has no such state: the judged verdicts, and the file named
    valid(gs, GRADESCOPE)
    assert gs["score"] == katas()[0].points and "katas/relu.py:2: invalid syntax" in gs["output"]


def test_the_schemas_refuse_what_the_documentation_does_not_have():
    jsonschema = pytest.importorskip("jsonschema")
    data = platforms.gradescope(platforms.results(outcomes({})))
    for broken in (
        {**data, "scor": 1},
        {**data, "visibility": "public"},
        {**data, "tests": [{**data["tests"][0], "status": "skipped"}]},
        {**data, "tests": [{k: v for k, v in data["tests"][0].items() if k != "max_score"}]},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.Draft202012Validator(GRADESCOPE).validate(broken)
    pl = platforms.prairielearn(platforms.results(outcomes({})))
    for broken in ({**pl, "score": 1.5}, {"gradable": False}, {**pl, "tests": [{"name": "t", "points": 1}]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.Draft202012Validator(PRAIRIELEARN).validate(broken)
