"""What the judge knows about the run, held explicitly: one Session per pytest run, one Test per test.

Both are set by the plugin (tools/plugin/) and nowhere else: the `Session` (the track judged, the
time limit, functions already stopped as endless loops, the kata process) and the `Test` (the kata
under test, the kata code that ran, and which call produced which value, so that a message names
the right call).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.judge import sealed
from tools.judge.limits import WALL_FACTOR, Clock, time_limit
from tools.manifest import Kata


@dataclass
class Session:
    track: str  # "katas" or "solutions": the package judged
    root: Path  # the folder that holds that package
    timeout: float  # seconds of processor time a test may use (its clock time: WALL_FACTOR times that)
    kata: sealed.Client  # the process where kata code runs (tools/judge/sealed.py)
    hung: dict[tuple[str, str], str] = field(default_factory=dict)  # (file, function) -> the message
    arm: Callable[[float], Any] = lambda seconds: contextlib.nullcontext()  # the supervisor's backstop
    tell: Callable[..., None] = lambda event, **data: None  # an event for the supervisor (tools/plugin/channel.py)
    # Whether an earlier kata passes its own tests, by evidence: "passes", "fails" or "unknown" (its tests could not
    # be run). The plugin judges them (tools/plugin/deps.py, which runs the supervisor: the judge may not import it).
    own_tests: Callable[[Kata], str] = lambda kata: "unknown"

    def quarantine(self, file: str, function: str, message: str) -> None:
        """A function that did not finish (or ended the process) is not run again in this session: its later
        calls fail at once with message, in this worker and, told, in the supervisor's next ones."""
        self.hung[(file, function)] = message
        self.tell("hung", file=file, function=function, message=message, package=str(self.package_dir()))

    @contextlib.contextmanager
    def limit(self, seconds: float) -> Iterator[Clock]:
        """Run a test's own code under a time limit (`seconds` of processor time, WALL_FACTOR times that on the
        clock, not counting the waits for the kata process, which keeps the same limit for kata code): TimedOut
        here, and the supervisor's hard stop after both could have run out."""
        with self.arm(2 * seconds * WALL_FACTOR), time_limit(seconds) as clock:
            yield clock

    def package_dir(self) -> Path:
        return self.root / self.track


@dataclass
class Test:
    kata: Kata
    ran: set[int] = field(default_factory=set)  # the katas whose functions ran in this test
    origins: dict[int, tuple[Callable[[Any], bool], str]] = field(default_factory=dict)  # id -> (is it?, the call)
    last_call: str = "your code"
    # in_graph's probes asked with the call before it (judge.call(..., graph=True)): id(fn) -> (fn, args, the
    # leaves probed, the probe's answer or its error), until in_graph(fn, args) takes it
    probes: dict[int, tuple[Any, tuple, tuple, Any]] = field(default_factory=dict)


_session: Session | None = None
_test: Test | None = None


def start_session(session: Session) -> None:
    global _session
    _session = session


def start_test(test: Test | None) -> None:
    global _test
    _test = test


def session() -> Session:
    assert _session is not None, "judge.start_session is called by tools/plugin/ (pytest_configure)"
    return _session


def current() -> Kata:
    return test().kata


def test() -> Test:
    assert _test is not None, "judge.start_test is called by tools/plugin/ for every test"
    return _test
