"""The plugin's options: which track to judge, the time limit, and hypothesis's settings for the katas."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, settings

from tools.settings import parse_seconds, seconds_argument

TRACKS = ("katas", "solutions")
TIMEOUT = 10.0  # seconds of processor time per test: the reference's slowest test uses under 1 s
JUDGE_FACTOR, JUDGE_SECONDS = 4, 30.0  # the test's own code: 4 times the kata's limit, and at least 30 s

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


def add_options(parser: pytest.Parser) -> None:
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


def track_of(config: pytest.Config) -> str:
    """The track judged: --track, else $KATA_TRACK, else katas."""
    track = config.getoption("track") or os.environ.get("KATA_TRACK", "katas")
    if track not in TRACKS:
        raise pytest.UsageError(f"KATA_TRACK={track!r} is not a track: choose one of {', '.join(TRACKS)}")
    return track


def timeout_of(config: pytest.Config) -> float:
    """The time limit, resolved once: --kata-timeout, else $KATA_TIMEOUT, else TIMEOUT."""
    given = config.getoption("kata_timeout")
    if given is not None:
        return float(given)
    try:
        return parse_seconds(os.environ.get("KATA_TIMEOUT", str(TIMEOUT)))
    except ValueError as error:
        raise pytest.UsageError(f"KATA_TIMEOUT: {error}") from None
