"""One submission judged as a course platform's grader runs it, its results written where that platform reads them.

    python -m tools.instructor.autograde gradescope [ROOT]     ROOT/submission -> ROOT/results/results.json
    python -m tools.instructor.autograde prairielearn [ROOT]   ROOT/student -> ROOT/results/results.json

ROOT is $AUTOGRADER_ROOT when set, else the platform's own (/autograder, /grade), so a grader runs outside its
container too. The submission is the repository, a zip of it, or the kata files alone (tools/instructor/
submissions.py); it is judged by this copy's tests and tools under the supervisor (tools/instructor/grade.py),
never by its own tests/, and written by tools/instructor/platforms.py. It exits 0 with a results file whatever the
submission holds. PrairieLearn does not grade a submission whose kata files cannot be imported, so neither does
this: such a submission is not judged at all.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools import stubs
from tools.instructor import grade, platforms, submissions
from tools.manifest import command, katas

# platform -> (the submission's folder under ROOT, ROOT's default, the writer)
PLATFORMS: dict[str, tuple[str, str, Callable[[platforms.Results], dict[str, Any]]]] = {
    "gradescope": ("submission", "/autograder", platforms.gradescope),
    "prairielearn": ("student", "/grade", platforms.prairielearn),
}


def loose(folder: Path, tmp: Path) -> Path:
    """folder, or, when it holds kata files but no katas/ (an upload of the files alone), a copy of them as a
    katas/ package (the stubs' __init__.py beside them) in tmp."""
    if not folder.is_dir() or any(True for _ in folder.rglob("katas")):
        return folder
    modules = {f"{k.module}.py" for k in katas()}
    found = [p for p in folder.iterdir() if p.name in modules and p.is_file() and not p.is_symlink()]
    if not found:
        return folder
    package = tmp / "loose" / "katas"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(stubs.pristine_files()["__init__.py"], encoding="utf-8")
    for path in found:
        shutil.copyfile(path, package / path.name)
    return package.parent


def judged(folder: Path, unimportable: bool = True) -> platforms.Results:
    """The Results of the submission in folder; with unimportable False, one whose kata files are missing or do not
    compile is not judged (its Results say why)."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        sub = submissions.submission("submission", loose(folder, Path(tmp)), Path(tmp) / "work")
        if sub.root is None or (sub.format_errors and not unimportable):
            return platforms.results([], reason=sub.reason, format_errors=sub.format_errors)
        try:
            outcomes = [o for g in grade.grade(sub.root) for o in g.outcomes]
        except Exception as error:  # a grader always answers: the platform shows this, not a missing file
            return platforms.results([], reason=f"The tests could not run, so there is no grade: {error}")
        return platforms.results(outcomes, time.perf_counter() - start, format_errors=sub.format_errors)


def run(platform: str, root: Path) -> dict[str, Any]:
    """Judge root's submission for platform and write root/results/results.json; the data written."""
    folder, _, write = PLATFORMS[platform]
    data = write(judged(root / folder, unimportable=platform != "prairielearn"))
    (root / "results").mkdir(parents=True, exist_ok=True)
    (root / "results" / "results.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return data


@command
def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2 or argv[0] not in PLATFORMS:
        print(f"usage: python -m tools.instructor.autograde {{{','.join(PLATFORMS)}}} [ROOT]", file=sys.stderr)
        return 2
    root = Path(argv[1] if len(argv) == 2 else os.environ.get("AUTOGRADER_ROOT") or PLATFORMS[argv[0]][1])
    data = run(argv[0], root)
    print(data.get("output") or data.get("message") or "")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
