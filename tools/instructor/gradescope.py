"""`nox -s gradescope -- OUT.zip`: a Gradescope autograder for this course, and what it runs for each submission.

    python -m tools.instructor.gradescope OUT.zip      write the autograder: setup.sh, run_autograder, a release
    python -m tools.instructor.gradescope --judge ROOT  judge ROOT/submission, write ROOT/results/results.json

The zip holds a student copy (what `nox -s release` writes: no solutions) with setup.sh and run_autograder at its
root, as Gradescope's specification asks; Gradescope unpacks it into /autograder/source. setup.sh installs nox and
builds the shared environment there once, when the image is built. For each submission run_autograder judges
/autograder/submission with the copy's own tests (never the student's tests/) and writes
/autograder/results/results.json (tools/instructor/platforms.py: the grade's points, a test per kata test, the
mistake ids as tags). AUTOGRADER_ROOT moves /autograder and AUTOGRADER_PYTHON the environment's python, so the
autograder runs outside a container too. A submission may be the repository (a GitHub submission or a zip of it)
or the kata files alone. It exits 0 with a results.json whatever the submission holds.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from tools import stubs
from tools.instructor import grade, platforms, submissions
from tools.manifest import command, katas

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image: nox, then the shared environment
# (torch's CPU wheels, the test tools) in /autograder/source/.nox/shared.
set -euo pipefail
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get update && apt-get install -y python3 python3-pip python3-venv
fi
python3 -m pip install nox || python3 -m pip install --break-system-packages nox
cd /autograder/source && python3 -m nox -s setup
"""
RUN = """#!/usr/bin/env bash
# Gradescope runs this for each submission. AUTOGRADER_ROOT moves /autograder, AUTOGRADER_PYTHON the python.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${AUTOGRADER_PYTHON:-$ROOT/source/.nox/shared/bin/python}"
cd "$ROOT/source" && exec "$PYTHON" -m tools.instructor.gradescope --judge "$ROOT"
"""


def loose(folder: Path, tmp: Path) -> Path:
    """folder, or, when it holds kata files but no katas/ (an upload of the files alone), a copy of them as a
    katas/ package (the stubs' __init__.py beside them) in tmp."""
    modules = {f"{k.module}.py" for k in katas()}
    if not folder.is_dir() or any(p.name == "katas" for p in folder.rglob("katas")):
        return folder
    found = [p for p in folder.iterdir() if p.name in modules and p.is_file() and not p.is_symlink()]
    if not found:
        return folder
    package = tmp / "loose" / "katas"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(stubs.pristine_files()["__init__.py"], encoding="utf-8")
    for path in found:
        shutil.copyfile(path, package / path.name)
    return package.parent


def judge(root: Path) -> dict:
    """Gradescope's results for root/submission, judged by this copy's tests; written to root/results/."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        sub = submissions.submission("submission", loose(root / "submission", Path(tmp)), Path(tmp) / "work")
        if sub.root is None:
            results = platforms.results([], reason=sub.reason)
        else:
            try:
                outcomes = [o for g in grade.grade(sub.root) for o in g.outcomes]
                seconds = time.perf_counter() - start
                results = platforms.results(outcomes, seconds, format_errors=sub.format_errors)
            except Exception as error:  # a grader always answers: Gradescope shows this, not a missing file
                results = platforms.results([], reason=f"The tests could not run, so there is no grade: {error}")
    data = platforms.gradescope(results)
    (root / "results").mkdir(parents=True, exist_ok=True)
    (root / "results" / "results.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return data


def write(out: Path) -> list[str]:
    """The autograder zip: a release (tools/instructor/release.py, which only this repository has) with setup.sh
    and run_autograder at its root; the names written."""
    from tools.instructor import release  # here, not at the top: a student copy has no release.py

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp)
        names = release.build(source)
        (source / "setup.sh").write_text(SETUP, encoding="utf-8", newline="\n")
        (source / "run_autograder").write_text(RUN, encoding="utf-8", newline="\n")
        names += ["setup.sh", "run_autograder"]
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(names):
                info = zipfile.ZipInfo.from_file(source / name, name)
                info.external_attr = (0o755 if name in ("setup.sh", "run_autograder") else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, (source / name).read_bytes())
    return sorted(names)


USAGE = "usage: nox -s gradescope -- OUT.zip   (or: python -m tools.instructor.gradescope --judge [ROOT])"


@command
def main(argv: list[str]) -> int:
    if argv[:1] == ["--judge"] and len(argv) <= 2:
        root = Path(argv[1] if len(argv) == 2 else os.environ.get("AUTOGRADER_ROOT", "/autograder"))
        data = judge(root)
        print(data["output"])
        return 0
    if len(argv) != 1 or argv[0].startswith("-") or not argv[0].endswith(".zip"):
        print(USAGE, file=sys.stderr)
        return 2
    out = Path(argv[0])
    if out.parent.exists() and not out.parent.is_dir():
        print(f"gradescope: {out.parent} is a file; give OUT.zip in a folder", file=sys.stderr)
        return 2
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        names = write(out)
    except OSError as error:
        print(f"gradescope: could not write {out}: {error.strerror or error}", file=sys.stderr)
        return 2
    print(f"gradescope: wrote {out} ({len(names)} files: setup.sh, run_autograder and a student copy).")
    print("  Upload it as the assignment's autograder (Configure Autograder, Zip file upload).")
    print(f"  Its points: {sum(k.points for k in katas())}, as `nox -s grade` counts them.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
