"""`nox -s release -- DIR`: a repository for students, with the katas and their tests and no solutions.

    python -m tools.instructor.release DIR [--repo OWNER/NAME]   write the student copy into DIR
    python -m tools.instructor.release --check  make one in a temporary folder and check it (`nox -s ci`)

DIR is a new or empty folder (an empty clone, holding only .git, will do). OWNER/NAME is the assignment's
GitHub repository: the Colab badge and the notebook's first cell open it; without --repo it is read from
DIR's git remote `origin`, if that is on GitHub.

The copy holds every kata as its pristine stub (made from solutions/, never copied from katas/),
the tests, the manifest and hints, the learner's tools, the noxfile, a README for students (this
README without its instructor parts), the notebook without its switch to the reference, a devcontainer
and one workflow: GitHub Classroom's autograding, one step per kata, and the grade table in the run's summary.
It holds no solutions/, no bug zoo, no maintainer tools, no line of any solution region anywhere (the check
reads every file of the copy for one), and no sentence about how or where this repository was measured or
tried, or that offers what only the reference has (the check reads what students read for one).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tools import seal, stubs
from tools.instructor.release_checks import NOTEBOOK, PROSE, READ_BY_STUDENTS, WHERE, leaks, prose, prose_in
from tools.instructor.release_workflow import NOT_DONE, ReleaseError, classroom_workflow, failed_line
from tools.manifest import ROOT, bonus, command

__all__ = [
    "NOTEBOOK",
    "NOT_DONE",
    "PLACEHOLDER",
    "PROSE",
    "READ_BY_STUDENTS",
    "WHERE",
    "ReleaseError",
    "build",
    "check",
    "classroom_workflow",
    "failed_line",
    "leaks",
    "main",
    "prose",
    "prose_in",
    "repository_files",
    "repository_of",
    "source_files",
    "student_notebook",
    "student_readme",
]

# What stays behind: the answers, and what only works (or only matters) beside them.
LEFT_OUT = (
    *("solutions/", "katas/", "tools/maintainer/", "tools/tests/"),
    *("tools/instructor/release.py", "tools/instructor/release_checks.py", "tools/instructor/release_workflow.py"),
    *(".github/", ".ci/"),
)
SKIPPED_FOLDERS = {".git", ".nox", ".kata-backups", "__pycache__", ".hypothesis", ".pytest_cache", "data", "reports"}
OMIT_BEGIN, OMIT_END, STOP = "<!-- release: omit -->", "<!-- release: /omit -->", "<!-- release: stop -->"


def repository_files() -> list[str]:
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
    return sorted(files)


def source_files() -> list[str]:
    """The repository's files that a release copies as they are."""
    return [f for f in repository_files() if not f.startswith(LEFT_OUT) and f != "README.md"]


PLACEHOLDER = "YOUR-ACCOUNT/mnist-katas"  # the repository in the notebook's Colab link and first cell, and the README
REPO = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
GITHUB_REMOTE = re.compile(
    r"^(?:https://github\.com/|git@github\.com:|ssh://git@github\.com/)([^/]+/[^/]+?)(?:\.git)?/?$"
)


def student_readme(text: str, repository: str = PLACEHOLDER) -> str:
    """README.md without what is marked for instructors, with what a student copy adds."""
    text = text.split(STOP, 1)[0]
    while OMIT_BEGIN in text:
        head, rest = text.split(OMIT_BEGIN, 1)
        text = head.rstrip("\n") + "\n\n" + rest.split(OMIT_END, 1)[1].lstrip("\n")  # paragraphs stay apart
    title, _, body = text.partition("\n")
    note = (
        "\n> This is a copy for students, made with `nox -s release`: the katas, their tests and the tools,\n"
        "> without the reference solutions. Your instructor grades it with `nox -s grade`.\n"
    )
    grade = (
        "## Your grade\n\n"
        "`nox -s grade` runs every kata's tests and writes `reports/grade.md` (a table: tests passed,\n"
        "points, what to do), `reports/grade.json` and `reports/grade.xml` (JUnit). A kata earns its\n"
        "points when all its tests pass, and none before: there are no part marks.\n\n"
        "On GitHub, each push runs `.github/workflows/classroom.yml`: one step per kata, then the grade\n"
        "table in the run's summary (the Actions tab, the run, *Summary*). What the marks mean:\n\n"
        "- a kata's step prints its tests' verdict. A kata that fails is\n"
        f"  {NOT_DONE}.\n"
        "  Its messages, the same as `nox -s kata-N` prints, say what to do.\n"
        "- the run is marked red (a red cross beside your commit) while any kata is not done, and green\n"
        "  when all are. Red is the normal state of a course in progress, not an error of yours or of GitHub.\n"
        + (
            f"  A bonus kata's step may fail and the job goes on (optional, counted apart): "
            f"{', '.join(k.label for k in bonus())}.\n"
            if bonus()
            else ""
        )
        + "- the points in the summary, and in GitHub Classroom, are the sum over the katas done, each worth\n"
        "  its `points` in `tools/manifest.toml` (1 unless your instructor set more; a bonus kata 0).\n\n"
        f"The files that judge (`tests/`, `tools/`, `conftest.py`, `noxfile.py`, `pyproject.toml`, the\n"
        f"workflows) are sealed in `{seal.SEAL}`. If one changes, the katas it judges get no verdict and\n"
        "no points until it is back as it came: `nox -s reset -- --judge` brings it back (your version is\n"
        "kept in `.kata-backups/`). Your work is `katas/`.\n"
    )
    return f"{title}\n{note}{body.rstrip()}\n\n{grade}".replace(PLACEHOLDER, repository)


