"""The warm path: fork workers from a process that imported torch and the tests once (Linux only)."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tools.run.worker import work

CAN_FORK = sys.platform == "linux"  # macOS: fork after importing torch is unsafe; Windows: no fork
# pytest plugins a run of many tests on kata code does without: logging's capture of each test phase (the judge
# logs nothing; kata code runs in its own process), and unraisableexception's gc.collect() twice at the end.
LEAN = ["-p", "no:logging", "-p", "no:unraisableexception"]


def prepare_warm(test_files: Sequence[str] = ()) -> None:
    """Make this process a warm parent for forked workers: import torch, pytest, the plugin and the test
    modules, then run those tests once on the pristine stubs (never on the learner's code), so that torch's
    and hypothesis's first-call costs are paid here, once. One torch thread: forking a process whose thread
    pool has started is not safe, and the katas' tensors are small."""
    import importlib

    judge = importlib.import_module("tests.judge")
    judge.single_threaded()
    importlib.import_module("tools.judge.sandbox").preload(warm=True)
    importlib.import_module("tools.plugin")
    for path in test_files:
        importlib.import_module(f"tests.{Path(path).stem}")
    if test_files:
        _warm_up(test_files)
    # What is here now lives as long as the workers forked from it: out of the collector's sight, each worker's
    # collections (pytest runs gc.collect() twice as it ends) look only at what the worker made itself.
    gc.collect()
    gc.freeze()


def _warm_up(test_files: Sequence[str]) -> None:
    """Run the tests once here, quietly, on the pristine stubs (never the learner's code, and the same with
    or without solutions/): they fail at once, but the judge, hypothesis and the tensors the tests build pay
    their first-call costs. That takes a run from 2.0 s to 0.4 s (tools/maintainer/watch_timing.py, kata 1)."""
    import io

    import pytest

    from tools import stubs

    saved = os.environ.pop("KATA_ROOT", None)
    try:
        with tempfile.TemporaryDirectory(prefix="kata-warm-", ignore_cleanup_errors=True) as tmp:
            stubs.write_pristine(Path(tmp) / "katas")
            os.environ["KATA_ROOT"] = tmp
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                pytest.main([*test_files, "-q", "--track", "katas", "-p", "no:cacheprovider"])
    finally:
        os.environ.pop("KATA_ROOT", None)
        if saved is not None:
            os.environ["KATA_ROOT"] = saved
        for name in list(sys.modules):
            if name.split(".")[0] == "katas":
                del sys.modules[name]


class Forked:
    """A worker forked from this warm process, with Popen's poll / kill / wait."""

    def __init__(self, spec: Path, stderr: Any) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        self.returncode: int | None = None
        self.pid = os.fork()
        if self.pid == 0:  # the child: judge, then leave without running the parent's cleanup
            try:
                if stderr is not None:
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(devnull, 1)
                    os.dup2(stderr.fileno(), 2)
                work(spec, forget=False)
            finally:
                os._exit(1)

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def wait(self) -> int | None:
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode
