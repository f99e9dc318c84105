"""class.json: a class's verdicts, kept as students finish and read again by the next run (tools/instructor/
classroom.py).

    judge_digest()              what every verdict depends on besides a student's katas/
    previous(out, digest)       the students of an earlier class.json of this FORMAT and judge
    ClassFile(out, digest, {})  .add(name, student) as each ends (written at most once a second), .close()
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from tools import seal, verdicts
from tools.manifest import ROOT

FORMAT = 1  # class.json's layout: raise it when a field changes meaning; a file of another format is not reused


def judge_digest() -> str:
    """What every verdict depends on besides the student's katas/: this repository's tests and judge, the
    manifest, Python and torch. A class.json of another digest is judged again from the start."""
    total = hashlib.sha256()
    try:
        total.update(f"torch {version('torch')}, python {sys.version.split()[0]}\n".encode())
    except PackageNotFoundError:
        total.update(b"no torch\n")
    names = {*verdicts.JUDGE, *verdicts.TOOLS, *(p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").glob("*.py"))}
    for name in sorted(names):
        path = ROOT / name
        total.update(f"{name}\0{seal.digest(path) if path.is_file() else 'missing'}\n".encode())
    return total.hexdigest()


def previous(out: Path, digest: str) -> dict[str, dict[str, Any]]:
    """The students of an earlier class.json in OUT, when it is of this format and this judge; else none."""
    try:
        data = json.loads((out / "class.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("judge") != digest:
        return {}
    return data.get("students") or {}


class ClassFile:
    """class.json, rewritten (whole, atomically) as students finish: at most once a second, and on close."""

    def __init__(self, out: Path, digest: str, students: dict[str, dict[str, Any]]) -> None:
        self.path, self.digest, self.students = out / "class.json", digest, students
        self.lock, self.written = threading.Lock(), 0.0

    def add(self, name: str, student: dict[str, Any]) -> None:
        with self.lock:
            self.students[name] = student
            if time.monotonic() - self.written > 1.0:
                self._write()

    def close(self) -> None:
        with self.lock:
            self._write()

    def _write(self) -> None:
        data = {"format": FORMAT, "judge": self.digest, "students": dict(sorted(self.students.items()))}
        temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8", newline="\n")
        temporary.replace(self.path)
        self.written = time.monotonic()
