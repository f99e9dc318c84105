"""What the supervisor (tools/run/) reads from a worker: the plugin's events, as JSON lines, and a hard stop.

When the worker runs under the supervisor (--kata-supervisor), each test's start, end and verdict,
and the deadline of the block running now, go to its events file; a block that outlives its
deadline by 1.5 s ends the worker after faulthandler has dumped where it was.
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import pytest

from tools.judge.limits import ProgramExit


class Channel:
    """What the supervisor (tools/run/) reads: JSON lines, and a traceback dump on a hard stop."""

    def __init__(self, folder: str | None, events: int | None = None) -> None:
        self.folder = Path(folder) if folder else None
        self.events: TextIO | None = None
        if self.folder:  # kata code of an earlier job may have removed the folder: the dump goes on
            self.folder.mkdir(parents=True, exist_ok=True)
            # the worker's events file, opened before any kata code ran (its descriptor), else by its name
            where = self.folder / "events.jsonl" if events is None else os.dup(events)
            self.events = open(where, "a", encoding="utf-8")  # noqa: SIM115
        self.dump = open(self.folder / "dump.txt", "w", encoding="utf-8") if self.folder else None  # noqa: SIM115
        if self.dump:
            faulthandler.enable(file=self.dump)  # a crash (segfault, abort) leaves its traceback

    def emit(self, event: str, **data: Any) -> None:
        if self.events:
            self.events.write(json.dumps({"event": event, "time": time.time(), **data}) + "\n")
            self.events.flush()

    def hung(self, package_dir: Path) -> dict[tuple[str, str], str]:
        """The functions quarantined by earlier workers, keyed by (file, function) as this process names them.
        (A file is named again from package_dir: faulthandler's dumps escape non-ASCII folder names.)"""
        path = self.folder / "hung.json" if self.folder else None
        if path is None or not path.exists():
            return {}
        entries = json.loads(path.read_text(encoding="utf-8"))
        mine = [e for e in entries if e.get("package") in (None, "", str(package_dir))]  # this tree's, not another's
        return {(str(package_dir / Path(e["file"]).name), e["function"]): e["message"] for e in mine}

    @contextlib.contextmanager
    def arm(self, seconds: float) -> Iterator[None]:
        """While a block runs: os._exit raises instead of ending the process, and, when supervised, a
        traceback dump and a hard exit follow if the block outlives its time limit by 1.5 s."""
        real_exit, test_process = os._exit, os.getpid()

        def refuse(status: int) -> None:
            if os.getpid() != test_process:  # a process forked by the code under test ends as it asks
                real_exit(status)
            raise ProgramExit(f"os._exit({status})")

        os._exit = refuse  # type: ignore[assignment]
        if self.dump:
            self.emit("deadline", at=time.time() + seconds)
            faulthandler.dump_traceback_later(seconds + 1.5, exit=True, file=self.dump)
        try:
            yield
        finally:
            os._exit = real_exit
            if self.dump:
                faulthandler.cancel_dump_traceback_later()
                self.emit("deadline", at=None)


CHANNEL = pytest.StashKey[Channel]()  # the run's channel, on the pytest config
