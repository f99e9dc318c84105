"""The files that judge, sealed in a student copy (tools/seal.py): an edited test earns no verdict and no points."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools import seal
from tools.instructor import release
from tools.manifest import ROOT, by_module, katas

GIT = ["git", "-c", "user.email=course@example.org", "-c", "user.name=course", "-c", "commit.gpgsign=false"]


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A student copy, sealed as release seals it, as the first commit of its own git repository."""
    dest = tmp_path_factory.mktemp("sealed") / "course"
    assert release.main([str(dest)]) == 0
    subprocess.run([*GIT, "init", "-q"], cwd=dest, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*GIT, "commit", "-q", "-m", "release"], cwd=dest, check=True)
    return dest


@pytest.fixture
def copy(released: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "course"
    shutil.copytree(released, dest, symlinks=True)
    return dest


def command(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("KATA_ROOT", "KATA_TIMEOUT", "KATA_TRACK")}
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True, encoding="utf-8", timeout=600
    )


PASSING = "def test_anything():\n    pass\n"


def test_the_repository_itself_has_no_seal_and_checks_nothing():
    assert seal.sealed(ROOT) is None and seal.broken(ROOT) == {}


def test_release_seals_the_files_that_judge_and_names_them_for_classroom(tmp_path, capsys):
    assert release.main([str(tmp_path / "course")]) == 0
    assert (tmp_path / "course" / seal.SEAL).is_file()
    said = capsys.readouterr().out
    assert ", ".join(seal.protected()) in said, said
    for pattern in ("tests/**", "tools/**", "conftest.py", "noxfile.py", ".github/workflows/**", "pytest.toml"):
        assert pattern in seal.protected(), seal.protected()


def test_a_copy_as_released_matches_its_seal(copy):
    names = seal.files(copy)
    assert "tests/test_relu.py" in names and "conftest.py" in names and "tools/runner.py" in names, names
    assert seal.SEAL not in names and not [n for n in names if n.startswith("katas/")], names
    assert seal.broken(copy) == {}


def test_each_kind_of_change_to_a_judging_file_is_named(copy):
    (copy / "tests" / "test_relu.py").write_text(PASSING, encoding="utf-8")
    (copy / "tools" / "runner.py").unlink()
    (copy / "tests" / "conftest.py").write_text("# marks every test passed\n", encoding="utf-8")
    (copy / "noxfile.py").write_bytes((copy / "noxfile.py").read_bytes().replace(b"\n", b"\r\n"))  # git on Windows
    found = seal.broken(copy)
    assert found == {
        "tests/conftest.py": "tests/conftest.py is not one of the release's files and takes part in judging: remove it",
        "tests/test_relu.py": f"tests/test_relu.py differs from the release; {seal.RESTORE}",
        "tools/runner.py": f"tools/runner.py is missing from the release's files; {seal.RESTORE}",
    }, found


def test_a_test_file_blocks_its_kata_and_any_other_judging_file_every_kata():
    assert seal.judged_by("tests/test_relu.py") == {by_module("relu").number}
    assert seal.judged_by("tests/judge.py") is None and seal.judged_by("conftest.py") is None
    assert seal.judged_by("tests/data/test_relu.py") is None


def test_an_edited_test_gives_no_verdict_and_says_how_to_bring_it_back(copy):
    (copy / "tests" / "test_relu.py").write_text(PASSING, encoding="utf-8")
    done = command(copy, "tools.runner", "tests/test_relu.py")
    assert done.returncode == 1, done.stdout[-2000:]
    assert "tests/test_relu.py differs from the release; `nox -s reset -- --judge` brings it back" in done.stdout
    assert "passed" not in done.stdout and "Traceback" not in done.stdout + done.stderr, done.stdout[-2000:]
    other = command(copy, "tools.runner", "tests/test_affine.py")  # kata 1 is judged as usual: its stub fails
    assert other.returncode == 1 and "not started" in other.stdout and "differs" not in other.stdout, other.stdout


def test_grade_gives_no_points_to_a_kata_whose_test_was_edited(copy):
    relu = by_module("relu")
    reference = (ROOT / "solutions" / "relu.py").read_text(encoding="utf-8")
    (copy / "katas" / "relu.py").write_text(reference, encoding="utf-8")  # kata 2 done, and its test edited too
    (copy / "tests" / "test_relu.py").write_text(PASSING, encoding="utf-8")
    done = command(copy, "tools.instructor.grade", "--out", "reports")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads((copy / "reports" / "grade.json").read_text(encoding="utf-8"))
    assert report["points"] == 0 and report["max_points"] == sum(k.points for k in katas()), report
    row = report["by_kata"][relu.number - 1]
    assert row["points"] == 0 and row["failing"] == [f"{relu.test_file}::{'judging_files'}"], row
    assert row["status"].startswith("not judged: a file that judges it differs from the release"), row


