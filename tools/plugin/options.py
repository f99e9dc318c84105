"""The plugin's options: which track to judge, the time limit, and hypothesis's settings for the katas."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, settings

from tools.settings import TIMEOUT, TRACKS, Settings, SettingsError, resolve, seconds_argument

JUDGE_FACTOR, JUDGE_SECONDS = 4, 30.0  # the test's own code: 4 times the kata's limit, and at least 30 s

settings.register_profile(
    "katas",
    derandomize=True,  # the same examples every run: a failure is reproducible, not flaky
    database=None,
    deadline=None,
    # Generated examples per property test, beside its explicit ones (a batch of one, square shapes: where a
    # transposed or swapped gradient keeps its shape). Each example is several requests to the kata process. With
    # 25 a class of 200 took 308 s on a 2-core machine, with 10 221 s, and every student's verdicts were the same
    # (README, the instructor's section); the bug zoo names all its mistakes with as few as 2.
    max_examples=10,
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
    group.addoption("--kata-supervisor", default=None, help="(internal) the folder the supervisor (tools/run/) watches")
    group.addoption("--kata-events", type=int, default=None, help="(internal) the descriptor of its events file")
    group.addoption("--kata-memory", type=float, default=None, help="(internal) GB the kata process may hold")


def settings_of(config: pytest.Config) -> Settings:
    """The run's settings, resolved once (tools/settings.py): the options, else the environment, else defaults."""
    try:
        return resolve(config.getoption("track"), config.getoption("kata_timeout"))
    except SettingsError as error:
        raise pytest.UsageError(str(error)) from None
