"""Write katas/ from solutions/: every `# >>> kata` ... `# <<< kata` region becomes a stub.

solutions/ is the single source of truth. Outside the marked regions the two trees are
identical by construction; inside, the learner gets `raise NotImplementedError(...)` naming
the kata, the function and the file. A region marked `# >>> kata: fill` (inside a literal,
where a raise cannot go) becomes a TODO comment instead.

    python -m tools.stubs --check     exit 1 and show the diff if katas/ is not what this makes
    python -m tools.stubs --write     regenerate katas/ (changed files are backed up first)
"""

from __future__ import annotations

import argparse
import difflib
import re
import shutil
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from tools.manifest import ROOT, by_module

SOLUTIONS = ROOT / "solutions"
KATAS = ROOT / "katas"
BACKUPS = ROOT / ".kata-backups"
LINE_LENGTH = 120  # pyproject.toml's [tool.ruff] line-length
BEGIN = re.compile(r"^(\s*)# >>> kata(?P<fill>: fill)?\s*$")
END = re.compile(r"^\s*# <<< kata\s*$")
DEF = re.compile(r"^(\s*)(?:def|class) (\w+)")
ASSIGN = re.compile(r"^\s*(\w+)\s*(?::[^=]*)?=")


def _owner(lines: list[str], index: int) -> str:
    """The dotted name of the function (or class) that line `index` sits in, e.g. TwoLayerNet.forward."""
    names: list[tuple[int, str]] = []
    for line in lines[:index]:
        match = DEF.match(line)
        if match:
            indent = len(match.group(1))
            names = [(i, n) for i, n in names if i < indent] + [(indent, match.group(2))]
    return ".".join(name for _, name in names) or "this module"


def stub_source(text: str, module: str) -> str:
    """Return the learner's version of one solution module."""
    kata = by_module(module)
    if kata is None:
        return text
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    i = 0
    while i < len(lines):
        begin = BEGIN.match(lines[i])
        if not begin:
            out.append(lines[i])
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if END.match(lines[j]))
        indent, what = begin.group(1), _owner(lines, i)
        if begin.group("fill"):
            target = ASSIGN.match(lines[i - 1]) if i else None
            what = target.group(1) if target else what
            out.append(f"{indent}# TODO {kata.label}: fill this in ({what}, {kata.path()})\n")
        else:
            message = f'"{kata.label}: {what} is not written yet; write it in {kata.path()}"'
            line = f"{indent}raise NotImplementedError({message})\n"
            if len(line) - 1 > LINE_LENGTH:  # wrapped the way ruff format wraps it
                line = f"{indent}raise NotImplementedError(\n{indent}    {message}\n{indent})\n"
            out.append(line)
        i = end + 1
    return "".join(out)


def render(stubbed: Iterable[str] | None = None) -> dict[str, str]:
    """{file name: text} for a katas package; `stubbed` lists the modules to stub (None: all)."""
    chosen = None if stubbed is None else set(stubbed)
    files = {}
    for path in sorted(SOLUTIONS.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        module = path.stem
        files[path.name] = stub_source(text, module) if chosen is None or module in chosen else text
    return files


def write_package(dest: Path, stubbed: Iterable[str] | None = None) -> None:
    """Write a complete package to dest (a folder named like the package)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name, text in render(stubbed).items():
        (dest / name).write_text(text, encoding="utf-8", newline="\n")


def backup(path: Path) -> Path:
    """Copy a learner's file to .kata-backups/<stamp>/ and return where it went."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = BACKUPS / stamp / path.relative_to(ROOT)
    n = 1
    while target.exists():  # two backups of one file within a second: keep both
        n += 1
        target = BACKUPS / f"{stamp}-{n}" / path.relative_to(ROOT)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, target)
    return target


def differences() -> list[str]:
    """Unified diff lines between katas/ and what render() makes; empty when they agree."""
    diff: list[str] = []
    expected = render()
    actual = {p.name for p in KATAS.glob("*.py")}
    for name in sorted(actual | set(expected)):
        path = KATAS / name
        have = path.read_text(encoding="utf-8").splitlines(keepends=True) if path.exists() else []
        want = expected.get(name, "").splitlines(keepends=True)
        diff += difflib.unified_diff(have, want, f"katas/{name}", f"generated/{name}")
    return diff


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.stubs", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="fail if katas/ differs from solutions/")
    mode.add_argument("--write", action="store_true", help="regenerate katas/, backing up changes")
    args = parser.parse_args(argv)
    if args.check:
        diff = differences()
        if diff:
            sys.stdout.writelines(diff)
            print("\nkatas/ is not what solutions/ generates: run `python -m tools.stubs --write`.")
            return 1
        print(f"katas/ matches solutions/ ({len(render())} files).")
        return 0
    for name, text in render().items():
        path = KATAS / name
        if path.exists() and path.read_text(encoding="utf-8") != text:
            print(f"backed up {path.relative_to(ROOT)} to {backup(path).relative_to(ROOT)}")
        KATAS.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote katas/ from solutions/ ({len(render())} files).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
