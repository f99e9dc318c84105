"""The pytest plugin of the katas: which track to judge, a clean world per test, time limits, blame.

    python -m pytest --track katas       the learner's code in katas/ (the default; or $KATA_TRACK)
    python -m pytest --track solutions   the reference in solutions/

The root conftest.py registers this plugin, so the options work from any pytest command line in
the repository. KATA_ROOT names another folder holding the `katas` package to judge (`nox -s
stubs` and `nox -s bugzoo` use it). The nox sessions run pytest under tools/runner.py, which
passes --kata-supervisor: then this plugin reports each test's verdict to the supervisor as
JSON lines and arms a hard stop (faulthandler) that no wait inside a C call can escape.
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

ROOT = Path(__file__).resolve().parent.parent
TRACKS = ("katas", "solutions")
from hypothesis import HealthCheck, Phase, settings  # noqa: E402

from tests import deps, judge  # noqa: E402
from tools import record  # noqa: E402
from tools.judge import said, sealed  # noqa: E402
from tools.manifest import ManifestError, by_number, kata_of_test, katas  # noqa: E402
from tools.record import Outcome  # noqa: E402
from tools.run.advice import next_steps  # noqa: E402
from tools.settings import parse_seconds, seconds_argument  # noqa: E402

settings.register_profile(
    "katas",
    derandomize=True,  # the same examples every run: a failure is reproducible, not flaky
    database=None,
    deadline=None,
    max_examples=25,
    report_multiple_bugs=False,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no `explain`: it traces, and so do we
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
)
settings.load_profile("katas")

TIMEOUT = 10.0  # seconds of processor time per test: the reference's slowest test uses under 1 s
JUDGE_FACTOR, JUDGE_SECONDS = 4, 30.0  # the test's own code: 4 times the kata's limit, and at least 30 s
OUTPUT_SHOWN = 3000  # characters of a failing test's captured output that its report shows


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("katas")
    group.addoption(
        "--track",
        choices=TRACKS,
        default=None,
        help="which code to judge: katas (yours, the default; or $KATA_TRACK) or solutions (the reference)",
    )
    group.addoption(
        "--kata-timeout",
        type=seconds_argument,
        default=None,
        help=f"seconds of processor time a test may use before it fails as a likely endless loop; twice that on "
        f"the clock (default {TIMEOUT:g}, or $KATA_TIMEOUT)",
    )
    group.addoption("--kata-supervisor", default=None, help="(internal) the folder tools/runner.py watches")
    group.addoption("--kata-events", type=int, default=None, help="(internal) the descriptor of its events file")


def timeout_of(config: pytest.Config) -> float:
    """The time limit, resolved once: --kata-timeout, else $KATA_TIMEOUT, else TIMEOUT."""
    given = config.getoption("kata_timeout")
    if given is not None:
        return float(given)
    try:
        return parse_seconds(os.environ.get("KATA_TIMEOUT", str(TIMEOUT)))
    except ValueError as error:
        raise pytest.UsageError(f"KATA_TIMEOUT: {error}") from None


# ---------------------------------------------------------------------------------------------
# The run: one judge.Session, and the supervisor's channel


class Channel:
    """What the supervisor (tools/runner.py) reads: JSON lines, and a traceback dump on a hard stop."""

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
        return {(str(package_dir / Path(e["file"]).name), e["function"]): e["message"] for e in entries}

    @contextlib.contextmanager
    def arm(self, seconds: float) -> Iterator[None]:
        """While a block runs: os._exit raises instead of ending the process, and, when supervised, a
        traceback dump and a hard exit follow if the block outlives its time limit by 1.5 s."""
        real_exit, test_process = os._exit, os.getpid()

        def refuse(status: int) -> None:
            if os.getpid() != test_process:  # a process forked by the code under test ends as it asks
                real_exit(status)
            raise judge.ProgramExit(f"os._exit({status})")

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


_channel_key = pytest.StashKey[Channel]()
_baseline_key = pytest.StashKey[dict[str, Any]]()
_outcome_key = pytest.StashKey[dict]()
_told_key = pytest.StashKey[set]()
_shown_key = pytest.StashKey[set]()
_judged_key = pytest.StashKey[dict[int, list[Outcome]]]()  # kata -> the outcomes of its tests judged so far
_planned_key = pytest.StashKey[dict[int, int]]()  # kata -> how many of its tests this run judges


def pytest_configure(config: pytest.Config) -> None:
    try:
        katas()
    except ManifestError as error:  # one line, not pytest's INTERNALERROR
        raise pytest.UsageError(str(error)) from None
    track = config.getoption("track") or os.environ.get("KATA_TRACK", "katas")
    if track not in TRACKS:
        raise pytest.UsageError(f"KATA_TRACK={track!r} is not a track: choose one of {', '.join(TRACKS)}")
    timeout = timeout_of(config)
    judge.single_threaded()
    channel = Channel(config.getoption("kata_supervisor"), config.getoption("kata_events"))
    config.stash[_channel_key] = channel
    root = Path(os.environ.get("KATA_ROOT") or ROOT)
    hung = channel.hung(root / track)
    # Kata code runs in a process of its own, started now: before any test module is collected here.
    kata = sealed.Client(track, root, channel.folder)
    kata.start()
    judge.start_session(judge.Session(track, root, timeout, kata, hung=hung, arm=channel.arm, tell=channel.emit))
    baseline = judge.world()
    baseline.update({"default dtype": __import__("torch").float32, "grad mode": True})
    config.stash[_baseline_key] = baseline


def pytest_unconfigure(config: pytest.Config) -> None:
    with contextlib.suppress(AssertionError):
        judge.session().kata.close()
    channel = config.stash.get(_channel_key, None)
    if channel and channel.events:
        channel.events.close()


def pytest_report_header(config: pytest.Config) -> str:
    session = judge.session()
    folder = f"{session.track}/"
    if session.root != ROOT:  # another tree (KATA_ROOT): say which
        folder = f"{(session.root / session.track).as_posix()}/ (KATA_ROOT)"
    return f"judging: {folder} ({'your code' if session.track == 'katas' else 'the reference'})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Run tests in kata order, whatever order the files were given in.
    items.sort(key=lambda item: getattr(kata_of_test(item.path), "number", 99))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Tell the supervisor which tests will run (after -k, --deselect and the like): each must be reported."""
    session.config.stash[_channel_key].emit("collected", tests=[item.nodeid for item in session.items])
    planned: dict[int, int] = {}
    for item in session.items:
        kata = kata_of_test(item.path)
        if kata is not None:
            planned[kata.number] = planned.get(kata.number, 0) + 1
    session.config.stash[_planned_key] = planned


