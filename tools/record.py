"""The verdict record: how one test ended, in one definition, with one writer and one reader.

tools/plugin/ writes it, as a JSON event, when a test ends; the supervisor (tools/run/) reads it
there and makes its own for a test whose worker ended; the verdict cache (tools/verdicts.py) keeps it
as the same JSON; progress, watch, grade and the notebook read it.

    write(outcome) -> dict       JSON-able, with the record format's `version`
    read(data) -> Outcome        every field of its type, or RecordError: one line, another version included

Nothing here imports torch: the supervisor and `nox -s progress` read records without it.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from tools.manifest import Kata, kata_of_test, katas

VERSION = 2  # the record format: raise it when a field changes; a record of another version is never read
Status = Literal["passed", "failed"]
STATUSES: tuple[Status, ...] = typing.get_args(Status)


class RecordError(ValueError):
    """Data that is not a verdict record of this version; the message is one line."""


@dataclass(frozen=True)
class Outcome:
    """One test's verdict. A kata's test passes or fails: one that was skipped (by code it ran) failed, and one
    that never ran failed (did_not_run). A test of no kata that was skipped is not a failure: "passed"."""

    test: str  # the pytest node id: file::name
    status: Status
    blame: int | None = None  # the kata a failure is blamed on
    not_started: bool = False  # the failure is a stub's NotImplementedError
    message: str = ""  # the failure as the learner reads it
    did_not_run: bool = False  # collected, and never reported: a failure
    ran: tuple[int, ...] = ()  # the katas whose code ran in the test
    mistakes: tuple[str, ...] = ()  # the ids (tests/mistakes.toml) of the likely causes the message names
    duration: float = 0.0  # seconds: setup, call and teardown
    warnings: tuple[str, ...] = ()  # what the learner's code warned in the test, each once, in one line
    kata: Kata | None = field(init=False)  # the kata whose test it is: from the test's file (kata_of_test)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise RecordError(f"status {self.status!r} is not one of {', '.join(STATUSES)}")
        object.__setattr__(self, "kata", kata_of_test(self.test))

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def write(outcome: Outcome) -> dict[str, Any]:
    """The record as JSON-able data: the format's version, the kata's number, and every field."""
    data: dict[str, Any] = {"version": VERSION, "kata": outcome.kata.number if outcome.kata else None}
    for name in _FIELDS:
        value = getattr(outcome, name)
        data[name] = list(value) if isinstance(value, tuple) else value
    return data


def read(data: object) -> Outcome:
    """The record `write` made: exactly its keys, each of its type; RecordError (one line) for anything else."""
    if not isinstance(data, dict):
        raise RecordError(f"a verdict record is a JSON object; got {type(data).__name__}")
    version = data.get("version")
    if version != VERSION:
        said = "no version" if "version" not in data else f"version {version!r}"
        raise RecordError(f"a verdict record of {said}: this code reads version {VERSION}")
    expected = {"version", "kata", *_FIELDS}
    if data.keys() != expected:
        odd = sorted(map(str, data.keys() ^ expected))
        raise RecordError(f"a verdict record with the keys {', '.join(odd)} missing or unknown")
    values = {}
    for name, check in _FIELDS.items():
        ok, values[name] = check(data[name])
        if not ok:
            raise RecordError(f"a verdict record whose {name} is {_shown(data[name])}")
    last = len(katas())
    if not all(1 <= n <= last for n in values["ran"]) or not (values["blame"] is None or 1 <= values["blame"] <= last):
        raise RecordError(f"a verdict record naming a kata that is not one of 1 to {last}")
    if not (0 <= values["duration"] < math.inf):
        raise RecordError(f"a verdict record whose duration is {_shown(data['duration'])}")
    outcome = Outcome(**values)
    if data["kata"] != (outcome.kata.number if outcome.kata else None):
        raise RecordError(f"a verdict record whose kata {_shown(data['kata'])} is not its test's ({outcome.test})")
    return outcome


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


Reader = Callable[[object], tuple[bool, Any]]  # a JSON value -> (whether it is of the type, the value as that type)


def _reader(kind: Any) -> Reader:
    """The reader of a JSON value for a type hint of Outcome's: exact types (JSON's true is not the number 1,
    nor 1 a truth value), None, literals, unions, and tuple[X, ...] or list[X] (stored as lists)."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is None or kind is type(None):
        return lambda value: (value is None, None)
    if origin is Literal:
        return lambda value: (any(type(value) is type(a) and value == a for a in args), value)
    if origin in (typing.Union, types.UnionType):
        readers = [_reader(arg) for arg in args]

        def union(value: object) -> tuple[bool, Any]:
            return next((read for read in (r(value) for r in readers) if read[0]), (False, None))

        return union
    if origin is list or (origin is tuple and (not args or (len(args) == 2 and args[1] is Ellipsis))):
        each = _reader(args[0]) if args else (lambda value: (True, value))
        made = tuple if origin is tuple else list

        def sequence(value: object) -> tuple[bool, Any]:
            if not isinstance(value, list):
                return False, None
            read = [each(v) for v in value]
            return all(ok for ok, _ in read), made(v for _, v in read)

        return sequence
    if kind in (bool, int, str):
        return lambda value: (type(value) is kind, value)
    if kind is float:
        return lambda value: (
            (True, float(value)) if isinstance(value, (int, float)) and type(value) is not bool else (False, None)
        )
    # Any other type: a hint this does not know never reads, so no record does (and test_record's round trip of
    # every field fails) until it is taught here.
    return lambda value: (False, None)


# The fields a record is made from (kata is not one: it follows from the test), each with its reader.
_FIELDS = {f.name: _reader(typing.get_type_hints(Outcome)[f.name]) for f in fields(Outcome) if f.init}
