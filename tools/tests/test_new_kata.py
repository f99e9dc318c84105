"""`nox -s new-kata -- NAME`: a kata is added in one place, and every check counts it.

The scaffold runs on a copy of the repository (its files as git lists them, so never .nox/), then the fast
checks run there untouched: generated, the kata's tests on the reference and on its stub, progress, grade,
the release check and its Classroom workflow, the bug zoo's list, ruff and mypy on the new files.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.instructor import release
from tools.maintainer import generated
from tools.manifest import ROOT, katas, required, tomllib

NAME = "softsign"
NUMBER = len(katas()) + 1
LABEL = f"kata-{NUMBER} ({NAME})"
REQUIRED = len(required()) + 1  # the new kata is a required one: "N of M katas done" counts it, not the bonus


def copy_of_the_repository(dest: Path) -> Path:
    """The repository's files as git lists them (tracked, and untracked ones git does not ignore)."""
    for relative in release.repository_files():
        (dest / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, dest / relative)
    return dest


def run(tree: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KATA_ROOT", "KATA_TRACK", "KATA_TIMEOUT")}
    return subprocess.run(
        [sys.executable, *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository with kata N+1 added by the scaffold, and nothing else."""
    tree = copy_of_the_repository(tmp_path_factory.mktemp("new-kata"))
    done = run(tree, "-m", "tools.maintainer.new_kata", NAME)
    assert done.returncode == 0, done.stdout + done.stderr
    return tree


@pytest.fixture(scope="module")
def untouched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_of_the_repository(tmp_path_factory.mktemp("untouched"))


def test_the_scaffold_writes_the_kata_in_every_place(scaffolded: Path) -> None:
    entry = tomllib.loads((scaffolded / "tools" / "manifest.toml").read_text(encoding="utf-8"))["kata"][-1]
    assert (entry["name"], entry["module"], entry["needs"], len(entry["hints"])) == (NAME, NAME, [], 3), entry
    solution = (scaffolded / "solutions" / f"{NAME}.py").read_text(encoding="utf-8")
    assert "# >>> kata" in solution and "# <<< kata" in solution and f"Kata {NUMBER}" in solution
    defined = {n.name for n in ast.parse(solution).body if isinstance(n, ast.FunctionDef)}
    assert set(entry["names"]) <= defined, (entry["names"], defined)
    stub = (scaffolded / "katas" / f"{NAME}.py").read_text(encoding="utf-8")
    assert f'raise NotImplementedError("{LABEL}: ' in stub, stub
    assert (scaffolded / "tests" / f"test_{NAME}.py").is_file()
    for name in entry["names"]:
        assert f'"{name}": "{NAME}",' in (scaffolded / "solutions" / "__init__.py").read_text(encoding="utf-8")
        assert f'"{name}": "{NAME}",' in (scaffolded / "katas" / "__init__.py").read_text(encoding="utf-8")
    readme = (scaffolded / "README.md").read_text(encoding="utf-8")
    assert f"| {NUMBER} | `{NAME}` | `katas/{NAME}.py` |" in readme
    assert f"0 of {REQUIRED} katas" in readme, "the README's grade figures count the new kata"


def test_generated_and_ruff_accept_the_new_kata(scaffolded: Path) -> None:
    checked = run(scaffolded, "-m", "tools.maintainer.generated")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    written = ["solutions", "katas", f"tests/test_{NAME}.py"]  # (the rest: what others may be editing)
    for command in (["check"], ["format", "--check"]):
        checked = run(scaffolded, "-m", "ruff", *command, *written)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_mypy_accepts_the_new_files(scaffolded: Path) -> None:
    if (ROOT / ".mypy_cache").is_dir():  # torch's types, already read here: seconds instead of a minute
        shutil.copytree(ROOT / ".mypy_cache", scaffolded / ".mypy_cache", dirs_exist_ok=True)
    checked = run(scaffolded, "-m", "mypy", f"solutions/{NAME}.py", f"tests/test_{NAME}.py")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_worked_example_passes_on_the_reference_and_fails_on_the_stub(scaffolded: Path) -> None:
    test_file = f"tests/test_{NAME}.py"
    reference = run(scaffolded, "-m", "tools.runner", "--track", "solutions", test_file)
    assert reference.returncode == 0, reference.stdout + reference.stderr
    stub = run(scaffolded, "-m", "tools.runner", "--track", "katas", test_file)
    assert stub.returncode == 1, stub.stdout + stub.stderr
    assert f"{LABEL}: {NAME}_forward is not written yet" in stub.stdout, stub.stdout


def test_progress_grade_release_and_the_zoo_count_the_new_kata(scaffolded: Path, tmp_path: Path) -> None:
    progress = run(scaffolded, "-m", "tools.learner.progress")
    assert progress.returncode == 0, progress.stdout + progress.stderr
    assert f"0 of {REQUIRED} katas done" in progress.stdout, progress.stdout
    rows = [line for line in progress.stdout.splitlines() if line.startswith("  [")]
    assert len(rows) == NUMBER and len({row.index(" not started") for row in rows}) == 1, progress.stdout
    assert {row.index(row.split()[3]) for row in rows} == {rows[0].index("affine")}, "names in one column"
    graded = run(scaffolded, "-m", "tools.instructor.grade", "--out", str(tmp_path))
    assert graded.returncode == 0, graded.stdout + graded.stderr
    table = (tmp_path / "grade.md").read_text(encoding="utf-8")
    assert f"0 of {REQUIRED} done" in table, table
    rows = [line for line in table.splitlines() if line.startswith("|")]
    bars = {tuple(n for n, c in enumerate(row) if c == "|") for row in rows}
    assert len(rows) == NUMBER + 3 and len(bars) == 1, f"the grade table's columns do not line up:\n{table}"
    released = run(scaffolded, "-m", "tools.instructor.release", "--check")
    assert released.returncode == 0, released.stdout + released.stderr
    workflow = run(scaffolded, "-c", "from tools.instructor import release; print(release.classroom_workflow())")
    step = f"id: kata-{NUMBER}\n"
    assert step in workflow.stdout and f"python -m nox -s kata-{NUMBER}" in workflow.stdout, workflow.stdout[-3000:]
    zoo = run(scaffolded, "-m", "tools.maintainer.bugzoo", "--list")
    assert zoo.returncode == 0, zoo.stdout + zoo.stderr


BAD_NAMES = {
    "relu": "already",  # a kata
    "autograd_bridge": "already",  # a kata's module
    "init_params": "already",  # a name the package gives
    "soft-sign": "not a Python identifier",
    "2relu": "not a Python identifier",
    "class": "keyword",
    "torch": "shadow",
    "math": "shadow",
    "os": "shadow",
    "hypothesis": "shadow",  # installed
    "tools": "shadow",  # this repository's own
    "": "not a Python identifier",
}


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_a_bad_name_is_refused_in_one_line_and_nothing_is_written(untouched: Path, bad: str) -> None:
    before = {p: p.read_bytes() for p in untouched.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    done = run(untouched, "-m", "tools.maintainer.new_kata", bad)
    assert (done.returncode, done.stdout, done.stderr.count("\n")) == (2, "", 1), done.stdout + done.stderr
    assert BAD_NAMES[bad] in done.stderr and repr(bad) in done.stderr, done.stderr
    after = {p: p.read_bytes() for p in untouched.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert after == before


@pytest.mark.parametrize("args", [[], ["a", "b"]])
def test_the_usage_is_one_line(untouched: Path, args: list[str]) -> None:
    done = run(untouched, "-m", "tools.maintainer.new_kata", *args)
    assert (done.returncode, done.stderr.count("\n")) == (2, 1) and "usage: " in done.stderr, done.stderr


def test_generated_names_a_stale_count_by_file_and_line(untouched: Path) -> None:
    readme = untouched / "README.md"
    text = readme.read_text(encoding="utf-8")
    stated = re.search(r"0 of (\d+) tests", text)
    assert stated, "the README states the grade on the stubs"
    line = text[: stated.start()].count("\n") + 1
    readme.write_text(text[: stated.start(1)] + "49" + text[stated.end(1) :], encoding="utf-8")
    try:
        done = run(untouched, "-m", "tools.maintainer.generated", timeout=20)
    finally:
        readme.write_text(text, encoding="utf-8")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"README.md:{line}: " in done.stdout and "0 of 49 tests" in done.stdout, done.stdout


def test_generated_finds_a_count_no_rule_derives() -> None:
    said = generated.stale_counts("Here: 7 katas, in a sentence of its own.\n")
    assert said and said[0].startswith("README.md:1: ") and "7 katas" in said[0], said


def test_write_puts_every_count_right(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    wrong = re.sub(r"\b\d+ trees\b", "3 trees", text)
    wrong = re.sub(r"0 of \d+ katas, 0 of \d+ tests", "0 of 1 katas, 0 of 2 tests", wrong)
    assert generated.stale_counts(wrong)
    assert generated.with_counts(wrong) == text and generated.stale_counts(text) == []


def test_the_counted_tests_are_the_tests_pytest_collects() -> None:
    collected = run(ROOT, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests", timeout=120)
    count = re.search(r"^(\d+) tests? collected", collected.stdout, re.M)
    assert count, collected.stdout + collected.stderr
    assert generated.test_count() == int(count[1])
