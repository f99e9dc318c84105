"""`nox -s reset -- N`: put kata N back to its starting stub, keeping the learner's file first."""

from __future__ import annotations

import sys

from tools import stubs
from tools.manifest import ROOT, kata_from_args


def main(argv: list[str]) -> int:
    kata = kata_from_args(argv, "nox -s reset -- N   (one kata at a time)")
    if kata is None:
        return 2
    path = ROOT / kata.path()
    pristine = stubs.render({kata.module})[f"{kata.module}.py"]
    if path.exists() and path.read_text(encoding="utf-8") == pristine:
        print(f"{kata.path()} is already the starting stub; nothing to do.")
        return 0
    if path.exists():
        saved = stubs.backup(path)
        print(f"Your {kata.path()} is saved as {saved.relative_to(ROOT)}.")
    path.write_text(pristine, encoding="utf-8", newline="\n")
    print(f"{kata.path()} is back to its starting stub. Begin again with `nox -s kata-{kata.number}`.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
