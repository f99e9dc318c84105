"""The plugin's reports: a failure prints as its message, blamed on a kata; each test ends with one verdict.

A KataError's message replaces its traceback (said in full once, then in one line); an earlier kata is
blamed only by evidence (tools/plugin/deps.py); the verdict (tools/record.py) goes to the supervisor
and to this run's closing lines, what to do next.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tools import record
from tools.judge.blame import frame, needs_message
from tools.judge.context import session, test
from tools.judge.errors import KataError, NotStarted
from tools.manifest import by_number, kata_of_test
from tools.plugin.channel import CHANNEL
from tools.plugin.deps import first_broken
from tools.record import Outcome
from tools.run.advice import next_steps

OUTPUT_SHOWN = 3000  # characters of a failing test's captured output that its report shows
OUTCOME = pytest.StashKey[dict]()  # on a test: its verdict's fields (tools/record.py) known so far
OUTPUT_LEFT = pytest.StashKey[list]()  # characters of output the run's reports may still show
TOLD = pytest.StashKey[set]()  # the katas whose stub was said in full
SHOWN = pytest.StashKey[set]()  # the messages shown in full
JUDGED = pytest.StashKey[dict[int, list[Outcome]]]()  # kata -> the outcomes of its tests judged so far
PLANNED = pytest.StashKey[dict[int, int]]()  # kata -> how many of its tests this run judges
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


def finish(item: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport) -> None:
    """A report as pytest made it: its output trimmed, a failure explained, and after the teardown the verdict."""
    _trim(report, item.config.stash.setdefault(OUTPUT_LEFT, [2 * OUTPUT_SHOWN]))
    outcome = item.stash.get(OUTCOME, None)
    if outcome is not None:
        outcome["duration"] = outcome.get("duration", 0.0) + report.duration
        explain(item, call, report, outcome)
        if call.when == "teardown":
            report_end(item, report, outcome)


def explain(item: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport, outcome: dict) -> None:
    """Replace a failure's traceback with its message, blamed on the kata at fault."""
    kata = kata_of_test(item.path)
    if report.skipped and kata is not None:
        # A kata test has two outcomes, pass and fail; the tests never skip. A skip or an xfail that still
        # reached here came from code the test ran: it is a failure.
        report.outcome = "failed"
        if hasattr(report, "wasxfail"):
            del report.wasxfail
        report.longrepr = frame(
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
    text = _message(error) if isinstance(error, KataError) else None
    mistakes = list(getattr(error, "mistakes", ()))
    told: set = item.config.stash.setdefault(TOLD, set())
    if isinstance(error, NotStarted):
        # Say it in full once per kata; after that one line is enough.
        text = str(error) if blame not in told else str(error).split(". ")[0].rstrip(".") + "."
        told.add(blame)
    own_stub = isinstance(error, NotStarted) and blame == kata.number
    state = test()
    if blame == kata.number and not own_stub:
        # Evidence first: an earlier kata is blamed only if its code ran here and it is broken.
        ran = [by_number(n) for n in sorted(state.ran) if n < kata.number]
        broken = first_broken(ran, judged_here(item.config))
        if broken:
            culprit, reason = broken
            blame = culprit.number
            mistakes = []  # the message below names no mistake: it sends the learner to the earlier kata
            text = needs_message(culprit, reason, evidence=True)
    if text is not None:
        shown: set = item.config.stash.setdefault(SHOWN, set())
        report.longrepr = _short(text) if text in shown else text  # the same words twice: a line is enough
        shown.add(text)
    message = text if text is not None else str(report.longrepr)
    outcome.update(
        status="failed",
        blame=blame,
        not_started=isinstance(error, NotStarted),
        message=message,
        mistakes=mistakes,
    )


def report_end(item: pytest.Item, report: pytest.TestReport, outcome: dict) -> None:
    """The test's verdict (after its teardown), with the katas whose code it ran: to the supervisor, and on the
    teardown's report for this run's closing lines (pytest_terminal_summary, pytest-xdist's workers included)."""
    state = test() if kata_of_test(item.path) else None
    verdict = Outcome(
        test=item.nodeid,
        status=outcome.get("status", "passed"),
        blame=outcome.get("blame"),
        not_started=outcome.get("not_started", False),
        message=outcome.get("message", ""),
        ran=tuple(sorted(state.ran)) if state else (),
        mistakes=tuple(outcome.get("mistakes", ())),
        duration=outcome["duration"],
        warnings=warned(session().root, session().kata.warnings) if state else (),
    )
    written = record.write(verdict)
    item.config.stash[CHANNEL].emit("end", outcome=written)
    report.user_properties = [*report.user_properties, ("outcome", written)]
    if verdict.kata is not None:
        item.config.stash.setdefault(JUDGED, {}).setdefault(verdict.kata.number, []).append(verdict)


def warned(root: Path, warnings: list[tuple[str, str, str, int]]) -> tuple[str, ...]:
    """Each warning as one line: 'katas/relu.py:12: UserWarning: the first line of its message'."""
    lines = []
    for category, message, filename, line in warnings:
        path = Path(filename)
        where = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
        said = f"{where}:{line}: {category}: {(message.strip().splitlines() or [''])[0][:300]}"
        if said not in lines:
            lines.append(said)
    return tuple(lines)


def judged_here(config: pytest.Config) -> dict[int, list[Outcome]]:
    """The katas this run has judged every test of (as collected), with their outcomes."""
    judged = config.stash.get(JUDGED, {})
    planned = config.stash.get(PLANNED, {})
    return {n: outcomes for n, outcomes in judged.items() if len(outcomes) == planned.get(n)}


def summary(terminalreporter: Any, config: pytest.Config) -> None:
    """What the learner's code warned, each once under its test's name; then one line per kata that failed: what to
    do next (the supervisor says that when there is one)."""
    reports = [r for kind in terminalreporter.stats.values() for r in kind if getattr(r, "when", None) == "teardown"]
    outcomes = [
        record.read(dict(r.user_properties)["outcome"]) for r in reports if "outcome" in dict(r.user_properties)
    ]
    tests_of: dict[str, list[str]] = {}  # each warning -> the tests it was raised in
    for o in outcomes:
        for w in o.warnings:
            tests_of.setdefault(w, []).append(o.test.split("::")[-1])
    if tests_of:
        terminalreporter.section("what your code warned", sep="-", yellow=True)
        for w, tests in tests_of.items():
            more = f" (and in {len(tests) - 1} more test{'s' * (len(tests) > 2)})" if len(tests) > 1 else ""
            terminalreporter.write_line(f"{tests[0]}: {w}{more}")
    if config.getoption("kata_supervisor"):
        return
    lines = next_steps(session().track, outcomes)
    if lines:
        passed = all(o.passed for o in outcomes)
        terminalreporter.section("done" if passed else "what to do next", sep="-", bold=True, green=passed)
        for line in lines:
            terminalreporter.write_line(line)
