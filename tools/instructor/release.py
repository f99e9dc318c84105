"""`nox -s release -- DIR`: a repository for students, with the katas and their tests and no solutions.

    python -m tools.instructor.release DIR      write the student copy into DIR (new or empty)
    python -m tools.instructor.release --check  make one in a temporary folder and check it (`nox -s ci`)

The copy holds every kata as its pristine stub (made from solutions/, never copied from katas/),
the tests, the manifest and hints, the learner's tools, the noxfile, a README for students (this
README without its instructor parts), a progress-and-grade workflow and a GitHub Classroom
workflow. It holds no solutions/, no bug zoo, no maintainer tools, and no line of any solution
region anywhere: the check reads every file of the copy for one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tools import stubs
from tools.manifest import ROOT, command, katas

# What stays behind: the answers, and what only works (or only matters) beside them.
LEFT_OUT = (
    *("solutions/", "katas/", "tools/maintainer/", "tools/tests/", "tools/instructor/release.py"),
    *(".github/", ".ci/"),
)
SKIPPED_FOLDERS = {".git", ".nox", ".kata-backups", "__pycache__", ".hypothesis", ".pytest_cache", "data", "reports"}
OMIT_BEGIN, OMIT_END, STOP = "<!-- release: omit -->", "<!-- release: /omit -->", "<!-- release: stop -->"
SHORTEST_LEAK = 12  # solution lines shorter than this ("return out", "else:") say nothing about the answer
# Nor do comments, lines that only open a `with` block (`with torch.no_grad():`), or lines the stubs show anyway.


def source_files() -> list[str]:
    """The repository's files (git's list when this is a checkout, else a walk), as relative paths."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode("utf-8")
        files = [f for f in listed.split("\0") if f and (ROOT / f).is_file()]
    except (OSError, subprocess.CalledProcessError):
        files = [
            p.relative_to(ROOT).as_posix()
            for p in ROOT.rglob("*")
            if p.is_file() and not SKIPPED_FOLDERS & set(p.relative_to(ROOT).parts)
        ]
    return sorted(f for f in files if not f.startswith(LEFT_OUT) and f != "README.md")


def student_readme(text: str) -> str:
    """README.md without what is marked for instructors, with what a student copy adds."""
    text = text.split(STOP, 1)[0]
    while OMIT_BEGIN in text:
        head, rest = text.split(OMIT_BEGIN, 1)
        text = head.rstrip("\n") + "\n" + rest.split(OMIT_END, 1)[1].lstrip("\n")
    title, _, body = text.partition("\n")
    note = (
        "\n> This is a copy for students, made with `nox -s release`: the katas, their tests and the tools,\n"
        "> without the reference solutions. Your instructor grades it with `nox -s grade`.\n"
    )
    grade = (
        "## Your grade\n\n"
        "`nox -s grade` runs every kata's tests and writes `reports/grade.md` (a table: tests passed,\n"
        "points, what to do), `reports/grade.json` and `reports/grade.xml` (JUnit). A kata earns its\n"
        "points when all its tests pass. On GitHub, each push runs it (`.github/workflows/katas.yml`) and\n"
        "shows the table in the run's summary; it never fails because a kata is not done yet.\n"
    )
    return f"{title}\n{note}{body.rstrip()}\n\n{grade}"


def classroom_workflow() -> str:
    """GitHub Classroom's autograding workflow: one command-grader step per kata, then the reporter."""
    lines = [
        "# GitHub Classroom autograding: one step per kata, worth the points in tools/manifest.toml.",
        "# Written by `nox -s release`; edit the manifest and make a new release rather than this file.",
        "name: Autograding Tests",
        "on: [push, repository_dispatch]",
        "permissions:",
        "  checks: write",
        "  actions: read",
        "  contents: read",
        "jobs:",
        "  run-autograding-tests:",
        "    runs-on: ubuntu-latest",
        "    if: github.actor != 'github-classroom[bot]'",
        "    env:",
        "      PIP_INDEX_URL: https://download.pytorch.org/whl/cpu  # CPU wheels of torch: a few hundred MB",
        "      PIP_EXTRA_INDEX_URL: https://pypi.org/simple",
        "    steps:",
        "      - uses: actions/checkout@v4",
        "      - uses: actions/setup-python@v5",
        "        with:",
        '          python-version: "3.11"',
        "      - name: Install nox and the katas' environment",
        "        run: python -m pip install nox && python -m nox -s progress",
    ]
    ids = []
    for kata in katas():
        step = f"kata-{kata.number}"
        ids.append(step)
        lines += [
            f"      - name: {kata.label}",
            f"        id: {step}",
            "        uses: classroom-resources/autograding-command-grader@v1",
            "        with:",
            f'          test-name: "{kata.label}"',
            f"          command: python -m nox -s {step}",
            "          timeout: 10",
            f"          max-score: {kata.points}",
        ]
    lines += [
        "      - name: Autograding Reporter",
        "        uses: classroom-resources/autograding-grading-reporter@v1",
        "        env:",
        *[f'          {step.upper()}_RESULTS: "${{{{steps.{step}.outputs.result}}}}"' for step in ids],
        "        with:",
        f"          runners: {','.join(ids)}",
    ]
    return "\n".join(lines) + "\n"


