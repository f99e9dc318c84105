"""Keep README.md's kata table in step with tools/manifest.toml.

python -m tools.readme --check    exit 1 if the table between the markers is stale
python -m tools.readme --write    rewrite it
"""

from __future__ import annotations

import re
import sys

from tools.manifest import ROOT, katas

README = ROOT / "README.md"
BEGIN, END = "<!-- katas: generated from tools/manifest.toml -->", "<!-- /katas -->"


def table() -> str:
    rows = ["| # | kata | file | what you build |", "|---|---|---|---|"]
    rows += [f"| {k.number} | `{k.name}` | `{k.path()}` | {k.summary} |" for k in katas()]
    return "\n".join(rows)


def render(text: str) -> str:
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


# Counts the README states in prose, each with the pattern that finds it.
COUNTS = (r"each of the (\d+) mistakes", r"today: all (\d+)", r"`bugzoo` \((\d+) trees\)")


def stale_counts(text: str) -> list[str]:
    """The bug-zoo counts in the README prose that are not the number of mistakes in tools/bugzoo.toml."""
    from tools.bugzoo import load

    zoo = len(load())
    found = [(pattern, m.group(1)) for pattern in COUNTS for m in re.finditer(pattern, text)]
    return [f"README.md says {n} where the bug zoo has {zoo} ({pattern})" for pattern, n in found if int(n) != zoo]


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    if argv == ["--write"]:
        README.write_text(render(text), encoding="utf-8", newline="\n")
        return 0
    if render(text) != text:
        print("README.md's kata table is not the manifest's: run `python -m tools.readme --write`.")
        return 1
    stale = stale_counts(text)
    if stale:
        print("\n".join(stale))
        return 1
    print("README.md's kata table matches tools/manifest.toml, and its bug-zoo counts tools/bugzoo.toml.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