# ---------------------------------------------------------------------------------------------
# Each test: a clean world, a time limit, and a record of which katas' code ran


def pytest_runtest_setup(item: pytest.Item) -> None:
    import torch

    kata = kata_of_test(item.path)
    judge.start_test(judge.Test(kata) if kata else None)
    baseline = item.config.stash[_baseline_key]
    judge.restore(baseline)
    torch.manual_seed(0)
    item.stash[_outcome_key] = {}  # the verdict's fields (tools/record.py) known so far: a failure's, the time
    item.config.stash[_channel_key].emit("start", test=item.nodeid, kata=kata.number if kata else None)
    if kata is not None:  # a kata process that is alive (a new one when the last ended: forked here, between tests)
        session = judge.session()
        with contextlib.suppress(Exception):  # a kata process that cannot start fails the test's first call
            session.kata.begin(session.timeout, session.hung, judge.test().ran)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    state = judge.test() if kata_of_test(item.path) else None
    if state is None:
        return (yield)
    session = judge.session()
    try:
        # The test's own code (references, checks, diagnoses) is not the learner's: it gets its own, wider budget
        # (kata code keeps the test's limit in its own process), as a backstop for a result that makes it slow.
        with session.limit(max(JUDGE_FACTOR * session.timeout, JUDGE_SECONDS)) as clock:
            result = yield
    except judge.KataError:
        raise
    except judge.TimedOut as error:  # in the kata process (its clock), or in the test's own code
        raise timed_out(error, state, getattr(error, "clock", clock), item.config) from None
    except judge.Stopped as error:
        frames = judge._frames_in_track(error)
        kata = (judge._kata_of_frame(frames[-1]) if frames else None) or state.kata
        raise judge.KataError(judge._frame(kata, str(error)), blame=kata.number) from None
    except BaseException as error:  # from kata code run outside judge.call, or a check tripped by a result
        raise unexpected(error, state) from None
    baseline = item.config.stash[_baseline_key]
    changed = judge.changes(baseline, judge.world())
    if changed:
        raise judge.fail(f"torch's global settings were changed while this test ran ({changed}): leave them alone.")
    return result


