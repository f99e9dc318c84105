"""For instructors: a student copy without solutions (`nox -s release`), and the grade (`nox -s grade`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tools import stubs
from tools.instructor import grade, release
from tools.manifest import ROOT, bonus, katas, required


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("release") / "course"
    assert release.main([str(dest)]) == 0
    return dest


def run(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, encoding="utf-8", check=False
    )


def test_the_copy_has_the_katas_as_stubs_and_no_answer_anywhere(copy):
    assert not (copy / "solutions").exists() and not (copy / "tools" / "maintainer").exists()
    assert not list(copy.rglob("bugzoo*")) and not (copy / "tools" / "tests").exists()
    for name, text in stubs.render().items():
        assert (copy / "katas" / name).read_text(encoding="utf-8") == text
    for kata in katas():
        assert (copy / kata.test_file).is_file()
    assert release.leaks(copy) == []
    readme = (copy / "README.md").read_text(encoding="utf-8")
    assert "without the reference solutions" in readme and "## Your grade" in readme
    assert "<!-- release" not in readme and "bugzoo" not in readme and "For instructors" not in readme


def test_the_leak_check_finds_a_solution_line_wherever_it_is(copy, tmp_path):
    planted = tmp_path / "course"
    shutil.copytree(copy, planted)
    line = next(line for line in stubs.solution_lines("affine") if "dW" in line)
    (planted / "tests" / "notes.txt").write_text(f"a student could read:\n    {line}\n", encoding="utf-8")
    (planted / "solutions").mkdir()
    found = release.leaks(planted)
    assert any(f.startswith("tests/notes.txt:2 holds a line of solutions/affine.py") for f in found), found
    assert "solutions/ is in the copy" in found


def test_release_refuses_a_folder_it_could_spoil_in_one_line(tmp_path, capsys):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("work\n", encoding="utf-8")
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    for args in ([str(tmp_path / "full")], [str(tmp_path / "a-file")], [str(ROOT / "course")], [], ["-x"]):
        assert release.main(args) == 2, args
        out = capsys.readouterr().out
        assert len(out.strip().splitlines()) == 1, out
    assert (tmp_path / "full" / "mine.txt").read_text(encoding="utf-8") == "work\n"
    assert not (ROOT / "course").exists()


def test_the_workflows_are_github_workflows_and_classroom_grades_each_kata(copy):
    workflows = sorted((copy / ".github" / "workflows").glob("*.yml"))
    assert [w.name for w in workflows] == ["classroom.yml"]  # one workflow, one install per push
    checked = run(copy, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, workflows))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    classroom = (copy / ".github" / "workflows" / "classroom.yml").read_text(encoding="utf-8")
    for kata in katas():
        assert f"command: 'python -m nox -s kata-{kata.number} || " in classroom
        assert f'KATA-{kata.number}_RESULTS: "${{{{steps.kata-{kata.number}.outputs.result}}}}"' in classroom
    assert classroom.count("max-score: ") == len(katas())
    assert "runners: " + ",".join(f"kata-{k.number}" for k in katas()) in classroom


def test_a_student_copy_judges_the_stub_resets_a_kata_and_refuses_the_reference(copy):
    judged = run(copy, "-m", "tools.runner", "--track", "katas", "--remember", "tests/test_affine.py")
    assert judged.returncode == 1 and "affine_forward is not written yet" in judged.stdout, judged.stdout
    relu = copy / "katas" / "relu.py"
    relu.write_text("my work\n", encoding="utf-8")
    reset = run(copy, "-m", "tools.learner.reset", "2")
    assert reset.returncode == 0 and relu.read_text(encoding="utf-8") == stubs.pristine("relu"), reset.stdout
    assert [p.read_text(encoding="utf-8") for p in (copy / ".kata-backups").rglob("relu.py")] == ["my work\n"]
    trained = run(copy, "-m", "tools.learner.train", "--reference")
    assert trained.returncode == 2 and trained.stdout.strip().splitlines() == [
        "--reference: this student copy has no reference solutions; leave it out to train your own katas/"
    ], trained.stdout + trained.stderr


def test_grade_writes_three_reports_and_exits_0_whatever_the_score(copy, tmp_path):
    summary = tmp_path / "summary.md"
    env = dict(os.environ, GITHUB_STEP_SUMMARY=str(summary))
    graded = run(copy, "-m", "tools.instructor.grade", "--out", str(tmp_path / "out"), env=env)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    report = json.loads((tmp_path / "out" / "grade.json").read_text(encoding="utf-8"))
    assert (report["katas_done"], report["katas"], report["points"], report["percent"]) == (0, len(required()), 0, 0.0)
    assert (report["bonus_done"], report["bonus"]) == (0, len(bonus()))
    assert [k["bonus"] for k in report["by_kata"]] == [k.bonus for k in katas()]
    assert [k["status"] for k in report["by_kata"][:7]] == ["not started"] * 7
    suites = ET.parse(tmp_path / "out" / "grade.xml").getroot()
    assert len(suites) == len(katas()) and int(suites.get("failures")) == int(suites.get("tests")) > 0
    table = (tmp_path / "out" / "grade.md").read_text(encoding="utf-8")
    assert f"0 of {len(required())} done" in table and summary.read_text(encoding="utf-8") == table


def test_grade_gives_full_marks_to_a_tree_that_holds_the_reference(tmp_path):
    stubs.write_package(tmp_path / "katas", stubbed=())
    grades = grade.grade(tmp_path)
    n, extra, points = len(required()), len(bonus()), sum(k.points for k in katas())
    assert grade.summary(grades) == {
        "katas_done": n,
        "katas": n,
        "bonus_done": extra,
        "bonus": extra,
        "points": points,
        "max_points": points,
        "percent": 100.0,
    }
    assert f"{n} of {n} done, {points} of {points} points (100 %)" in grade.as_markdown(grades)
    assert int(ET.fromstring(grade.as_junit(grades).split("\n", 1)[1]).get("failures")) == 0
    (tmp_path / "katas" / "relu.py").write_text(stubs.pristine("relu"), encoding="utf-8")
    partial = {g.kata.name: g for g in grade.grade(tmp_path)}
    assert partial["relu"].status == "not started" and partial["relu"].earned == 0
    assert partial["model"].status == "waits for kata-2"
    assert partial["affine"].earned == 1


def test_grade_gives_no_point_for_a_kata_whose_tests_skipped_or_did_not_run(tmp_path):
    stubs.write_package(tmp_path / "katas", stubbed=())
    relu = tmp_path / "katas" / "relu.py"  # every test of kata 2 would be skipped, and kata 3's run stopped
    relu.write_text(relu.read_text(encoding="utf-8") + "\nimport pytest\npytest.skip('no', allow_module_level=True)\n")
    sigmoid = tmp_path / "katas" / "sigmoid.py"
    stop = (
        "import gc, _pytest.main\n"
        "[setattr(o, 'shouldstop', 'x') for o in gc.get_objects() if isinstance(o, _pytest.main.Session)]\n"
    )
    sigmoid.write_text(
        sigmoid.read_text(encoding="utf-8").replace("def sigmoid_forward(", stop + "def sigmoid_forward(", 1)
    )
    graded = {g.kata.name: g for g in grade.grade(tmp_path)}
    assert graded["relu"].earned == 0 and graded["relu"].passed == 0, graded["relu"]
    # The stop reaches only the kata's own process (tools/judge/sandbox.py): every test of kata 3 runs, and
    # its (right) code earns its point.
    assert graded["sigmoid"].earned == 1, graded["sigmoid"].status
    assert graded["affine"].earned == 1
    row = json.loads(grade.as_json(list(graded.values())))["by_kata"][1]  # relu's
    assert row["points"] == 0 and row["tests_passed"] < row["tests"] and row["failing"], row
