"""`nox -s reset -- N`: put kata N back to its starting stub, keeping the learner's file first.

`nox -s reset -- N --undo` puts back the newest backup of kata N (the file it replaces is backed
up first, so running it again goes back). `nox -s reset -- --judge` brings back, in a student
copy, the files that judge (tests/, tools/ ...) as the release made them (tools/seal.py), each
backed up first. Nothing a learner wrote is lost: when a file cannot be backed up or written,
nothing changes and one line says why.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tools import seal, stubs
from tools.manifest import ROOT, Kata, command, kata_from_args

USAGE = "nox -s reset -- N [--undo]   (one kata at a time; --undo puts back its newest backup; --judge: the tests)"


@command
def main(argv: list[str]) -> int:
    if argv == ["--judge"]:  # a student copy's judging files, as the release made them (tools/seal.py)
        said = seal.restore(ROOT)
        print("\n".join(said))
        return 1 if seal.broken(ROOT) else 0
    undo = "--undo" in argv
    kata = kata_from_args([a for a in argv if a != "--undo"], USAGE)
    if kata is None:
        return 2
    path = ROOT / kata.path()
    try:
        return restore(kata, path) if undo else reset(kata, path)
    except OSError as error:
        print(f"Could not {'restore' if undo else 'reset'} {kata.path()}: {why(error)}. Nothing else was changed.")
        return 1


def reset(kata: Kata, path: Path) -> int:
    pristine = stubs.pristine(kata.module).encode("utf-8")
    if path.exists() and path.read_bytes().replace(b"\r\n", b"\n") == pristine:
        print(f"{kata.path()} is already the starting stub; nothing to do.")
        return 0
    if path.exists():
        saved = stubs.backup(path)
        print(f"Your {kata.path()} is saved as {saved.relative_to(ROOT).as_posix()}.")
    path.write_bytes(pristine)
    print(f"{kata.path()} is back to its starting stub. Begin again with `nox -s kata-{kata.number}`.")
    print(f"(Changed your mind? `nox -s reset -- {kata.number} --undo` puts your file back.)")
    return 0


def restore(kata: Kata, path: Path) -> int:
    found = backups(Path(kata.path()))
    if not found:
        print(f"There is no backup of {kata.path()} in {stubs.BACKUPS.name}/: nothing to put back.")
        return 1
    newest = found[-1]
    if path.exists() and path.read_bytes() == newest.read_bytes():
        print(f"{kata.path()} is already the same as its newest backup ({newest.relative_to(ROOT).as_posix()}).")
        return 0
    if path.exists():
        saved = stubs.backup(path)
        print(f"The {kata.path()} you had is saved as {saved.relative_to(ROOT).as_posix()}.")
    path.write_bytes(newest.read_bytes())
    print(f"{kata.path()} is back to {newest.relative_to(ROOT).as_posix()}. Test it with `nox -s kata-{kata.number}`.")
    return 0


def backups(relative: Path) -> list[Path]:
    """The backups of one file, oldest first (folders are named <date>-<time>[-n])."""

    def order(path: Path) -> tuple:
        match = re.fullmatch(r"(\d{8}-\d{6})(?:-(\d+))?", path.name)
        return (match.group(1), int(match.group(2) or 1)) if match else ("", 0)

    if not stubs.BACKUPS.is_dir():
        return []
    folders = sorted((f for f in stubs.BACKUPS.iterdir() if (f / relative).is_file()), key=order)
    return [f / relative for f in folders]


def why(error: OSError) -> str:
    """An OSError as a reason a learner can act on."""
    try:
        where = f"{Path(error.filename).resolve().relative_to(ROOT.resolve()).as_posix()}: "
    except (TypeError, ValueError):  # no file name, or one outside the repository
        where = ""
    if isinstance(error, PermissionError):
        return f"{where}permission denied (is the file or folder read-only?)"
    if isinstance(error, (NotADirectoryError, FileExistsError)):
        return (
            f"{where}a file stands where a folder should be ({stubs.BACKUPS.name} must be a folder; rename that file)"
        )
    return f"{where}{error.strerror or error}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
