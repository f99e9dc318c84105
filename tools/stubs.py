"""Make katas/ from solutions/: every `# >>> kata` ... `# <<< kata` region becomes a stub.

solutions/ is the single source of truth. Outside the marked regions the two trees are
identical by construction; inside, the learner gets `raise NotImplementedError(...)` naming
the kata, the function and the file. A region marked `# >>> kata: fill` (inside a literal,
where a raise cannot go) becomes a TODO comment instead. `regions` is the one parser of the
markers: the stubs, the bug zoo, the hint check and the release's leak check all use it.
`nox -s generated` (tools/maintainer/generated.py) checks katas/ against this; `-- --write` rewrites it.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tools.manifest import ROOT, Kata, by_module, katas

SOLUTIONS = ROOT / "solutions"
KATAS = ROOT / "katas"
BACKUPS = ROOT / ".kata-backups"
PRISTINE = ROOT / "tools" / "pristine"  # a student copy's stubs: it has no solutions/ to make them from
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


@dataclass(frozen=True)
class Region:
    """Lines begin+1 .. end-1 of a module are the learner's code (begin and end are the marker lines)."""

    begin: int
    end: int
    indent: str
    fill: bool


def regions(lines: list[str]) -> list[Region]:
    """The `# >>> kata` ... `# <<< kata` regions of a module given as lines."""
    found, i = [], 0
    while i < len(lines):
        begin = BEGIN.match(lines[i])
        if begin:
            end = next((j for j in range(i + 1, len(lines)) if END.match(lines[j])), None)
            if end is None:
                raise ValueError(f"line {i + 1}: `# >>> kata` has no `# <<< kata` after it")
            found.append(Region(i, end, begin.group(1), bool(begin.group("fill"))))
            i = end
        i += 1
    return found


def solution_lines(module: str) -> list[str]:
    """The stripped lines inside the kata regions of solutions/<module>.py: the answers."""
    lines = (SOLUTIONS / f"{module}.py").read_text(encoding="utf-8").splitlines()
    return [line.strip() for r in regions(lines) for line in lines[r.begin + 1 : r.end] if line.strip()]


def stub_source(text: str, module: str) -> str:
    """Return the learner's version of one solution module."""
    kata = by_module(module)
    if kata is None:
        return text
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    done = 0
    for region in regions(lines):
        out += lines[done : region.begin]
        indent, what, i = region.indent, _owner(lines, region.begin), region.begin
        if region.fill:
            target = ASSIGN.match(lines[i - 1]) if i else None
            what = target.group(1) if target else what
            out.append(f"{indent}# TODO {kata.label}: fill this in ({what}, {kata.path()})\n")
        else:
            message = f'"{kata.label}: {what} is not written yet; write it in {kata.path()}"'
            line = f"{indent}raise NotImplementedError({message})\n"
            if len(line) - 1 > LINE_LENGTH:  # wrapped the way ruff format wraps it
                line = f"{indent}raise NotImplementedError(\n{indent}    {message}\n{indent})\n"
            out.append(line)
        done = region.end + 1
    return "".join(out + lines[done:])


def pristine_files() -> dict[str, str]:
    """{file name: text} of the package with every kata as its starting stub: made from solutions/, or, in a
    student copy (which has none), the copies kept in tools/pristine/."""
    if SOLUTIONS.is_dir():
        return render()
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(PRISTINE.glob("*.py"))}


def pristine(module: str) -> str:
    """The starting stub of one kata module."""
    return pristine_files()[f"{module}.py"]


def still_stubs(package_dir: Path, chosen: Iterable[Kata] | None = None) -> list[Kata]:
    """The katas (of chosen; all when None) whose file in package_dir still holds a line of its stub: the
    `raise NotImplementedError("kata-N (name): ...")` or `# TODO kata-N (name): fill this in` it was given."""
    found = []
    for kata in katas() if chosen is None else chosen:
        path = package_dir / f"{kata.module}.py"
        text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
        if (
            f'"{kata.label}: ' in text  # the message of its raise
            or f"# TODO {kata.label}: " in text
        ):
            found.append(kata)
    return found


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


def write_pristine(dest: Path) -> None:
    """Write the package with every kata as its starting stub to dest (pristine_files)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name, text in pristine_files().items():
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
