"""One submission as a platform's grader judges it (tools/instructor/autograde.py): where it looks, what it writes,
and that a PrairieLearn submission whose katas cannot be imported is not judged. The judge itself is stood in for
here (tools/tests/test_gradescope.py runs it end to end)."""

from __future__ import annotations

import json

import pytest

from tools import stubs
from tools.instructor import autograde, grade
from tools.instructor.grade import KataGrade
from tools.manifest import katas
from tools.record import Outcome
from tools.tests.test_platforms import GRADESCOPE, PRAIRIELEARN, valid


@pytest.fixture
def judge(monkeypatch):
    """grade.grade stood in for: every kata's one test passes, but the last kata's; the roots it was given."""
    given = []

    def fake(root=None):
        given.append(root)
        last = katas()[-1]
        return [
            KataGrade(
                k, (Outcome(f"tests/test_{k.module}.py::t", "failed" if k == last else "passed", blame=k.number),)
            )
            for k in katas()
        ]

    monkeypatch.setattr(grade, "grade", fake)
    return given


def files(folder, edit=None):
    folder.mkdir(parents=True)
    for name, text in stubs.render(()).items():
        if name != "__init__.py":
            (folder / name).write_text(edit(name, text) if edit else text, encoding="utf-8")


def test_kata_files_alone_are_judged_as_a_katas_package(tmp_path, judge):
    files(tmp_path / "submission")
    data = autograde.run("gradescope", tmp_path)
    valid(data, GRADESCOPE)
    assert json.loads((tmp_path / "results" / "results.json").read_text(encoding="utf-8")) == data
    (root,) = judge
    assert not root.exists()  # a temporary copy, gone once judged
    assert data["score"] == sum(k.points for k in katas()[:-1])


def test_prairielearn_reads_student_and_does_not_judge_what_cannot_be_imported(tmp_path, judge):
    files(tmp_path / "student", lambda name, text: text + "\ndef broken(:\n" if name == "relu.py" else text)
    data = autograde.run("prairielearn", tmp_path)
    valid(data, PRAIRIELEARN)
    assert data["gradable"] is False and data["format_errors"][0].startswith("katas/relu.py:")
    assert judge == []  # PrairieLearn counts no attempt, so nothing was judged
    gs = tmp_path / "gs"
    files(gs / "submission", lambda name, text: text + "\ndef broken(:\n" if name == "relu.py" else text)
    assert "katas/relu.py:" in autograde.run("gradescope", gs)["output"] and len(judge) == 1  # Gradescope: judged


def test_prairielearn_grades_an_importable_submission(tmp_path, judge):
    files(tmp_path / "student")
    data = autograde.run("prairielearn", tmp_path)
    valid(data, PRAIRIELEARN)
    total = sum(k.points for k in katas())
    assert data["gradable"] is True and data["score"] == pytest.approx(sum(k.points for k in katas()[:-1]) / total)


def test_nothing_to_judge_still_writes_results(tmp_path, judge, monkeypatch, capsys):
    (tmp_path / "submission").mkdir()
    monkeypatch.setenv("AUTOGRADER_ROOT", str(tmp_path))
    assert autograde.main(["gradescope"]) == 0
    data = json.loads((tmp_path / "results" / "results.json").read_text(encoding="utf-8"))
    assert data["score"] == 0 and "no katas/" in data["output"] and "no katas/" in capsys.readouterr().out
    assert judge == []
    assert autograde.main(["moodle"]) == 2 and "gradescope,prairielearn" in capsys.readouterr().err
