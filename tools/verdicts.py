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
import hashlib
import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from tools.manifest import ROOT, Kata, by_number, closure
from tools.runner import Outcome

JUDGE = ("conftest.py", "tests/__init__.py", "tests/judge.py", "tests/plugin.py", "tests/deps.py")
TOOLS = ("tools/manifest.toml", "tools/runner.py", "pyproject.toml")


def cache_file(root: Path) -> Path:
    return root / ".nox" / "kata-verdicts.json"


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


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
        "outcomes": [asdict(o) for o in outcomes],
    }
    path = cache_file(root)
    table = _read(path)
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
    """The remembered verdict of a kata, or None when it is missing or a file it depends on changed."""
    entry = _read(cache_file(root)).get(kata.module)
    if not entry or entry.get("environment") != _environment():
        return None
    outcomes = [Outcome(**{**o, "ran": tuple(o["ran"])}) for o in entry["outcomes"]]
    ran = {n for o in outcomes for n in o.ran}
    files = _files(root, kata, ran)
    if set(files) != set(entry["files"]) or any(_digest(p) != entry["files"][n] for n, p in files.items()):
        return None
    return outcomes


def _read(path: Path) -> dict:
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return table if isinstance(table, dict) else {}
