"""`nox -s hint -- N [LEVEL]`: the hints for kata N, one level at a time, from the manifest."""

from __future__ import annotations

import re
import sys
import textwrap

from tools.manifest import Kata, command, kata_from_args, katas


@command
def show(argv: list[str]) -> int:
    names = ", ".join(f"{k.number} {k.name}" for k in katas())
    kata = kata_from_args(argv, f"nox -s hint -- N [LEVEL]   (N: {names})", most=2)
    if kata is None:
        return 2
    levels = len(kata.hints)
    level = argv[1] if len(argv) == 2 else "1"
    if not level.isdecimal() or not level.isascii() or not 1 <= int(level) <= levels:
        print(f"{kata.label} has hint levels 1 to {levels}; got {level!r}.")
        return 2
    print(text(kata, int(level)))
    return 0


def wrap(hint: str, width: int = 96) -> str:
    """The hint in lines of at most `width`, never broken inside a short formula in parentheses."""
    glued = re.sub(r"\([^()]{1,40}\)", lambda m: m.group(0).replace(" ", NBSP), hint)
    lines = textwrap.fill(glued, width=width, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False)
    return lines.replace(NBSP, " ")


NBSP = "\u00a0"


def text(kata: Kata, n: int) -> str:
    """Hint n of a kata, wrapped, with what to do after it."""
    levels = len(kata.hints)
    body = wrap(kata.hints[n - 1])
    if n < levels:
        then = f"Still stuck? `nox -s hint -- {kata.number} {n + 1}`"
    else:
        then = (
            f"That was the last hint. The docstring of {kata.path()} has the math; the test output says "
            f"what differs (`nox -s kata-{kata.number}`)."
        )
    return f"{kata.label}, hint {n} of {levels}:\n\n{body}\n\n{then}"


if __name__ == "__main__":
    sys.exit(show(sys.argv[1:]))
