"""Keep README.md's kata table in step with tools/manifest.toml.

python -m tools.readme --check    exit 1 if the table between the markers is stale
python -m tools.readme --write    rewrite it
"""

from __future__ import annotations

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


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    if argv == ["--write"]:
        README.write_text(render(text), encoding="utf-8", newline="\n")
        return 0
    if render(text) != text:
        print("README.md's kata table is not the manifest's: run `python -m tools.readme --write`.")
        return 1
    print("README.md's kata table matches tools/manifest.toml.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