STUDENT_WORKFLOW = """\
# Each push: where the katas stand, and the grade as a table in the run's summary.
# It never fails because a kata is not done yet; only when the tests themselves cannot run.
name: katas
on: [push, pull_request, workflow_dispatch]
jobs:
  grade:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    env:
      PIP_INDEX_URL: https://download.pytorch.org/whl/cpu  # CPU wheels of torch: a few hundred MB
      PIP_EXTRA_INDEX_URL: https://pypi.org/simple
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: python -m pip install nox
      - run: python -m nox -s grade
      - uses: actions/upload-artifact@v4
        with:
          name: grade
          path: reports/grade.*
"""


def build(dest: Path) -> list[str]:
    """Write the student copy into dest (which must exist); return the relative paths written."""
    written = {}
    for relative in source_files():
        written[relative] = (ROOT / relative).read_bytes()
    for name, text in stubs.render().items():
        written[f"katas/{name}"] = text.encode("utf-8")
        written[f"{stubs.PRISTINE.relative_to(ROOT).as_posix()}/{name}"] = text.encode("utf-8")
    written["README.md"] = student_readme((ROOT / "README.md").read_text(encoding="utf-8")).encode("utf-8")
    written[".github/workflows/classroom.yml"] = classroom_workflow().encode("utf-8")
    written[".github/workflows/katas.yml"] = STUDENT_WORKFLOW.encode("utf-8")
    for relative, data in written.items():
        path = dest / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return sorted(written)


def leaks(dest: Path) -> list[str]:
    """Every place in the copy where a line of a solution region appears, or the answers' files do."""
    public = {line.strip() for text in stubs.render().values() for line in text.splitlines()}  # docstrings, signatures
    answers = {
        line: kata.path("solutions")
        for kata in katas()
        for line in stubs.solution_lines(kata.module)
        if len(line) >= SHORTEST_LEAK and not line.startswith(("#", "with ")) and line not in public
    }
    found = [f"{name}/ is in the copy" for name in ("solutions", "tools/maintainer") if (dest / name).exists()]
    for path in sorted(p for p in dest.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip() in answers:
                where = f"{path.relative_to(dest).as_posix()}:{number}"
                found.append(f"{where} holds a line of {answers[line.strip()]}: {line.strip()!r}")
    return found


def check() -> int:
    """Make a release in a temporary folder and check it holds no answer and every kata as its stub."""
    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp)
        files = build(dest)
        problems = leaks(dest)
        for name, text in stubs.render().items():
            if (dest / "katas" / name).read_text(encoding="utf-8") != text:
                problems.append(f"katas/{name} in the copy is not its pristine stub")
        readme = (dest / "README.md").read_text(encoding="utf-8")
        problems += [
            f"README.md in the copy still speaks of {word!r}: mark that part <!-- release: omit -->"
            for word in ("solutions/", "bugzoo", "maintainer")
            if word in readme
        ]
    print("\n".join(problems) or f"release: {len(files)} files, no solution line in any of them, every kata a stub.")
    return 1 if problems else 0


@command
def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        return check()
    if len(argv) != 1 or argv[0].startswith("-"):
        print("usage: nox -s release -- DIR   (DIR: a new or empty folder outside this repository)")
        return 2
    dest = Path(argv[0]).expanduser().resolve()
    if dest == ROOT or ROOT in dest.parents:
        print(f"release: {argv[0]} is inside this repository; choose a folder outside it, such as ../katas-course")
        return 2
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        print(f"release: {argv[0]} {'is a file' if not dest.is_dir() else 'is not empty'}; give a new or empty folder")
        return 2
    try:
        dest.mkdir(parents=True, exist_ok=True)
        files = build(dest)
    except OSError as error:
        print(f"release: could not write {argv[0]}: {error.strerror or error}")
        return 1
    problems = leaks(dest)
    if problems:
        shutil.rmtree(dest)
        print("release: the copy would hold solution code, so it was removed:\n" + "\n".join(problems))
        return 1
    print(f"release: wrote {len(files)} files to {dest}, with no solutions. Next:")
    print(f"  cd {dest}")
    print("  git init; git add -A; git commit -m 'Katas'   (then push it to GitHub)")
    print("  Students: `nox -s kata-1` to begin, `nox -s grade` for their grade. GitHub Classroom: see README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