def student_notebook(text: str, repository: str) -> str:
    """notebooks/explore.ipynb for students: its Colab link and first cell open `repository`, and the switch to
    the reference (`REFERENCE = False`, `package(REFERENCE)`), which a copy cannot use, is gone."""
    notebook = json.loads(text)
    switch, argument = re.compile(r"^REFERENCE = .*\n", re.M), "package(REFERENCE)"
    removed = 0
    for cell in notebook["cells"]:
        source = "".join(cell["source"]).replace(PLACEHOLDER, repository)
        if cell["cell_type"] == "code":
            source, count = switch.subn("", source)
            removed += count + source.count(argument)
            source = source.replace(argument, "package()")
        cell["source"] = source.splitlines(keepends=True)
    if removed != 2:
        raise ReleaseError(f"{NOTEBOOK}: expected one `REFERENCE = ...` line and one `{argument}` to take out")
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def repository_of(dest: Path, given: str | None) -> str | None:
    """The assignment's repository, OWNER/NAME: as given, else from dest's GitHub remote; None when neither."""
    if given is not None:
        match = GITHUB_REMOTE.match(given)
        name = match[1] if match else given
        if not REPO.fullmatch(name):
            raise ReleaseError(f"--repo {given!r}: give the GitHub repository as OWNER/NAME, such as my-school/katas")
        return name
    try:
        url = subprocess.run(
            ["git", "-C", str(dest), "remote", "get-url", "origin"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    match = GITHUB_REMOTE.match(url)
    return match[1] if match and REPO.fullmatch(match[1]) else None


def build(dest: Path, repository: str | None = None) -> list[str]:
    """Write the student copy into dest (which must exist); return the relative paths written."""
    repository = repository or PLACEHOLDER
    written = {}
    for relative in source_files():
        written[relative] = (ROOT / relative).read_bytes()
    for name, text in stubs.render().items():
        written[f"katas/{name}"] = text.encode("utf-8")
        written[f"{stubs.PRISTINE.relative_to(ROOT).as_posix()}/{name}"] = text.encode("utf-8")
    readme = student_readme((ROOT / "README.md").read_text(encoding="utf-8"), repository)
    written["README.md"] = readme.encode("utf-8")
    written[NOTEBOOK] = student_notebook((ROOT / NOTEBOOK).read_text(encoding="utf-8"), repository).encode("utf-8")
    written[".github/workflows/classroom.yml"] = classroom_workflow().encode("utf-8")
    for relative, data in written.items():
        path = dest / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    seal.write(dest)  # last: the checksums of the files that judge, as written
    return sorted([*written, seal.SEAL])


def check() -> int:
    """Make a release in a temporary folder and check it holds no answer and every kata as its stub."""
    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp)
        try:
            files = build(dest)
        except ReleaseError as error:
            print(f"release: {error}")
            return 1
        problems = leaks(dest) + prose(dest) + list(seal.broken(dest).values())
        for name, text in stubs.render().items():
            if (dest / "katas" / name).read_text(encoding="utf-8") != text:
                problems.append(f"katas/{name} in the copy is not its pristine stub")
    print(
        "\n".join(problems)
        or f"release: {len(files)} files, no solution line in any of them, every kata a stub, no maintainer prose."
    )
    return 1 if problems else 0


USAGE = "usage: nox -s release -- DIR [--repo OWNER/NAME]   (DIR: a new or empty folder outside this repository)"


@command
def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        return check()
    args, given = list(argv), None
    if "--repo" in args:
        at = args.index("--repo")
        if at + 1 >= len(args):
            print("release: --repo needs the assignment's GitHub repository, as OWNER/NAME")
            return 2
        given = args.pop(at + 1)
        args.pop(at)
    if len(args) != 1 or args[0].startswith("-"):
        print(USAGE)
        return 2
    dest = Path(args[0]).expanduser().resolve()
    if dest == ROOT or ROOT in dest.parents:
        print(f"release: {args[0]} is inside this repository; choose a folder outside it, such as ../katas-course")
        return 2
    if dest.exists() and (not dest.is_dir() or any(p.name != ".git" for p in dest.iterdir())):
        print(f"release: {args[0]} {'is a file' if not dest.is_dir() else 'is not empty'}; give a new or empty folder")
        return 2
    try:
        repository = repository_of(dest, given)
        created = not dest.exists()
        dest.mkdir(parents=True, exist_ok=True)
        files = build(dest, repository)
    except ReleaseError as error:
        print(f"release: {error}")
        return 2
    except OSError as error:
        print(f"release: could not write {args[0]}: {error.strerror or error}")
        return 1
    problems = leaks(dest) + prose(dest)
    if problems:
        for path in dest.iterdir() if not created else [dest]:
            if path.name != ".git":
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        print(
            "release: the copy would hold solution code or maintainer prose, so it was removed:\n" + "\n".join(problems)
        )
        return 1
    print(f"release: wrote {len(files)} files to {dest}, with no solutions. Next:")
    if repository:
        print(f"  The notebook's Colab badge and first cell open {repository}.")
    else:
        print(f"  No --repo and no GitHub remote: the notebook's Colab link says {PLACEHOLDER} (--repo sets it).")
    print(f"  cd {dest}")
    print("  git init; git add -A; git commit -m 'Katas'   (then push it to GitHub)")
    print("  Students: `nox -s kata-1` to begin, `nox -s grade` for their grade. GitHub Classroom: see README.md")
    print(f"  Classroom's protected file paths (the files that judge, sealed in {seal.SEAL}):")
    print(f"    {', '.join(seal.protected())}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