def timed_out(error: judge.TimedOut, state: judge.Test, clock: judge.Clock, config: pytest.Config) -> judge.KataError:
    """The message for a test stopped at its time limit; later calls of that function stop at once."""
    session = judge.session()
    frames = judge._frames_in_track(error)
    found = [(judge._kata_of_frame(f), f) for f in reversed(frames)]  # innermost first
    earlier = [k for k, _ in found if k and k.number < state.kata.number]
    broken = deps.first_broken(earlier, judged_here(config)) if earlier else None
    culprit = broken[0] if broken else None
    if culprit is None:
        culprit = state.kata if any(k == state.kata for k, _ in found) else (found[-1][0] if found else state.kata)
    culprit = culprit or state.kata
    mine = [f for k, f in found if k == culprit]
    where = ""
    if mine:
        inner, outer = mine[0], mine[-1]
        where = f" in {outer.name}, at {culprit.path(session.track)}:{inner.lineno} ({(inner.line or '').strip()})"
    used = f"{clock.cpu:.1f} s of processor time in {clock.wall:.1f} s"
    # Said for the code this run judges: `nox -s kata-N` judges katas/ only; KATA_TIMEOUT reaches every command.
    run = "kata" if session.track == "katas" else "solution"
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
        session.quarantine(mine[-1].filename, mine[-1].name, again)
    return judge.KataError(judge._frame(culprit, text), blame=culprit.number)


def unexpected(error: BaseException, state: judge.Test) -> judge.KataError | BaseException:
    """A crash that did not go through judge.call, or a test that tripped over a strange result."""
    unreported = _unreported(error)
    if unreported is not None:
        cause, doing = unreported
        return judge._crash(cause, doing, None)
    frames = judge._frames_in_track(error)
    if frames or isinstance(error, (SystemExit, KeyboardInterrupt, judge.ProgramExit, *judge.OUTCOMES)):
        return judge._crash(error, f"calling {frames[-1].name}" if frames else "your code", None)
    if judge.session().track == "solutions":
        return error  # on the reference this is a bug in the tests: keep its traceback
    where = traceback_line(error)
    return judge.fail(
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
    import traceback

    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).parent == ROOT / "tests"]
    return f" (at tests/{Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""


# ---------------------------------------------------------------------------------------------
# Reports: a KataError prints as its message, without a traceback, and is blamed on a kata.


HYPOTHESIS_NOTES = ("Falsifying example", "Failing explicit example", "Failing test case")


def _message(error: BaseException) -> str:
    """The error's message, and hypothesis's failing case when the inputs matter to it."""
    notes = [n for n in getattr(error, "__notes__", []) if n.strip()]
    if not getattr(error, "about_inputs", True):
        notes = [n for n in notes if not n.startswith(HYPOTHESIS_NOTES)]
    for prefix in HYPOTHESIS_NOTES:
        notes = [
            f"The failing case: {n.removeprefix(prefix).lstrip(':').strip()}" if n.startswith(prefix) else n
            for n in notes
        ]
    return "\n".join([str(error), *notes])


def _short(text: str) -> str:
    """The first sentence of a message, for its repetitions."""
    first = text.split("\n")[0]
    return (first.split(". ")[0].rstrip(".") + ". (As above.)") if ". " in first else first + " (As above.)"


_output_left_key = pytest.StashKey[list]()


def _trim(report: pytest.TestReport, budget: list[int]) -> None:
    """Show at most OUTPUT_SHOWN characters of what the learner's code printed per test, and twice that per run,
    cut at the end of a line."""
    trimmed = []
    for title, content in report.sections:
        if not title.startswith("Captured"):
            trimmed.append((title, content))
            continue
        room = min(OUTPUT_SHOWN, budget[0])
        if len(content) > room:
            cut = content.rfind("\n", 0, room) + 1
            rest = content[cut:]
            lines = rest.count("\n") + (not rest.endswith("\n"))
            content = f"{content[:cut]}... and {lines:,} more lines ({len(rest):,} characters) not shown."
        budget[0] -= min(len(content), budget[0])
        trimmed.append((title, content))
    report.sections[:] = trimmed


@pytest.hookimpl(wrapper=True, tryfirst=True)  # the outermost wrapper: it sees the report as pytest will
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    _trim(report, item.config.stash.setdefault(_output_left_key, [2 * OUTPUT_SHOWN]))
    outcome = item.stash.get(_outcome_key, None)
    if outcome is not None:
        outcome["duration"] = outcome.get("duration", 0.0) + report.duration
        explain(item, call, report, outcome)
        if call.when == "teardown":
            report_end(item, report, outcome)
    return report


