"""A generated class to grade: N students' submissions and the ground truth of what each should earn.

    python -m tools.maintainer.make_class DIR [--students 200] [--seed 0]

DIR (new or empty) gets one folder or zip per student, as `gh classroom clone student-repos` and an upload give
them: stubs (katas/ as released), right answers (the reference as katas/), half-done ones (the first katas right,
the rest stubs), each of the bug zoo's mistakes (tools/maintainer/bugzoo.toml, made in the reference by the zoo's
own Mistake.apply) in turn, and the broken: a corrupt zip, a folder without katas/, a syntax error, a kata that
hangs, one that forks, and edited tests/. Some are zips of the repository's folder, a few carry tests/.
DIR/expected.json says, per student, what was planted and which katas must pass, must fail, or may go either way
(a kata built on the planted one: whether its tests notice depends on the mistake). The same seed gives the same
bytes. Nothing here judges; a class grader's tests compare its verdicts with expected.json.
"""

from __future__ import annotations

import io
import json
import random
import shutil
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools import stubs
from tools.cli import Parser
from tools.maintainer import bugzoo
from tools.manifest import ROOT, Kata, closure, command, katas
from tools.seal import SKIPPED

BROKEN = ("corrupt-zip", "no-katas", "syntax-error", "hang", "fork", "edited-tests")
HANG = "while True:\n    pass"
FORK = "import os\nif os.fork() == 0:\n    while True:\n        pass"  # a child that never ends; the parent goes on
SYNTAX = "return (  # never closed"
STAMP = (2026, 1, 1, 0, 0, 0)  # every zip member's date: the same seed gives the same bytes


@dataclass
class Student:
    name: str
    kind: str  # stub, right, partial, mistake, or one of BROKEN
    files: dict[str, str]  # relative path -> text
    zipped: bool = False
    expected: dict[str, Any] = field(default_factory=dict)


def dependants(kata: Kata) -> list[int]:
    """The katas that build on kata (their needs, followed to the end)."""
    return [k.number for k in katas() if kata in closure(k)]


def verdicts(fail: list[int], either: list[int]) -> dict[str, list[int]]:
    """Which katas must pass, must fail, may go either way."""
    shaky = sorted(set(either) - set(fail))
    sure = [k.number for k in katas() if k.number not in fail and k.number not in shaky]
    return {"pass": sure, "fail": sorted(fail), "either": shaky}


def package(stubbed: list[str] | None) -> dict[str, str]:
    return {f"katas/{name}": text for name, text in stubs.render(stubbed).items()}


def inserted(source: str, code: str) -> str:
    """The source with code put at the top of its first kata region of statements (not one inside a literal),
    indented as that region's first line."""
    lines = source.splitlines(keepends=True)
    region = next(r for r in stubs.regions(lines) if not r.fill)
    first = lines[region.begin + 1]
    indent = first[: len(first) - len(first.lstrip())]
    lines.insert(region.begin + 1, "".join(f"{indent}{line}\n" for line in code.splitlines()))
    return "".join(lines)


def planted(kind: str, kata: Kata) -> Student:
    """A right submission with one kata broken as kind says."""
    files = package([])
    path = f"katas/{kata.module}.py"
    files[path] = inserted(files[path], {"hang": HANG, "fork": FORK, "syntax-error": SYNTAX}[kind])
    later = dependants(kata)  # they import it: a syntax error fails them too; a hang or a fork is in a leaf
    fail, either = ([], [kata.number]) if kind == "fork" else ([kata.number, *later], [])
    return Student("", kind, files, expected={"kata": kata.number, **verdicts(fail, either)})


def broken(kind: str, rng: random.Random) -> Student:
    leaves = [k for k in katas() if not dependants(k)]  # a hang there delays no other kata's tests
    if kind in ("hang", "fork", "syntax-error"):
        return planted(kind, rng.choice(leaves if kind != "syntax-error" else list(katas())))
    every = [k.number for k in katas()]
    if kind == "edited-tests":
        files = {**package([]), **tests()}
        first = katas()[0]
        files[first.test_file] = "def test_everything_passes():\n    pass\n"
        files["tests/test_mine.py"] = "def test_mine():\n    assert True\n"
        expected = {**verdicts([], []), "tests": {"added": ["test_mine.py"], "changed": [Path(first.test_file).name]}}
        return Student("", kind, files, expected=expected)
    if kind == "no-katas":
        files = {"README.md": "# my work\n", "src/affine.py": "x = 1\n"}
        return Student("", kind, files, expected={"judgeable": False, **verdicts(every, [])})
    return Student("", kind, package([]), zipped=True, expected={"judgeable": False, **verdicts(every, [])})


