"""Who is at fault, and the one wording of each sentence that says so: inside a judge.call or an import.

A failure is blamed on the kata whose code raised it (from the frames of kata code in its traceback),
else on the kata under test; a failure put on an earlier kata is framed for the test that found it
(`needs_message`). The sentences about a process that ended are tools/judge/said.py's; what escaped
every call (a time limit, a stop, a crash outside a call) is tools/judge/escaped.py's.
"""

from __future__ import annotations

import re
import traceback
from pathlib import Path

from tools.judge import said, sealed
from tools.judge.context import current, session
from tools.judge.errors import OUTCOMES, KataError, NotStarted
from tools.judge.limits import ProgramExit
from tools.manifest import Kata, by_module, by_number, katas
from tools.mistakes import cause


def frames_in_track(error: BaseException) -> list[traceback.FrameSummary]:
    """The frames of kata code where error was raised: those the kata process sent (`frames`), or its own."""
    root = session().package_dir()
    frames = getattr(error, "frames", None)
    if not isinstance(frames, list):
        frames = traceback.extract_tb(error.__traceback__)
    return [f for f in frames if Path(f.filename).parent == root]


def kata_of_frame(frame: traceback.FrameSummary) -> Kata | None:
    return by_module(Path(frame.filename).stem)


def not_started(error: NotImplementedError) -> NotStarted:
    match = re.match(r"kata-(\d+)", str(error))
    frames = frames_in_track(error)
    if match and 1 <= int(match.group(1)) <= len(katas()):
        culprit = by_number(int(match.group(1)))
    elif frames:
        culprit = kata_of_frame(frames[-1]) or current()
    else:
        culprit = current()
    track = session().track
    what = str(error).split(": ", 1)[-1].split(";")[0] if match else f"{track}/{culprit.module}.py"
    if culprit.number == current().number:
        found = NotStarted(
            f"{culprit.label}: {what}. Open {culprit.path(track)}, read its docstring, and replace the "
            f"`raise NotImplementedError` with your code. Stuck? `nox -s hint -- {culprit.number}`.",
            blame=culprit.number,
        )
    else:
        found = NotStarted(needs_message(culprit, what), blame=culprit.number)
    found.problem = what
    return found


def needs_message(culprit: Kata, problem: str, evidence: bool = False) -> str:
    """'kata-7 (model) needs kata-1 (affine): <problem>.' and what to do first: the one wording of a failure put
    on an earlier kata. evidence: that kata fails its own tests (tools/plugin/deps.py), so this test cannot pass
    before it does."""
    then = "first; this test cannot pass until it does." if evidence else "first and come back when it passes."
    return (
        f"{current().label} needs {culprit.label}: {problem.rstrip('.')}.\n  Run `nox -s kata-{culprit.number}` {then}"
    )


def frame(kata: Kata, text: str) -> str:
    """A message about kata's code, framed for the test that found it."""
    if kata.number != current().number:
        return needs_message(kata, text)
    return f"{kata.label}: {text}."


def crash(error: BaseException, doing: str, kata: Kata | None) -> KataError:
    frames = frames_in_track(error)
    track = session().track
    unreported = getattr(error, "record", {}).get("unreported")
    if unreported in said.UNREPORTED:  # raised in a __del__ or a thread of kata code, where no caller sees it
        doing = said.UNREPORTED[unreported]
    if isinstance(error, (SyntaxError, ValueError)) and not frames and kata is not None and doing.startswith("import"):
        # The file that does not parse is the culprit, not its importer.
        filename = getattr(error, "filename", None)
        kata = by_module(Path(filename).stem) if filename else kata
        kata = kata or current()
        problem = str(error)
        if "null bytes" in problem or "Non-UTF-8" in problem or "codec can't decode" in problem:
            why = "it holds null bytes" if "null bytes" in problem else "it holds bytes that are not UTF-8 text"
            text = (
                f"{kata.path(track)} is not a Python text file ({why}). Save it as UTF-8 text; "
                f"`nox -s reset -- {kata.number}` puts back the stub and backs up this file first"
            )
            return KataError(frame(kata, text), blame=kata.number)
        at = (
            f"\n  at {kata.path(track)}:{error.lineno}:  {(error.text or '').strip()}"
            if isinstance(error, SyntaxError) and error.lineno
            else ""
        )
        text = f"{doing} raised {type(error).__name__}: {getattr(error, 'msg', None) or error}{at}"
        error_ = KataError(frame(kata, text).rstrip("."), blame=kata.number)
        error_.problem = text
        return error_
    missing = re.match(r"cannot import name '(\w+)' from '(\w+)\.(\w+)'", str(error))
    if isinstance(error, ImportError) and missing and by_module(missing.group(3)):
        # `from .relu import relu_backward` where relu.py has no relu_backward: kata 2's fault.
        owner = by_module(missing.group(3))
        assert owner is not None
        text = (
            f"{owner.path(track)} has no `{missing.group(1)}` (renamed or deleted?), which "
            f"{Path(frames[-1].filename).name if frames else 'another kata'} imports. Put back its definition; "
            f"`nox -s reset -- {owner.number}` restores the stub and backs up your file first"
        )
        found = KataError(frame(owner, text), blame=owner.number)
        found.problem = text
        return found
    line = ""
    if frames:
        where = frames[-1]
        kata = kata_of_frame(where) or kata
        line = f"\n  at {track}/{Path(where.filename).name}:{where.lineno}:  {(where.line or '').strip()}"
    kata = kata or current()
    if isinstance(error, ProgramExit):
        message = f"{error} (the process would end): your code must return its result, not end the program"
    elif isinstance(error, SystemExit):
        message = f"SystemExit({error}): your code must return its result, not end the program"
    elif isinstance(error, KeyboardInterrupt):
        message = "KeyboardInterrupt: remove the `raise KeyboardInterrupt` (or input()) from your code"
    elif isinstance(error, MemoryError) or "can't allocate memory" in str(error):
        message = f"{type(error).__name__}: {out_of_memory()}"
    elif isinstance(error, OUTCOMES):
        message = (
            f"{type(error).__name__}({str(error)[:200]!r}), one of pytest's own outcomes: only a test decides whether "
            "it passes, fails or is skipped. Your code must return its result and let the tests judge it"
        )
    else:
        message = f"{type(error).__name__}: {error}" if str(error).strip() else type(error).__name__
    text = f"{doing} raised {message}{line}"
    if kata.number < current().number and frames:
        verdict = _own_verdict(kata)
        if verdict == "passes":  # its code is right by its own tests: what reached it is the caller's
            return KataError(f"{current().label}: {text}{_handed(kata, frames)}", blame=current().number)
        found = KataError(needs_message(kata, text, evidence=verdict == "fails"), blame=kata.number)
        found.problem = text
        return found
    if kata.number != current().number:
        found = KataError(needs_message(kata, text), blame=kata.number)
        found.problem = text
        return found
    return KataError(f"{kata.label}: {text}", blame=kata.number)


def _own_verdict(kata: Kata) -> str:
    """Whether kata passes its own tests (the session's own_tests); "unknown" if the judge could not tell."""
    try:
        return session().own_tests(kata)
    except Exception:  # the judge's own trouble must not turn into a verdict: blame by the frame, as before
        return "unknown"


def _handed(kata: Kata, frames: list[traceback.FrameSummary]) -> str:
    """What to say when a crash happened inside an earlier kata's function that passes its own tests: the
    caller handed it something it was not written for (a wrong cache, a tuple for a tensor, another shape)."""
    inside = frames[-1].name
    callers = [f for f in frames if kata_of_frame(f) != kata]
    track = session().track
    at = (
        f" (your call at {track}/{Path(callers[-1].filename).name}:{callers[-1].lineno}:  "
        f"{(callers[-1].line or '').strip()})"
        if callers
        else ""
    )
    return (
        f"\n  The crash happened inside {inside} of {kata.label}, which passes its own tests: look at what your "
        f"code passes it{at}. Compare each argument's type and shape with what {inside}'s docstring expects "
        "(a cache holds what the matching forward returned, in the order it packed it)."
    )


def process_ended(ended: sealed.Ended, doing: str) -> BaseException:
    """The kata process ended while it ran kata code (doing): a wait inside one C call that was stopped from
    outside, a pause, too much memory, an exit or a crash; blamed on the kata whose code was running, and that
    function is not run again in this session when the process was stopped or crashed inside it."""
    track = session().track
    frames = [f for f in ended.frames if Path(f.filename).parent == session().package_dir()]
    culprit = (by_module(Path(frames[-1].filename).stem) if frames else None) or current()
    at = said.where(frames[-1].name, culprit.path(track), frames[-1].lineno or 0) if frames else ""
    outer = next((f for f in frames if by_module(Path(f.filename).stem) == culprit), None)
    again = ""
    if ended.timed_out:
        text = said.stopped_from_outside(at)
        again = said.stopped_again(outer.name, culprit.path(track)) if outer else ""
    elif ended.over_memory:
        text = f"this test was ended{at}: {said.out_of_memory(session().kata.memory_gb)}"
    elif ended.paused:
        text = said.paused(at, ended.how)
    else:
        text = said.ended(at, ended.how)
        again = said.ended_again(outer.name, culprit.path(track), ended.how) if outer else ""
    if again and outer is not None:
        session().quarantine(outer.filename, outer.name, again)
    return KataError(frame(culprit, text), blame=culprit.number)


def out_of_memory() -> str:
    """What to say when kata code ran out of memory: the ceiling of the test process when it has one."""
    try:
        import resource

        ceiling = resource.getrlimit(resource.RLIMIT_DATA)[0]
    except (ImportError, AttributeError, OSError):
        ceiling = -1
    return said.out_of_memory(ceiling / 2**30 if 0 < ceiling < 2**50 else None)


def check_world(who: str, kata: Kata) -> None:
    """Fail when kata code (who, of kata) changed one of torch's global settings: the kata process undid it."""
    change = session().kata.take_world_change()
    if change:
        changed, before = change
        said = cause("any/global-switch")
        raise KataError(
            frame(kata, f"{who} changed {changed} (it was {before}) and left it so.{said}"),
            blame=kata.number,
            mistakes=said.ids,
        )
