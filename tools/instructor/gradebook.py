"""gradebook.csv: one row per student, in columns a course platform's grade import reads.

    student, kata-1 affine, ..., total, max, percent, reason, notes

`student` first: the folder's or zip's name in the class folder (GitHub Classroom's clone names each after the
student's login, a Gradescope export after the submission, a Canvas download after the student), the key a
platform's import matches rows by. A kata column holds the points earned (tools/manifest.toml's `points` when all
its tests pass, else 0), as `nox -s grade` gives them; `total` is the column to import as the assignment's score,
out of `max`. `reason` says why a student got nothing they could have (the submission could not be judged; kata
files that do not compile); `notes` what was left out or differs (their tests/ is listed, never used). UTF-8 with
a byte-order mark, so that Excel opens names with accents as they are; a cell that starts with =, +, - or @ is
quoted with ' so that no spreadsheet runs it as a formula.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tools.manifest import katas


def header() -> list[str]:
    return ["student", *(f"kata-{k.number} {k.name}" for k in katas()), "total", "max", "percent", "reason", "notes"]


def _cell(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def row(name: str, student: Mapping[str, Any]) -> list[str]:
    reason = student["reason"] or "; ".join(student["format_errors"])
    notes = list(student["notes"])
    differ = student["tests_differ"]
    if differ:
        said = ", ".join(f"{k} {', '.join(v)}" for k, v in differ.items() if v)
        notes.append(f"tests/ differs from the release (not used): {said}")
    points = [str(student["katas"].get(str(k.number), 0)) for k in katas()]
    total = [str(student["points"]), str(student["max_points"]), f"{student['percent']:g}"]
    return [_cell(name), *points, *total, _cell(reason), _cell("; ".join(notes))]


def write(path: Path, students: Mapping[str, Mapping[str, Any]]) -> None:
    temporary = path.with_suffix(".tmp")
    with open(temporary, "w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header())
        for name, student in students.items():
            writer.writerow(row(name, student))
    temporary.replace(path)


def read(path: Path) -> list[dict[str, str]]:
    """The rows as dicts by column (for tests and scripts)."""
    with open(path, encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))
