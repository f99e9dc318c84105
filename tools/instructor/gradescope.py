"""`nox -s gradescope -- OUT.zip`: a Gradescope autograder for this course (for each submission it runs autograde.py).

    python -m tools.instructor.gradescope OUT.zip      write the autograder: setup.sh, run_autograder, a release

The zip holds a student copy (what `nox -s release` writes: no solutions) with setup.sh and run_autograder at its
root, as Gradescope's specification asks; Gradescope unpacks it into /autograder/source. setup.sh installs nox and
builds the shared environment there once, when the image is built. For each submission run_autograder runs
`python -m tools.instructor.autograde gradescope`: /autograder/submission judged with the copy's own tests,
/autograder/results/results.json written (the grade's points, a test per kata test, the mistake ids as tags).
AUTOGRADER_ROOT moves /autograder and AUTOGRADER_PYTHON the environment's python: it runs outside a container too.
"""

from __future__ import annotations

import sys
import tempfile
import zipfile
from pathlib import Path

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
cd "$ROOT/source" && exec "$PYTHON" -m tools.instructor.autograde gradescope "$ROOT"
"""


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


USAGE = "usage: nox -s gradescope -- OUT.zip"


@command
def main(argv: list[str]) -> int:
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