def test_reset_judge_brings_the_release_back_and_keeps_the_edits(copy):
    (copy / "tests" / "test_relu.py").write_text(PASSING, encoding="utf-8")
    (copy / "tests" / "conftest.py").write_text("# marks every test passed\n", encoding="utf-8")
    done = command(copy, "tools.learner.reset", "--judge")
    assert done.returncode == 0, done.stdout + done.stderr
    assert seal.broken(copy) == {}, seal.broken(copy)
    kept = sorted(p.relative_to(copy).as_posix() for p in (copy / ".kata-backups").rglob("*.py"))
    assert [k.split("/", 2)[2] for k in kept] == ["tests/conftest.py", "tests/test_relu.py"], kept
    lines = done.stdout.splitlines()
    assert lines[0].startswith("tests/conftest.py: taken out") and lines[1].startswith("tests/test_relu.py: brought"), (
        lines
    )
    again = command(copy, "tools.learner.reset", "--judge")
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout


@pytest.mark.parametrize(
    "name",
    [
        "tests/test_relu.py",
        "tests/judge.py",
        "conftest.py",
        "noxfile.py",
        "tools/runner.py",
        "tools/manifest.toml",
        "pyproject.toml",
        ".github/workflows/classroom.yml",
    ],
)
def test_every_kind_of_judging_file_is_sealed(copy, name):
    """An edit to any file that takes part in judging is named, and keeps from a verdict the katas it judges."""
    path = copy / name
    path.write_bytes(path.read_bytes() + b"\n# edited\n")
    assert seal.broken(copy) == {name: f"{name} differs from the release; {seal.RESTORE}"}
    blocked = seal.blocked(copy)
    expected = {by_module("relu").number} if name == "tests/test_relu.py" else {k.number for k in katas()}
    assert set(blocked) == expected, blocked


@pytest.mark.parametrize("name", seal.FOREIGN)
def test_a_configuration_file_that_would_change_how_pytest_judges_is_refused(copy, name):
    """pytest.ini outranks pyproject.toml: `addopts = -p katas.helper` would load a plugin of the student's."""
    (copy / name).write_text("[pytest]\naddopts = -p katas.helper\n", encoding="utf-8")
    said = seal.broken(copy)
    assert said == {name: f"{name} is not one of the release's files and takes part in judging: remove it"}, said
    assert set(seal.blocked(copy)) == {k.number for k in katas()}


@pytest.mark.parametrize("name", ["json.py", "nox.py", "sitecustomize.py", "pytest/__init__.py", "hypothesis.pyc"])
def test_a_module_at_the_root_that_would_stand_in_for_a_library_is_refused(copy, name):
    """The root is on sys.path under `python -m`: a json.py there is the json every judging process imports."""
    path = copy / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"import sys\n")
    said = seal.broken(copy)
    assert said == {name: f"{name} is not one of the release's files and takes part in judging: remove it"}, said


def test_compiled_code_put_in_place_of_the_judge_is_refused(copy):
    """A hash-based .pyc that Python never checks against its source (py_compile's UNCHECKED_HASH)."""
    import py_compile

    target = copy / "tests" / "__pycache__" / f"judge.{sys.implementation.cache_tag}.pyc"
    py_compile.compile(
        str(copy / "tests" / "judge.py"),
        cfile=str(target),
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    py_compile.compile(str(copy / "tools" / "plugin" / "report.py"))  # what Python writes itself: timestamp-based
    name = target.relative_to(copy).as_posix()
    said = seal.broken(copy)
    assert said == {name: f"{name} is compiled code that Python would run in place of its source: remove it"}, said


@pytest.mark.parametrize("how", ["deleted", "symlink", "empty"])
def test_a_seal_taken_away_blocks_every_kata_and_comes_back(copy, how):
    (copy / "tests" / "test_relu.py").write_text(PASSING, encoding="utf-8")
    path = copy / seal.SEAL
    path.unlink()
    if how == "symlink":
        path.symlink_to("nowhere")
    elif how == "empty":
        path.write_text("", encoding="utf-8")
    assert list(seal.broken(copy)) == [seal.SEAL], seal.broken(copy)
    assert set(seal.blocked(copy)) == {k.number for k in katas()}
    done = command(copy, "tools.learner.reset", "--judge")
    assert done.returncode == 0 and done.stdout.startswith(f"{seal.SEAL}: brought back"), done.stdout + done.stderr
    assert "tests/test_relu.py: brought back" in done.stdout and seal.broken(copy) == {}, done.stdout


def test_the_student_readme_says_what_is_sealed_and_how_to_bring_it_back(released):
    readme = (released / "README.md").read_text(encoding="utf-8")
    assert f"sealed in `{seal.SEAL}`" in readme and "`nox -s reset -- --judge` brings it back" in readme
