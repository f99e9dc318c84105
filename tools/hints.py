"""`nox -s hint -- N [LEVEL]`: the hints for kata N, one level at a time, from the manifest."""

from __future__ import annotations

import re
import sys
import textwrap

from tools.manifest import Kata, kata_from_args, katas


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


def check() -> int:
    """For CI: every kata has at least three hints, and none quotes the reference solution's code."""
    from tools.stubs import BEGIN, END, SOLUTIONS

    problems = []
    for kata in katas():
        if len(kata.hints) < 3:
            problems.append(f"{kata.label} has {len(kata.hints)} hint(s); it needs at least 3")
        lines, inside, code = (SOLUTIONS / f"{kata.module}.py").read_text(encoding="utf-8").splitlines(), False, []
        for line in lines:
            inside = (inside or bool(BEGIN.match(line))) and not END.match(line)
            if inside and not BEGIN.match(line) and len(line.strip()) > 24:
                code.append(line.strip())
        for hint in kata.hints:
            problems += [f"{kata.label}: a hint quotes the solution: {c!r}" for c in code if c in hint]
    print("\n".join(problems) or f"hints: all {len(katas())} katas have 3 or more levels, none quotes the solution.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(check() if sys.argv[1:] == ["--check"] else show(sys.argv[1:]))
