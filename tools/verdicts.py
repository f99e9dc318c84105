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
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import asdict, fields
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from tools.manifest import ROOT, Kata, by_number, closure, katas
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
    table = _read(path)  # without the entries it cannot read: they are rebuilt as their katas are judged again
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
    entry = _entry(_read(cache_file(root)).get(kata.module))
    if entry is None or entry.environment != _environment():
        return None
    ran = {n for o in entry.outcomes for n in o.ran}
    files = _files(root, kata, ran)
    if set(files) != set(entry.files) or any(_digest(p) != entry.files[n] for n, p in files.items()):
        return None
    return entry.outcomes


class _Entry(typing.NamedTuple):
    environment: str
    files: dict[str, str]
    outcomes: list[Outcome]


_WARNED: set[Path] = set()  # the caches already said to be unreadable: one line per process, not one per kata


def _read(path: Path) -> dict[str, Any]:
    """The table of remembered verdicts, without the entries that are not of the structure `store` writes.

    The file is only a cache: what cannot be read in it (a hand edit, another program's) is left out, said in
    one line, and rebuilt as the katas are judged again; an entry another version of the tools or another
    environment wrote is only old, and is left out without a word."""
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except OSError:  # none yet (or none that can be opened): nothing remembered
        return {}
    except ValueError:  # not UTF-8, or not JSON
        table = None
    if not isinstance(table, dict):
        _unreadable(path)
        return {}
    readable = {module: entry for module, entry in table.items() if _entry(entry) is not None}
    if any(not _outdated(entry) for module, entry in table.items() if module not in readable):
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
    return isinstance(files, dict) and any(
        name in files and files[name] != _digest(ROOT / name) for name in (*JUDGE, *TOOLS)
    )


def _entry(data: object) -> _Entry | None:
    """One kata's remembered verdict, or None unless it has exactly the structure `store` writes."""
    if not isinstance(data, dict) or set(data) != set(_Entry._fields):
        return None
    environment, files, outcomes = data["environment"], data["files"], data["outcomes"]
    if not isinstance(environment, str) or not _is(files, dict[str, str]) or not isinstance(outcomes, list):
        return None
    parsed = [_outcome(o) for o in outcomes]
    if any(o is None for o in parsed):
        return None
    return _Entry(environment, files, [o for o in parsed if o is not None])


_FIELDS = {f.name: typing.get_type_hints(Outcome)[f.name] for f in fields(Outcome)}


def _outcome(data: object) -> Outcome | None:
    """An Outcome from what `asdict` made of it: every field, of its declared type, and nothing else."""
    if not isinstance(data, dict) or set(data) != set(_FIELDS):
        return None
    if not all(_is(data[name], kind) for name, kind in _FIELDS.items()):
        return None
    outcome = Outcome(**{name: _value(data[name], kind) for name, kind in _FIELDS.items()})
    known = range(1, len(katas()) + 1)
    if not all(n in known for n in outcome.ran) or not (outcome.blame is None or outcome.blame in known):
        return None
    return outcome


def _is(value: object, kind: Any) -> bool:
    """Whether a JSON value is one of a type hint (a tuple is stored as a list)."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is None or kind is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        return any(_is(value, arg) for arg in args)
    if origin in (tuple, list):
        if not isinstance(value, list):
            return False
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            return len(value) == len(args) and all(_is(v, a) for v, a in zip(value, args))
        return all(_is(v, args[0]) for v in value) if args else True
    if origin is dict:
        return isinstance(value, dict) and all(_is(k, args[0]) and _is(v, args[1]) for k, v in value.items())
    if kind is float:
        return type(value) in (int, float)
    if kind in (int, bool, str):
        return type(value) is kind  # JSON's true is not the number 1 here, nor 1 a truth value
    return isinstance(kind, type) and isinstance(value, kind)


def _value(value: Any, kind: Any) -> Any:
    """A JSON value that `_is` of the type hint, as that type: lists become tuples where a tuple is declared."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return _value(value, next(arg for arg in args if _is(value, arg)))
    if origin is tuple:
        parts = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        return tuple(_value(v, a) for v, a in zip(value, parts)) if parts else tuple(value)
    if origin is list:
        return [_value(v, args[0]) for v in value] if args else list(value)
    return value
