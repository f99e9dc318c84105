"""What a student copy must not hold, each place named: a line of a solution region anywhere (leaks), and in what
students read, a sentence about how or where this repository was measured or tried, or one that offers what only
the reference has (prose). tools/instructor/release.py checks every copy it writes with them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tools import stubs
from tools.manifest import katas

SHORTEST_LEAK = 12  # solution lines shorter than this ("return out", "else:") say nothing about the answer
# Nor do comments, lines that only open a `with` block (`with torch.no_grad():`), or lines the stubs show anyway.
NOTEBOOK = "notebooks/explore.ipynb"


def leaks(dest: Path) -> list[str]:
    """Every place in the copy where a line of a solution region appears, or the answers' files do."""
    public = {line.strip() for text in stubs.render().values() for line in text.splitlines()}  # docstrings, signatures
    answers = {
        line: kata.path("solutions")
        for kata in katas()
        for line in stubs.solution_lines(kata.module)
        if len(line) >= SHORTEST_LEAK and not line.startswith(("#", "with ")) and line not in public
    }
    found = [f"{name}/ is in the copy" for name in ("solutions", "tools/maintainer") if (dest / name).exists()]
    for path in sorted(p for p in dest.rglob("*") if p.is_file() and ".git" not in p.relative_to(dest).parts):
        text = path.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip() in answers:
                where = f"{path.relative_to(dest).as_posix()}:{number}"
                found.append(f"{where} holds a line of {answers[line.strip()]}: {line.strip()!r}")
    return found


# Sentences a student should not read: how or where this repository was measured or tried, and what only the
# reference offers. A figure for students says what it was measured on ("a 2-core Linux machine, torch 2.14").
MEASURING = r"\b(?:measured|tried|timed|tested|takes|took|ran)\b"
WHERE = (  # for every reader, the repository's README too: a figure says what it was measured on
    (re.compile(rf"\bhere\b.*{MEASURING}|{MEASURING}.*\bhere\b", re.I), "says where it was measured or tried: 'here'"),
    (
        re.compile(r"\b(?:this|our|the project's|this project's) (?:[\w-]+ )?(?:machine|computer)\b", re.I),
        "speaks of the machine this repository was measured on",
    ),
)
PROSE = (  # for students: also nothing about what was not tried, nothing that needs the reference
    *WHERE,
    (re.compile(r"\bnot tried\b|\buntested\b", re.I), "says what this repository did not try"),
    (
        re.compile(r"REFERENCE = True|--reference\b|\bsolutions/|\bbug ?zoo\b|\bmaintainer\b", re.I),
        "offers what only the reference repository has",
    ),
)
READ_BY_STUDENTS = ("README.md", NOTEBOOK, ".devcontainer/devcontainer.json")


def prose_in(text: str, name: str, patterns: tuple[tuple[re.Pattern[str], str], ...] = PROSE) -> list[str]:
    """Each sentence of `text` that speaks of this repository's measuring, or offers the reference: 'NAME:LINE ...'."""
    found = []
    for match in re.finditer(r"(?:[^.!?]|[.!?](?!\s|$))+(?:[.!?]|$)", text):
        sentence = " ".join(match[0].split())
        for pattern, why in patterns:
            if sentence and pattern.search(sentence):
                line = text.count("\n", 0, match.start() + len(match[0]) - len(match[0].lstrip())) + 1
                found.append(f"{name}:{line} {why}: {sentence[:160]!r}")
                break
    return found


def prose(dest: Path) -> list[str]:
    """Every sentence of what students read in the copy (README, notebook, hints, devcontainer) that speaks of
    how or where this repository was measured or tried, or offers what needs solutions/."""
    found = []
    for relative in READ_BY_STUDENTS:
        path = dest / relative
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        if relative.endswith(".ipynb"):  # the cells' text, one cell after another, as a reader meets them
            text = "\n".join("".join(cell["source"]) for cell in json.loads(text)["cells"])
        found += prose_in(text, relative)
    hints = "\n".join(hint for kata in katas() for hint in kata.hints)  # what `nox -s hint` shows
    return found + prose_in(hints, "tools/manifest.toml (a hint)")
