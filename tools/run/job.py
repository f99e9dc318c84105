"""What a run is given, a Job; how it refuses, JudgeError; the failure of a kata it does not judge, UNSEALED."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.manifest import Kata

UNSEALED = "judging_files"  # the name of the one failure of a kata whose judging files differ from the release


@dataclass(frozen=True)
class Job:
    """Some kata test files (or any pytest arguments) judged against one tree."""

    args: tuple[str, ...]
    track: str = "katas"
    root: Path | None = None  # a folder holding another `katas` package (KATA_ROOT)

    @classmethod
    def of(cls, chosen: Sequence[Kata], track: str = "katas", root: Path | None = None) -> Job:
        return cls(tuple(k.test_file for k in chosen), track, root)


class JudgeError(RuntimeError):
    """pytest itself could not run (a usage error, an error in the tests): not the learner's doing."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code
