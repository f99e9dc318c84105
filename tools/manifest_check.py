"""Reading a manifest file: the Kata record each [[kata]] entry becomes, and the check of every field, which
stops at the first fault with ManifestError, one line naming the file, the line and the field (tools/manifest.py
loads tools/manifest.toml with it once and looks katas up)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: nox and pytest both bring tomli
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent


class ManifestError(ValueError):
    """The manifest cannot be used; the message is one line naming the file, the line and the field at fault."""


@dataclass(frozen=True)
class Kata:
    number: int
    name: str
    module: str
    names: tuple[str, ...]
    needs: tuple[int, ...]
    summary: str
    hints: tuple[str, ...]
    points: int = 1
    bonus: bool = False  # optional: counted apart, so that "all done" means every required kata

    @property
    def label(self) -> str:
        """'kata-3 (sigmoid)': how every message names a kata."""
        return f"kata-{self.number} ({self.name})"

    def path(self, package: str = "katas") -> str:
        return f"{package}/{self.module}.py"

    @property
    def test_file(self) -> str:
        return f"tests/test_{self.module}.py"


def load(path: Path) -> tuple[Kata, ...]:
    """The katas of a manifest file, every entry checked: ManifestError (one line) at the first fault."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ManifestError(f"{shown(path)}: cannot be read ({error.strerror or error})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ManifestError(f"{shown(path)}: line {line}: not UTF-8 text (save the file as UTF-8)") from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ManifestError(f"{shown(path)}: {_where(str(error))}") from None
    return _Checker(path, text).katas(table)


def shown(path: Path) -> str:
    """A file as messages name it: from the repository root when it is inside it."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def _where(message: str) -> str:
    """tomllib's 'Expected ... (at line 12, column 5)' as 'line 12, column 5: Expected ...'."""
    found = re.fullmatch(r"(?s)(.*?)\s*\(at line (\d+), column (\d+)\)", message)
    if found:
        return f"line {found[2]}, column {found[3]}: {found[1]}"
    found = re.fullmatch(r"(?s)(.*?)\s*\(at end of document\)", message)
    if found:
        return f"at the end of the file: {found[1]}"
    return " ".join(message.split())