def tests() -> dict[str, str]:
    """This repository's tests/, as a student's clone holds them."""
    folder = ROOT / "tests"
    return {
        f"tests/{p.relative_to(folder).as_posix()}": p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not SKIPPED & set(p.relative_to(folder).parts)
    }


def ordinary(kind: str, rng: random.Random, mistakes: list[bugzoo.Mistake]) -> Student:
    modules = [k.module for k in katas()]
    if kind == "stub":
        return Student("", kind, package(None), expected=verdicts([k.number for k in katas()], []))
    if kind == "right":
        return Student("", kind, package([]), expected=verdicts([], []))
    if kind == "partial":
        done = rng.randint(1, len(modules) - 1)
        later = [k.number for k in katas()[done:]]
        return Student("", kind, package(modules[done:]), expected={"done": done, **verdicts(later, [])})
    m = mistakes.pop(0)
    mistakes.append(m)  # round the zoo: each mistake once before any twice
    files = package([])
    path = f"katas/{m.kata.module}.py"
    files[path] = m.apply(files[path])
    named = {"mistake": m.key, "names": list(m.names)}
    return Student("", kind, files, expected={**named, **verdicts([m.kata.number], dependants(m.kata))})


def make(count: int, seed: int) -> list[Student]:
    """The class, the same for the same count and seed: the broken first, then one stub and one right answer,
    then a draw of mistakes (6 in 10), half-done (2 in 10), right and stubs (1 in 10 each)."""
    rng = random.Random(seed)
    mistakes = bugzoo.load()
    rng.shuffle(mistakes)
    kinds = [*BROKEN, "stub", "right"][:count]
    kinds += rng.choices(["mistake", "partial", "right", "stub"], weights=[6, 2, 1, 1], k=count - len(kinds))
    students = []
    for i, kind in enumerate(kinds, start=1):
        s = broken(kind, rng) if kind in BROKEN else ordinary(kind, rng, mistakes)
        s.name = f"student-{i:03d}-{kind}"
        s.zipped = s.zipped or (kind not in BROKEN and rng.random() < 0.2)
        if kind not in BROKEN and rng.random() < 0.1:
            s.files.update(tests())  # a clone with its tests/, untouched
        s.expected = {"kind": kind, "zipped": s.zipped, "judgeable": True, **s.expected}
        students.append(s)
    return students


def zipped(files: dict[str, str], top: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in sorted(files.items()):
            archive.writestr(zipfile.ZipInfo(f"{top}/{name}", STAMP), text)
    return buffer.getvalue()


def write(students: list[Student], dest: Path) -> None:
    """Each student as a folder, or a zip of a folder of the repository's name; then dest/expected.json."""
    for s in students:
        if s.zipped:
            data = zipped(s.files, f"mnist-katas-{s.name}")
            if s.kind == "corrupt-zip":
                data = data[: len(data) // 2]  # cut off in the middle, as a broken download is
            (dest / f"{s.name}.zip").write_bytes(data)
            continue
        for name, text in s.files.items():
            path = dest / s.name / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
    expected = {s.name: s.expected for s in students}
    (dest / "expected.json").write_text(json.dumps(expected, indent=1) + "\n", encoding="utf-8", newline="\n")


@command
def main(argv: list[str]) -> int:
    parser = Parser(prog="python -m tools.maintainer.make_class", description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="a new or empty folder")
    parser.add_argument("--students", type=int, default=200, help="how many (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="the draw (default 0)")
    args = parser.parse_args(argv)
    if args.students < 1:
        parser.error(f"--students {args.students}: give 1 or more")
    if args.dest.exists() and (not args.dest.is_dir() or any(args.dest.iterdir())):
        parser.error(f"{args.dest}: not a new or empty folder")
    students = make(args.students, args.seed)
    args.dest.mkdir(parents=True, exist_ok=True)
    try:
        write(students, args.dest)
    except OSError as error:
        shutil.rmtree(args.dest, ignore_errors=True)
        print(f"make_class: could not write {args.dest}: {error.strerror or error}", file=sys.stderr)
        return 2
    kinds = {k: sum(s.kind == k for s in students) for k in dict.fromkeys(s.kind for s in students)}
    print(f"{len(students)} students in {args.dest}: " + ", ".join(f"{n} {k}" for k, n in kinds.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
