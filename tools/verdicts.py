"""Remembered verdicts: a kata's test results, kept until a file they depend on changes.

`nox -s progress` needs every kata's verdict, and judging them all costs importing torch (about
3 s) before any test runs. A verdict is kept in <root>/.nox/kata-verdicts.json with the hash of
every file it depends on: the kata's own file, those of the katas it builds on and of every kata
whose code ran in its tests, its test file, the judge, and the versions of Python and torch.
When none of them changed, the verdict is the one the tests would give again, and progress shows
it without running anything. Nothing here imports torch.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sys
import typing
from collections.abc import Iterable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from tools import record
from tools.manifest import ROOT, Kata, by_number, closure
from tools.record import Outcome

# the judge and its pytest plugin, one module per job
MACHINERY = tuple(
    f"tools/{p.parent.name}/{p.name}" for d in ("judge", "plugin") for p in sorted((ROOT / "tools" / d).glob("*.py"))
)
JUDGE = ("conftest.py", "tests/__init__.py", "tests/judge.py", *MACHINERY, "tests/mistakes.toml")
RUN = tuple(f"tools/run/{path.name}" for path in sorted((ROOT / "tools" / "run").glob("*.py")))  # the supervisor
TOOLS = (
    "tools/manifest.toml",
    "tools/record.py",
    "tools/runner.py",
    *RUN,
    "tools/settings.py",
    "tools/mistakes.py",
    "pyproject.toml",
)


def cache_file(root: Path) -> Path:
    return root / ".nox" / "kata-verdicts.json"


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


@functools.cache  # read once a process: the installed torch does not change under it
def _environment() -> str:
    try:
        torch = version("torch")
    except PackageNotFoundError:
        torch = "none"
    return f"python {sys.version.split()[0]}, torch {torch}"


def _files(root: Path, kata: Kata, ran: Iterable[int]) -> dict[str, Path]:
    numbers = {kata.number, *(k.number for k in closure(kata)), *ran}
    files = {f"katas/{by_number(n).module}.py": root / "katas" / f"{by_number(n).module}.py" for n in numbers}
    files["katas/__init__.py"] = root / "katas" / "__init__.py"
    for name in (*JUDGE, *TOOLS, kata.test_file):
        files[name] = ROOT / name
    return files


def store(root: Path, kata: Kata, outcomes: Sequence[Outcome]) -> None:
    """Remember the verdict of all of a kata's tests on the learner's katas/ under root."""
    ran = {n for o in outcomes for n in o.ran}
    entry = {
        "environment": _environment(),
        "files": {name: _digest(path) for name, path in _files(root, kata, ran).items()},
        "outcomes": [record.write(o) for o in outcomes],
    }
    path = cache_file(root)
    table = _readable(path)  # without the entries it cannot read: they are rebuilt as their katas are judged again
    table[kata.module] = entry
    temporary = path.with_suffix(f".{os.getpid()}.tmp")  # two runs at once never share one
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps(table), encoding="utf-8")
        temporary.replace(path)  # on Windows this fails while another program holds the file open
    except OSError:  # only a cache: the verdict stands, it is just not remembered this time
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)


def load(root: Path, kata: Kata) -> list[Outcome] | None:
    """The remembered verdict of a kata, or None when it is missing, unreadable, or a file it depends on changed."""
    path = cache_file(root)
    data = _table(path).get(kata.module)
    entry = _entry(data)
    if entry is None:
        if data is not None and not _outdated(data):
            _unreadable(path)
        return None
    if entry.environment != _environment():
        return None
    ran = {n for o in entry.outcomes for n in o.ran}
    files = _files(root, kata, ran)
    if set(files) != set(entry.files) or any(_digest(p) != entry.files[n] for n, p in files.items()):
        return None
    return entry.outcomes


# The file is only a cache: what cannot be read in it (a hand edit, another program's) is left out, said in one
# line, and rebuilt as the katas are judged again; an entry that another version of the tools or another
# environment wrote (a verdict record of another version included, tools/record.py) is only old, and is left
# out without a word.

_WARNED: set[Path] = set()  # the caches already said to be unreadable: one line per process, not one per kata


def _table(path: Path) -> dict[str, Any]:
    """The file's table of entries, each as JSON made it (not checked yet); {} when there is none."""
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except OSError:  # none yet (or none that can be opened): nothing remembered
        return {}
    except ValueError:  # not UTF-8, or not JSON
        table = None
    if not isinstance(table, dict):
        _unreadable(path)
        return {}
    return table


def _readable(path: Path) -> dict[str, Any]:
    """The file's table without the entries that are not of the structure `store` writes."""
    table = _table(path)
    readable = {module: data for module, data in table.items() if _entry(data) is not None}
    if any(not _outdated(data) for module, data in table.items() if module not in readable):
        _unreadable(path)
    return readable


def _unreadable(path: Path) -> None:
    if path not in _WARNED:
        _WARNED.add(path)
        print(
            f"note: the remembered verdicts in {path} were unreadable, so the katas are judged again and the file "
            "is rebuilt (nothing to do with your code)",
            file=sys.stderr,
        )


def _outdated(data: object) -> bool:
    """Whether an entry written by another version of the tools or another environment: old, not corrupt."""
    if not isinstance(data, dict):
        return False
    environment, files = data.get("environment"), data.get("files")
    if isinstance(environment, str) and environment != _environment():
        return True
    outcomes = data.get("outcomes")
    if isinstance(outcomes, list) and any(isinstance(o, dict) and o.get("version") != record.VERSION for o in outcomes):
        return True  # records of another format: those of before the format had a version included
    return isinstance(files, dict) and any(
        name in files and files[name] != _digest(ROOT / name) for name in (*JUDGE, *TOOLS)
    )


class _Entry(typing.NamedTuple):
    environment: str
    files: dict[str, str]
    outcomes: list[Outcome]


def _entry(data: object) -> _Entry | None:
    """One kata's remembered verdict, or None unless it has exactly the structure `store` writes."""
    if not isinstance(data, dict) or data.keys() != set(_Entry._fields):
        return None
    environment, files, outcomes = data["environment"], data["files"], data["outcomes"]
    if not isinstance(environment, str) or not _is_files(files) or not isinstance(outcomes, list):
        return None
    try:
        return _Entry(environment, files, [record.read(o) for o in outcomes])
    except record.RecordError:
        return None


def _is_files(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


# Within one process (a worker judging tree after tree, as bugzoo's do), a verdict is also remembered by the
# content of what it depends on, whatever folder that content is in: the same files, the same verdict.

_BY_CONTENT: dict[str, list[Outcome]] = {}


def _content(root: Path, kata: Kata) -> str:
    """A digest of the kata's file and of every earlier kata's (all its tests can run), with the tools'."""
    earlier = range(1, kata.number)
    return hashlib.sha256(
        json.dumps(
            [_environment(), sorted((name, _digest(path)) for name, path in _files(root, kata, earlier).items())]
        ).encode()
    ).hexdigest()


def recall(root: Path, kata: Kata) -> list[Outcome] | None:
    """A kata's verdict on the tree at root when one is known: remembered on disk, or earlier in this process."""
    return load(root, kata) or _BY_CONTENT.get(_content(root, kata))


def keep(root: Path, kata: Kata, outcomes: Sequence[Outcome]) -> None:
    """Remember a kata's whole verdict on the tree at root: on disk, and in this process."""
    store(root, kata, outcomes)
    _BY_CONTENT[_content(root, kata)] = list(outcomes)