def _shown_value(value: object) -> str:
    """A TOML value as the file spells it, cut short: `"two"`, `3`, `true`, `[3, "a..."]`."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


# The fields of a [[kata]] entry: what each must be and what it is for, said as a person reads them, and the test.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _is_strings(value: object, each: Callable[[str], bool] = bool) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and each(v) for v in value)


@dataclass(frozen=True)
class _Field:
    kind: str
    purpose: str
    ok: Callable[[object], bool]


FIELDS = {
    "name": _Field(
        'a string without spaces, such as "sigmoid"',
        "the kata's public name",
        lambda v: isinstance(v, str) and bool(v) and not any(c.isspace() for c in v),
    ),
    "module": _Field(
        'a Python module name, such as "sigmoid"',
        "the kata's file in katas/ and solutions/",
        lambda v: isinstance(v, str) and bool(_IDENTIFIER.fullmatch(v)),
    ),
    "names": _Field(
        'a list of Python names, such as ["l2_loss"]',
        "what the module gives",
        lambda v: _is_strings(v, lambda s: bool(_IDENTIFIER.fullmatch(s))),
    ),
    "needs": _Field(
        'a list of names of earlier katas, such as ["affine", "relu"]',
        "the katas it builds on; [] for none",
        _is_strings,
    ),
    "summary": _Field(
        "a string of one line",
        "one line for the README and `nox -s progress`",
        lambda v: isinstance(v, str) and bool(v.strip()) and "\n" not in v,
    ),
    "hints": _Field(
        "a list of strings, from a nudge to a walk-through",
        "the kata's hints",
        lambda v: _is_strings(v) and bool(v),
    ),
    "points": _Field(
        "a whole number of 1 or more",
        "what the kata is worth in `nox -s grade`",
        lambda v: type(v) is int and v >= 1,
    ),
    "bonus": _Field(
        "true or false",
        "an optional kata, counted apart from the required ones",
        lambda v: type(v) is bool,
    ),
}
OPTIONAL = {"points": 1, "bonus": False}
FORMAT = 1  # the manifest format this code reads (the file's top-level `format`); raise it when fields change
BONUS_POINTS = 0  # what a bonus kata is worth unless its entry sets `points`


class _Checker:
    """Turns a parsed manifest into Katas, or stops at its first fault with the line it stands on."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.entries: list[dict[str, Any]] = []
        self.headers = [n for n, line in enumerate(self.lines) if re.fullmatch(r"\s*\[\[\s*kata\s*\]\]\s*(#.*)?", line)]

    def fail(self, line: int | None, what: str) -> ManifestError:
        return ManifestError(f"{shown(self.path)}: {f'line {line}: ' if line else ''}{what}")

    def line_of(self, key: str, entry: int | None = None) -> int | None:
        """The line (from 1) of `key = ...` in the entry-th [[kata]] (from 0), or above the first; else its header's."""
        ends = [-1, *self.headers, len(self.lines)]
        start, end = (ends[entry + 1], ends[entry + 2]) if entry is not None else (0, ends[1])
        if entry is not None and len(self.headers) != len(self.entries):  # entries not written as [[kata]] tables
            return None
        pattern = re.compile(rf"\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*=")
        for n in range(max(start, 0), end):
            if pattern.match(self.lines[n]):
                return n + 1
        return start + 1 if entry is not None else None

    def katas(self, table: dict[str, Any]) -> tuple[Kata, ...]:
        self.format(table)
        for key in table:
            if key not in ("format", "kata"):
                raise self.fail(
                    self.line_of(key),
                    f"unknown key {_shown_value(key)}: the file holds only `format = {FORMAT}` and [[kata]] tables",
                )
        entries = table.get("kata")
        if entries is None:
            raise self.fail(None, "there is no [[kata]] entry: each kata is one [[kata]] table")
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise self.fail(
                self.line_of("kata"), f'"kata" must be [[kata]] tables, one per kata; got {_shown_value(entries)}'
            )
        self.entries = entries
        found: list[Kata] = []
        for index, entry in enumerate(entries):
            found.append(self.kata(index, entry, found))
        return tuple(found)

    def format(self, table: dict[str, Any]) -> None:
        """The file's format version must be the one this code reads; checked first, as a newer format may differ."""
        if "format" not in table:
            raise self.fail(
                None,
                f'key "format" is missing: this code reads manifest format {FORMAT}; put `format = {FORMAT}` '
                "above the first [[kata]]",
            )
        value, line = table["format"], self.line_of("format")
        if type(value) is not int:
            raise self.fail(
                line,
                f'key "format" must be a whole number; got {_shown_value(value)} '
                f"(this code reads manifest format {FORMAT}: `format = {FORMAT}`)",
            )
        if value > FORMAT:
            raise self.fail(
                line,
                f'key "format" is {value}, a newer manifest format than this code reads ({FORMAT}): '
                f"update the tools, or write the file in format {FORMAT}",
            )
        if value != FORMAT:
            raise self.fail(
                line,
                f'key "format" is {value}, not a manifest format: this code reads format {FORMAT} '
                f"(`format = {FORMAT}`)",
            )

    def kata(self, index: int, entry: dict[str, Any], earlier: list[Kata]) -> Kata:
        number = index + 1
        name = entry.get("name")
        label = f"kata {number} ({name})" if isinstance(name, str) and name else f"kata {number}"

        def fail(field: str, what: str) -> ManifestError:
            return self.fail(self.line_of(field, index), f"{label}: {what}")

        for field in entry:
            if field not in FIELDS:
                raise fail(field, f"unknown field {_shown_value(field)} (the fields are {', '.join(FIELDS)})")
        for field, spec in FIELDS.items():
            if field not in entry:
                if field in OPTIONAL:
                    continue
                raise fail(field, f'field "{field}" is missing ({spec.purpose}: {spec.kind})')
            value = entry[field]
            free = field == "points" and type(value) is int and value == 0 and entry.get("bonus") is True
            if not spec.ok(value) and not free:  # a bonus kata may be worth 0 points, a required one not
                raise fail(field, f'field "{field}" must be {spec.kind}; got {_shown_value(entry[field])}')
        for field in ("name", "module"):
            twin = next((k for k in earlier if getattr(k, field) == entry[field]), None)
            if twin:
                raise fail(
                    field,
                    f'field "{field}": {_shown_value(entry[field])} is already the {field} of kata {twin.number}; '
                    "each kata needs its own",
                )
        by_name = {k.name: k.number for k in earlier}
        for need in entry["needs"]:
            if need not in by_name:
                raise fail("needs", f'field "needs": {self.unknown_need(need, number, earlier)}')
        bonus = entry.get("bonus", OPTIONAL["bonus"])
        return Kata(
            number=number,
            name=entry["name"],
            module=entry["module"],
            names=tuple(entry["names"]),
            needs=tuple(by_name[need] for need in entry["needs"]),
            summary=entry["summary"],
            hints=tuple(entry["hints"]),
            points=entry.get("points", BONUS_POINTS if bonus else OPTIONAL["points"]),
            bonus=bonus,
        )

    def unknown_need(self, need: str, number: int, earlier: list[Kata]) -> str:
        later = [n for n, entry in enumerate(self.entries, start=1) if entry.get("name") == need]
        if later:
            which = "this kata itself" if later[0] == number else f"kata {later[0]}, which comes later"
            return f"{_shown_value(need)} is {which}: a kata builds only on earlier ones"
        names = ", ".join(k.name for k in earlier) or "none: kata 1 builds on nothing"
        return f"{_shown_value(need)} is not the name of an earlier kata (the earlier ones: {names})"
