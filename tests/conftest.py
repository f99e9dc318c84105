"""pytest set-up for the katas: which track to judge, readable failures, blame, and timeouts.

    python -m pytest --track katas       the learner's code in katas/ (the default)
    python -m pytest --track solutions   the reference in solutions/

KATA_TRACK sets the default track; KATA_ROOT (used by `nox -s stubs`) names another folder
that holds the package to judge. Tests never import solutions/ as an oracle.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TRACKS = ("katas", "solutions")
sys.path.insert(0, os.environ.get("KATA_ROOT") or str(ROOT))
if str(ROOT) not in sys.path:
    sys.path.insert(1, str(ROOT))

from hypothesis import HealthCheck, settings  # noqa: E402

import deps  # noqa: E402
import judge  # noqa: E402
from tools.manifest import by_module, katas  # noqa: E402

settings.register_profile(
    "katas",
    derandomize=True,  # the same examples every run: a failure is reproducible, not flaky
    database=None,
    deadline=None,
    max_examples=25,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
)
settings.load_profile("katas")


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
        type=float,
        default=float(os.environ.get("KATA_TIMEOUT", 60)),
        help="seconds a single test may run before it fails as a likely endless loop (default 60)",
    )


def pytest_configure(config: pytest.Config) -> None:
    track = config.getoption("track") or os.environ.get("KATA_TRACK", "katas")
    if track not in TRACKS:
        raise pytest.UsageError(f"KATA_TRACK={track!r} is not a track: choose one of {', '.join(TRACKS)}")
    judge.TRACK = track
    config.stash[_timeout_key] = config.getoption("kata_timeout")


def pytest_report_header(config: pytest.Config) -> str:
    return f"judging: {judge.TRACK}/ ({'your code' if judge.TRACK == 'katas' else 'the reference'})"


def _kata_for(item: pytest.Item):
    return _kata_for_path(item.path.name)


def _kata_for_path(path: str):
    return by_module(Path(path).stem.removeprefix("test_"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Run tests in kata order, whatever order the files were given in.
    order = {f"test_{k.module}": k.number for k in katas()}
    items.sort(key=lambda item: order.get(item.path.stem, 99))


def pytest_runtest_setup(item: pytest.Item) -> None:
    judge.CURRENT = _kata_for(item)


# ---------------------------------------------------------------------------------------------
# Timeouts: a learner's endless loop fails its test instead of hanging the run.

_timeout_key = pytest.StashKey[float]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    seconds = item.config.stash[_timeout_key]
    try:
        with judge.time_limit(seconds):
            return (yield)
    except judge.TimedOut as error:
        frames = judge._frames_in_track(error)
        culprit = (judge._kata_of_frame(frames[-1]) if frames else None) or judge.CURRENT
        who = f"{judge.CURRENT.label}: " if judge.CURRENT else ""
        if culprit and judge.CURRENT and culprit != judge.CURRENT:
            who = f"{judge.CURRENT.label} needs {culprit.label}: "
        at = f"{judge.TRACK}/{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
        where = f" It was stopped in {judge._last_call}, at {at}." if frames else ""
        raise judge.KataError(
            f"{who}this test did not finish within {seconds:g} s and was stopped.{where} "
            "The likely cause is an endless loop (a `while` whose condition never changes, an index "
            "that never advances) or training far longer than asked (check that n_epochs and "
            "batch_size are honoured). The other tests go on.",
            blame=culprit.number if culprit else None,
        ) from None


# ---------------------------------------------------------------------------------------------
# Reports: a KataError prints as its message, without a traceback, and is blamed on a kata.


_told: set[int] = set()


def _message(error: BaseException) -> str:
    notes = [n for n in getattr(error, "__notes__", []) if n.strip()]
    return "\n".join([str(error), *notes])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    kata = _kata_for(item)
    if kata is None or not report.failed or call.excinfo is None:
        return report
    error = call.excinfo.value
    blame = getattr(error, "blame", None) or kata.number
    text = _message(error) if isinstance(error, judge.KataError) else None
    if isinstance(error, judge.NotStarted):
        # Say it in full once per kata; after that one line is enough.
        text = str(error) if blame not in _told else str(error).split(". ")[0].rstrip(".") + "."
        _told.add(blame)
    own_stub = isinstance(error, judge.NotStarted) and blame == kata.number
    if blame == kata.number and kata.needs and not own_stub:
        broken = deps.first_broken(kata)
        if broken:
            culprit, reason = broken
            blame = culprit.number
            text = (
                f"{kata.label} needs {culprit.label}: {reason}. Run `nox -s kata-{culprit.number}` "
                f"first; this test cannot pass until it does."
            )
    if text is not None:
        report.longrepr = text
    verdict = [("blame", blame), ("not_started", isinstance(error, judge.NotStarted))]
    item.user_properties.extend(verdict)  # junit XML reads them from the item, for nox -s progress
    report.user_properties = [*report.user_properties, *verdict]
    return report


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """End with one line per kata that failed: what to do next."""
    failed = terminalreporter.stats.get("failed", [])
    if not failed:
        _congratulate(terminalreporter)
        return
    by_kata: dict[int, list] = {}
    for report in failed:
        blame = dict(report.user_properties).get("blame")
        if blame:
            by_kata.setdefault(blame, []).append(report)
    if not by_kata:
        return
    terminalreporter.section("what to do next", sep="-", bold=True)
    for number in sorted(by_kata):
        kata = katas()[number - 1]
        reports = by_kata[number]
        if all(dict(r.user_properties).get("not_started") for r in reports):
            state = f"not started: {len(reports)} test(s) wait for it"
        else:
            state = f"{len(reports)} test(s) fail"
        terminalreporter.write_line(
            f"{kata.label}: {state}. Edit {kata.path(judge.TRACK)}; hint: `nox -s hint -- {number}`."
        )


def _congratulate(terminalreporter) -> None:
    """All of one kata's tests passed on the learner's code: say so, and point at the next kata."""
    passed = terminalreporter.stats.get("passed", [])
    done = {_kata_for_path(r.nodeid.split("::")[0]) for r in passed} - {None}
    if judge.TRACK != "katas" or len(done) != 1:
        return
    (kata,) = done
    following = [k for k in katas() if k.number == kata.number + 1]
    then = (
        f"next: `nox -s kata-{following[0].number}`, open {following[0].path()}"
        if following
        else ("that was the last kata: train your network on real digits with `nox -s train`")
    )
    terminalreporter.section("done", sep="-", bold=True, green=True)
    terminalreporter.write_line(f"{kata.label} passes every test. {then}.")