def explain(item: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport, outcome: dict) -> None:
    """Replace a failure's traceback with its message, blamed on the kata at fault."""
    kata = kata_of_test(item.path)
    if report.skipped and kata is not None:
        # A kata test has two outcomes, pass and fail; the tests never skip. A skip or an xfail that still
        # reached here came from code the test ran: it is a failure.
        report.outcome = "failed"
        if hasattr(report, "wasxfail"):
            del report.wasxfail
        report.longrepr = judge._frame(
            kata,
            f"this test ended as skipped{' (' + report.when + ')' if report.when != 'call' else ''}, by code it "
            "ran: only a test decides whether it passes, fails or is skipped. Your code must return its result",
        )
    if kata is None or not report.failed or call.excinfo is None:
        if report.failed:
            outcome.update(status="failed", message=str(report.longrepr)[:2000])
        return
    error = call.excinfo.value
    blame = getattr(error, "blame", None) or kata.number
    text = _message(error) if isinstance(error, judge.KataError) else None
    mistakes = list(getattr(error, "mistakes", ()))
    told: set = item.config.stash.setdefault(_told_key, set())
    if isinstance(error, judge.NotStarted):
        # Say it in full once per kata; after that one line is enough.
        text = str(error) if blame not in told else str(error).split(". ")[0].rstrip(".") + "."
        told.add(blame)
    own_stub = isinstance(error, judge.NotStarted) and blame == kata.number
    state = judge.test()
    if blame == kata.number and not own_stub:
        # Evidence first: an earlier kata is blamed only if its code ran here and it is broken.
        ran = [by_number(n) for n in sorted(state.ran) if n < kata.number]
        broken = deps.first_broken(ran, judged_here(item.config))
        if broken:
            culprit, reason = broken
            blame = culprit.number
            mistakes = []  # the message below names no mistake: it sends the learner to the earlier kata
            text = (
                f"{kata.label} needs {culprit.label}: {reason.rstrip('.')}.\n  Run `nox -s kata-{culprit.number}` "
                f"first; this test cannot pass until it does."
            )
    if text is not None:
        shown: set = item.config.stash.setdefault(_shown_key, set())
        report.longrepr = _short(text) if text in shown else text  # the same words twice: a line is enough
        shown.add(text)
    message = text if text is not None else str(report.longrepr)
    outcome.update(
        status="failed",
        blame=blame,
        not_started=isinstance(error, judge.NotStarted),
        message=message,
        mistakes=mistakes,
    )


def report_end(item: pytest.Item, report: pytest.TestReport, outcome: dict) -> None:
    """The test's verdict (after its teardown), with the katas whose code it ran: to the supervisor, and on the
    teardown's report for this run's closing lines (pytest_terminal_summary, pytest-xdist's workers included)."""
    state = judge.test() if kata_of_test(item.path) else None
    verdict = Outcome(
        test=item.nodeid,
        status=outcome.get("status", "passed"),
        blame=outcome.get("blame"),
        not_started=outcome.get("not_started", False),
        message=outcome.get("message", ""),
        ran=tuple(sorted(state.ran)) if state else (),
        mistakes=tuple(outcome.get("mistakes", ())),
        duration=outcome["duration"],
    )
    written = record.write(verdict)
    item.config.stash[_channel_key].emit("end", outcome=written)
    report.user_properties = [*report.user_properties, ("outcome", written)]
    if verdict.kata is not None:
        item.config.stash.setdefault(_judged_key, {}).setdefault(verdict.kata.number, []).append(verdict)


def judged_here(config: pytest.Config) -> dict[int, list[Outcome]]:
    """The katas this run has judged every test of (as collected), with their outcomes."""
    judged = config.stash.get(_judged_key, {})
    planned = config.stash.get(_planned_key, {})
    return {n: outcomes for n, outcomes in judged.items() if len(outcomes) == planned.get(n)}


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """End with one line per kata that failed: what to do next (the supervisor says it when there is one)."""
    if config.getoption("kata_supervisor"):
        return
    reports = [r for kind in terminalreporter.stats.values() for r in kind if getattr(r, "when", None) == "teardown"]
    outcomes = [
        record.read(dict(r.user_properties)["outcome"]) for r in reports if "outcome" in dict(r.user_properties)
    ]
    lines = next_steps(judge.session().track, outcomes)
    if lines:
        passed = all(o.passed for o in outcomes)
        terminalreporter.section("done" if passed else "what to do next", sep="-", bold=True, green=passed)
        for line in lines:
            terminalreporter.write_line(line)
