"""The kata manifest (tools/manifest.toml), loaded once, shared by nox, the tests and the tools."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: nox and pytest both bring tomli
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent


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

    @property
    def label(self) -> str:
        """'kata-3 (sigmoid)': how every message names a kata."""
        return f"kata-{self.number} ({self.name})"

    def path(self, package: str = "katas") -> str:
        return f"{package}/{self.module}.py"

    @property
    def test_file(self) -> str:
        return f"tests/test_{self.module}.py"


@functools.cache
def katas() -> tuple[Kata, ...]:
    entries = tomllib.loads((ROOT / "tools" / "manifest.toml").read_text(encoding="utf-8"))["kata"]
    numbers = {entry["name"]: n for n, entry in enumerate(entries, start=1)}
    return tuple(
        Kata(
            number=n,
            name=e["name"],
            module=e["module"],
            names=tuple(e["names"]),
            needs=tuple(numbers[need] for need in e["needs"]),
            summary=e["summary"],
            hints=tuple(e["hints"]),
            points=e.get("points", 1),
        )
        for n, e in enumerate(entries, start=1)
    )


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


def by_number(number: int) -> Kata:
    return katas()[number - 1]


def by_module(module: str) -> Kata | None:
    return next((k for k in katas() if k.module == module), None)


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
