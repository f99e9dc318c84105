"""Who is at fault for what escaped every judge.call: a test stopped at its time limit, a stop from the kata
process, a crash outside a call, or a check tripped by a strange result (called by the plugin, tools/plugin/).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path

import pytest

from tools.judge import said
from tools.judge.blame import crash, frame, frames_in_track, kata_of_frame
from tools.judge.context import Test, session
from tools.judge.errors import OUTCOMES, KataError, fail
from tools.judge.limits import Clock, ProgramExit, Stopped, TimedOut
from tools.manifest import ROOT, Kata

# The earliest of some katas that fails its own tests, and why (tools/plugin/deps.py's first_broken).
FirstBroken = Callable[[list[Kata]], tuple[Kata, str] | None]


def timed_out(error: TimedOut, state: Test, clock: Clock, first_broken: FirstBroken) -> KataError:
    """The message for a test stopped at its time limit; later calls of that function stop at once."""
    judging = session()
    frames = frames_in_track(error)
    found = [(kata_of_frame(f), f) for f in reversed(frames)]  # innermost first
    earlier = [k for k, _ in found if k and k.number < state.kata.number]
    broken = first_broken(earlier) if earlier else None
    culprit = broken[0] if broken else None
    if culprit is None:
        culprit = state.kata if any(k == state.kata for k, _ in found) else (found[-1][0] if found else state.kata)
    culprit = culprit or state.kata
    mine = [f for k, f in found if k == culprit]
    where = ""
    if mine:
        inner, outer = mine[0], mine[-1]
        where = f" in {outer.name}, at {culprit.path(judging.track)}:{inner.lineno} ({(inner.line or '').strip()})"
    used = f"{clock.cpu:.1f} s of processor time in {clock.wall:.1f} s"
    # Said for the code this run judges: `nox -s kata-N` judges katas/ only; KATA_TIMEOUT reaches every command.
    run = "kata" if judging.track == "katas" else "solution"
    more = f"`nox -s {run}-{state.kata.number} -- --kata-timeout 60`, or KATA_TIMEOUT=60 before any command"
    if clock.computing:
        text = (
            f"this test did not finish: it was stopped{where} after {used} (the limit: {clock.limit:g} s of "
            "processor time). The likely cause is an endless loop (a `while` whose condition never changes, an "
            "index that never advances) or training far longer than asked (check that n_epochs and batch_size are "
            f"honoured). A slow computer? Allow more with {more}"
        )
    else:
        text = (
            f"this test did not finish: it was stopped{where} after {clock.wall:.1f} s on the clock, in which it "
            f"computed for only {clock.cpu:.1f} s. Your code waits for something that does not come (time.sleep, "
            "input(), a lock, a queue, another process), or this computer is extremely busy (then allow more with "
            f"{more})"
        )
    if mine:
        again = f"{mine[-1].name} did not finish in an earlier test ({used}), so it is not run again"
        judging.quarantine(mine[-1].filename, mine[-1].name, again)
    return KataError(frame(culprit, text), blame=culprit.number)


def stopped(error: Stopped, state: Test) -> KataError:
    """A function refused because it already ran past its limit: blamed on the kata whose code it is."""
    frames = frames_in_track(error)
    kata = (kata_of_frame(frames[-1]) if frames else None) or state.kata
    return KataError(frame(kata, str(error)), blame=kata.number)


def unexpected(error: BaseException, state: Test) -> KataError | BaseException:
    """A crash that did not go through judge.call, or a test that tripped over a strange result."""
    unreported = _unreported(error)
    if unreported is not None:
        cause, doing = unreported
        return crash(cause, doing, None)
    frames = frames_in_track(error)
    if frames or isinstance(error, (SystemExit, KeyboardInterrupt, ProgramExit, *OUTCOMES)):
        return crash(error, f"calling {frames[-1].name}" if frames else "your code", None)
    if session().track == "solutions":
        return error  # on the reference this is a bug in the tests: keep its traceback
    where = traceback_line(error)
    return fail(
        f"the test could not check what your code gave it: {type(error).__name__}: {error}{where}. "
        f"The last call was {state.last_call}: compare what it returns (types, shapes, how many values) "
        "with its docstring."
    )


def _unreported(error: BaseException) -> tuple[BaseException, str] | None:
    """What kata code raised where no caller could see it (a `__del__`, a thread), and where: pytest reports
    such errors after the test as warnings (one, or a group of them), with the error itself as their cause."""
    leaves, todo = [], [error]
    while todo:
        item = todo.pop(0)
        group = getattr(item, "exceptions", None)  # an exception group (BaseExceptionGroup from Python 3.11)
        if isinstance(group, (list, tuple)):
            todo[:0] = group
        else:
            leaves.append(item)
    if not leaves or not all(isinstance(e, UNREPORTED) for e in leaves):
        return None
    first = leaves[0]
    doing = said.UNREPORTED["thread" if isinstance(first, pytest.PytestUnhandledThreadExceptionWarning) else "del"]
    return first.__cause__ or first, doing


UNREPORTED = (pytest.PytestUnraisableExceptionWarning, pytest.PytestUnhandledThreadExceptionWarning)


def traceback_line(error: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).parent == ROOT / "tests"]
    return f" (at tests/{Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
