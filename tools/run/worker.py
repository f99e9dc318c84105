"""The worker: run a spec's jobs with pytest.main, one after another, reporting to its supervisor as JSON lines."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import TextIO

from tools.judge import processes
from tools.run.reaping import confine

FORGET = ("katas", "solutions", "tests", "conftest")  # modules a job imports from its tree or tests/


def work(spec_path: Path, forget: bool = True) -> None:
    """Run the spec's jobs with pytest.main, one after another, in this one interpreter.

    Before each job the modules of the previous one are forgotten (not before the first job of a
    forked worker: its parent imported the tests and never any kata)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the supervisor's to handle
    for name in processes.IGNORED:  # the kata process (tools/judge/sandbox.py) is our child: kata code reaches us
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    import pytest

    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    confine(Path(spec["folder"]))
    # Opened once, before any kata code runs, and handed to the plugin; then its name is removed (the supervisor
    # holds it open too), so no process can open it by name to write a verdict of its own.
    events = open(Path(spec["folder"]) / "events.jsonl", "a", encoding="utf-8")  # noqa: SIM115
    with contextlib.suppress(OSError):  # Windows: a file held open keeps its name
        (Path(spec["folder"]) / "events.jsonl").unlink()
    base_path, base_env = list(sys.path), dict(os.environ)
    for index in range(spec["first"], len(spec["jobs"])):
        job = spec["jobs"][index]
        for name in list(sys.modules):
            if (forget or index > spec["first"]) and name.split(".")[0] in FORGET:
                del sys.modules[name]
        sys.path[:] = base_path
        os.environ.clear()
        os.environ.update(base_env, KATA_TRACK=job["track"])
        if job["root"]:
            os.environ["KATA_ROOT"] = job["root"]
        _emit(events, "job", job=index)
        skip = [f"--deselect={test}" for test in spec["skip"]] if index == spec["first"] else []
        options = ["-p", "no:cacheprovider", "-p", "no:faulthandler", f"--kata-supervisor={spec['folder']}"]
        options.append(f"--kata-events={events.fileno()}")
        options.append(f"--kata-memory={spec.get('memory_gb', processes.MEMORY_GB)}")  # the supervisor's ceiling
        code = pytest.main([*job["args"], *options, *skip, *spec["args"]])
        _emit(events, "job-done", job=index, code=int(code))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # at once: a thread that kata code left running must not keep the worker alive


def _emit(events: TextIO, event: str, **data: object) -> None:
    events.write(json.dumps({"event": event, "time": time.time(), **data}) + "\n")
    events.flush()
