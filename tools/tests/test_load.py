"""Verdicts that hold on a busy machine: the kata tests beside two busy loops per core (as on a shared CI
runner, a course's grading server, or a laptop in a video call).

The time limit counts the test process's own processor time, and kata code runs with one torch thread,
so the reference passes however busy the machine is, while an endless loop is still stopped in seconds.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tools import stubs
from tools.manifest import katas
from tools.run import supervisor
from tools.run.job import Job

PER_CORE = 2  # busy loops per core beside the tests


@contextlib.contextmanager
def busy(per_core: int = PER_CORE) -> Iterator[None]:
    """Busy loops, `per_core` for each core, while the block runs."""
    loops = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(per_core * (os.cpu_count() or 1))
    ]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def test_the_reference_passes_every_test_beside_busy_loops():
    with busy():
        (outcomes,) = supervisor.run([Job(tuple(k.test_file for k in katas()), track="solutions")])
    failed = [f"{o.test}: {o.message[:300]}" for o in outcomes if not o.passed]
    assert outcomes and not failed, "\n".join(failed)


def test_an_endless_loop_is_stopped_within_30_s_beside_busy_loops(tmp_path: Path):
    stubs.write_package(tmp_path / "katas", stubbed=())
    relu = tmp_path / "katas" / "relu.py"
    relu.write_text(relu.read_text(encoding="utf-8").replace("    x = cache\n", "    while True:\n        pass\n", 1))
    with busy():
        (outcomes,) = supervisor.run([Job(("tests/test_relu.py::test_on_the_tutorial_inputs",), root=tmp_path)])
    (outcome,) = outcomes
    assert not outcome.passed and "endless loop" in outcome.message and "relu_backward" in outcome.message, outcome
    stopped = re.search(r"processor time in ([\d.]+) s", outcome.message)
    assert stopped and float(stopped.group(1)) < 30, outcome.message
