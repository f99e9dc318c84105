"""The kata manifest (tools/manifest.toml), loaded once, shared by nox, the tests and the tools: the katas in order
and their look-ups (by number, module, test file or what a learner types), and the command-line guard. Reading and
checking the file is tools/manifest_check.py's job; its names are given here too."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec

from tools.manifest_check import (
    _IDENTIFIER,
    BONUS_POINTS,
    FIELDS,
    FORMAT,
    OPTIONAL,
    ROOT,
    Kata,
    ManifestError,
    load,
    shown,
    tomllib,
)

__all__ = [
    "BONUS_POINTS",
    "FIELDS",
    "FORMAT",
    "MANIFEST",
    "OPTIONAL",
    "ROOT",
    "_IDENTIFIER",  # tools/maintainer/new_kata.py checks a new name with it
    "Kata",
    "ManifestError",
    "bonus",
    "by_module",
    "by_number",
    "closure",
    "column",
    "command",
    "kata_from_args",
    "kata_of_test",
    "katas",
    "load",
    "parse_number",
    "required",
    "shown",
    "tomllib",
]

MANIFEST = ROOT / "tools" / "manifest.toml"


@functools.cache
def katas() -> tuple[Kata, ...]:
    """The katas of tools/manifest.toml, in learning order; ManifestError when the file is broken."""
    return load(MANIFEST)


P = ParamSpec("P")


def command(main: Callable[P, int]) -> Callable[P, int]:
    """A command-line entry point: the manifest is checked first, and a broken one ends the command with its
    one line on stderr and exit status 2 instead of a traceback; Ctrl-C ends it with one line and status 130."""

    @functools.wraps(main)
    def checked(*args: P.args, **kwargs: P.kwargs) -> int:
        try:
            katas()
            return main(*args, **kwargs)
        except ManifestError as error:
            print(error, file=sys.stderr)
            return 2
        except KeyboardInterrupt as error:  # Ctrl-C, or SIGTERM/SIGHUP during a run: one line, the shell's 130
            print(f"\nStopped ({str(error) or 'Ctrl-C'}).", file=sys.stderr)
            return 130

    return checked


def required() -> tuple[Kata, ...]:
    """The katas a learner is asked to do: all but the bonus ones, in order."""
    return tuple(k for k in katas() if not k.bonus)


def bonus() -> tuple[Kata, ...]:
    """The optional katas (`bonus = true`), in order: shown and counted apart from the required ones."""
    return tuple(k for k in katas() if k.bonus)


def closure(kata: Kata) -> list[Kata]:
    """Every kata this one builds on (its `needs`, followed to the end), in kata order; not kata itself."""
    seen: set[int] = set()
    todo = list(kata.needs)
    while todo:
        number = todo.pop()
        if number not in seen:
            seen.add(number)
            todo.extend(by_number(number).needs)
    return [k for k in katas() if k.number in seen]


def column(kata: Kata) -> str:
    """'kata-3  sigmoid        ': the kata's number and name, padded to the manifest's widest, so that what follows
    lines up in a table of every kata (kata-10 and on, or a long name, included)."""
    number = len(str(len(katas())))
    name = max(len(k.name) for k in katas())
    return f"kata-{kata.number:<{number}}  {kata.name:<{name}}"


def by_number(number: int) -> Kata:
    return katas()[number - 1]


def by_module(module: str) -> Kata | None:
    return next((k for k in katas() if k.module == module), None)


@functools.lru_cache(maxsize=4096)  # (the judge asks it about each test several times: ten hooks a test)
def kata_of_test(test: str | Path) -> Kata | None:
    """The kata a test file judges: tests/test_<module>.py, named from the repository root or absolutely, or a
    pytest node id in it ('tests/test_relu.py::test_x'); None for any other file."""
    path = Path(str(test).split("::")[0])
    if path.is_absolute():
        try:
            path = path.relative_to(ROOT)
        except ValueError:
            return None
    if path.parent != Path("tests") or path.suffix != ".py" or not path.stem.startswith("test_"):
        return None
    return by_module(path.stem.removeprefix("test_"))


def parse_number(text: str) -> Kata:
    """'3', 'kata-3' or 'sigmoid' -> Kata; anything else -> ValueError with a one-line message."""
    text = text.strip().removeprefix("kata-")
    for kata in katas():
        if text in (str(kata.number), kata.name, kata.module):
            return kata
    valid = ", ".join(f"{k.number} ({k.name})" for k in katas())
    raise ValueError(f"unknown kata {text!r}: choose one of {valid}")


def kata_from_args(argv: list[str], usage: str, most: int = 1) -> Kata | None:
    """The kata named by argv[0] for a command-line tool; None after printing the usage or the error."""
    if not 1 <= len(argv) <= most:
        extra = f"; got {len(argv)} arguments ({' '.join(argv)})" if len(argv) > most else ""
        print(f"usage: {usage}{extra}")
        return None
    try:
        return parse_number(argv[0])
    except ValueError as error:
        print(error)
        return None
