"""The pytest plugin of the katas: which track to judge, a clean world per test, time limits, blame.

    python -m pytest --track katas       the learner's code in katas/ (the default; or $KATA_TRACK)
    python -m pytest --track solutions   the reference in solutions/

The root conftest.py registers this plugin, so the options work from any pytest command line in
the repository. KATA_ROOT names another folder holding the `katas` package to judge (`nox -s
stubs` and `nox -s bugzoo` use it). The nox sessions run pytest under tools/runner.py, which
passes --kata-supervisor: then this plugin reports each test's verdict to the supervisor as
JSON lines and arms a hard stop (faulthandler) that no wait inside a C call can escape.

This module holds pytest's hooks, and each hands its work to one module:

options.py   the options (--track, --kata-timeout), the time limit, hypothesis's settings
channel.py   what the supervisor reads: the events, and the hard stop
report.py    a failure's message and blame, each test's verdict, the run's closing lines
deps.py      blame by evidence: whether an earlier kata passes its own tests
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import pytest

from tools.judge import escaped, limits, processes, references, sealed
from tools.judge.context import Session, Test, session, start_session, start_test, test
from tools.judge.errors import KataError, fail
from tools.manifest import ROOT, ManifestError, kata_of_test, katas
from tools.plugin import options, report
from tools.plugin.channel import CHANNEL, Channel
from tools.plugin.deps import first_broken, own_tests

BASELINE = pytest.StashKey[dict[str, Any]]()  # torch's global settings as each test starts


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


# ---------------------------------------------------------------------------------------------
# The run: one judge.Session, and the supervisor's channel


def pytest_configure(config: pytest.Config) -> None:
    try:
        katas()
    except ManifestError as error:  # one line, not pytest's INTERNALERROR
        raise pytest.UsageError(str(error)) from None
    settings = options.settings_of(config)
    track, timeout, root = settings.track, settings.timeout, settings.root
    limits.single_threaded()
    channel = Channel(config.getoption("kata_supervisor"), config.getoption("kata_events"))
    config.stash[CHANNEL] = channel
    hung = channel.hung(root / track)
    # Kata code runs in a process of its own, started now: before any test module is collected here.
    kata = sealed.Client(track, root, channel.folder, config.getoption("kata_memory") or processes.MEMORY_GB)
    kata.start()
    start_session(
        Session(
            track,
            root,
            timeout,
            kata,
            hung=hung,
            arm=channel.arm,
            tell=channel.emit,
            own_tests=lambda earlier: own_tests(earlier, report.judged_here(config)),  # this run's: no second run
        )
    )
    baseline = limits.world()
    baseline.update({"default dtype": __import__("torch").float32, "grad mode": True})
    config.stash[BASELINE] = baseline


def pytest_unconfigure(config: pytest.Config) -> None:
    with contextlib.suppress(AssertionError):
        session().kata.close(wait=False)  # this process ends next (tools/run/worker.py), or forks another
    channel = config.stash.get(CHANNEL, None)
    if channel and channel.events:
        channel.events.close()


def pytest_report_header(config: pytest.Config) -> str:
    judging = session()
    folder = f"{judging.track}/"
    if judging.root != ROOT:  # another tree (KATA_ROOT): say which
        folder = f"{(judging.root / judging.track).as_posix()}/ (KATA_ROOT)"
    return f"judging: {folder} ({'your code' if judging.track == 'katas' else 'the reference'})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Run tests in kata order, whatever order the files were given in.
    items.sort(key=lambda item: getattr(kata_of_test(item.path), "number", 99))
    for item in items:  # a KataError is shown as its message (report.explain), never as pytest's traceback
        if kata_of_test(item.path) is not None:
            item.repr_failure = functools.partial(_as_message, item.repr_failure)  # type: ignore[method-assign]


def _as_message(repr_failure: Any, excinfo: pytest.ExceptionInfo[BaseException], *style: Any) -> Any:
    """A kata test's failure as pytest (and hypothesis, for its falsifying example) renders it: a KataError's own
    words, without rendering its traceback, each frame's source parsed anew (~20 ms a failure, thrown away)."""
    if isinstance(excinfo.value, KataError):
        return str(excinfo.value)
    return repr_failure(excinfo, *style)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Tell the supervisor which tests will run (after -k, --deselect and the like): each must be reported."""
    session.config.stash[CHANNEL].emit("collected", tests=[item.nodeid for item in session.items])
    planned: dict[int, int] = {}
    for item in session.items:
        kata = kata_of_test(item.path)
        if kata is not None:
            planned[kata.number] = planned.get(kata.number, 0) + 1
    session.config.stash[report.PLANNED] = planned


# ---------------------------------------------------------------------------------------------
# Each test: a clean world, a time limit, and a record of which katas' code ran


def pytest_runtest_setup(item: pytest.Item) -> None:
    kata = kata_of_test(item.path)
    start_test(Test(kata) if kata else None)
    baseline = item.config.stash[BASELINE]
    limits.restore(baseline)
    references.seed(0)
    item.stash[report.OUTCOME] = {}  # the verdict's fields (tools/record.py) known so far: a failure's, the time
    item.config.stash[CHANNEL].emit("start", test=item.nodeid, kata=kata.number if kata else None)
    if kata is not None:  # a kata process that is alive (a new one when the last ended: forked here, between tests)
        judging = session()
        with contextlib.suppress(Exception):  # a kata process that cannot start fails the test's first call
            judging.kata.begin(judging.timeout, judging.hung, test().ran)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    state = test() if kata_of_test(item.path) else None
    if state is None:
        return (yield)
    judging = session()
    try:
        # The test's own code (references, checks, diagnoses) is not the learner's: it gets its own, wider budget
        # (kata code keeps the test's limit in its own process), as a backstop for a result that makes it slow.
        with judging.limit(max(options.JUDGE_FACTOR * judging.timeout, options.JUDGE_SECONDS)) as clock:
            result = yield
    except KataError:
        raise
    except limits.TimedOut as error:  # in the kata process (its clock), or in the test's own code
        broken = functools.partial(first_broken, judged=report.judged_here(item.config))
        raise escaped.timed_out(error, state, getattr(error, "clock", clock), broken) from None
    except limits.Stopped as error:
        raise escaped.stopped(error, state) from None
    except BaseException as error:  # from kata code run outside judge.call, or a check tripped by a result
        raise escaped.unexpected(error, state) from None
    baseline = item.config.stash[BASELINE]
    changed = limits.changes(baseline, limits.world())
    if changed:
        raise fail(f"torch's global settings were changed while this test ran ({changed}): leave them alone.")
    return result


# ---------------------------------------------------------------------------------------------
# Reports: a KataError prints as its message, without a traceback, and is blamed on a kata.


@pytest.hookimpl(wrapper=True, tryfirst=True)  # the outermost wrapper: it sees the report as pytest will
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    made = yield
    report.finish(item, call, made)
    return made


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    report.summary(terminalreporter, config)
