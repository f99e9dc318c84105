"""The judge's settings, resolved once: which code is judged, in which tree, and for how long a test may run.

Each comes from its command-line option, else its environment variable, else its default, in that order (as
pytest-timeout resolves its timeout):

    track     --track          KATA_TRACK     katas (the learner's code) or solutions (the reference)
    root                       KATA_ROOT      the folder holding the `katas` package judged; this repository
    timeout   --kata-timeout   KATA_TIMEOUT   seconds of processor time a test may use; TIMEOUT

`resolve` is the one reader of those variables; a bad value is a SettingsError, one line naming the variable.
Torch-free: the supervisor, the learner's and instructor's commands read it before torch loads.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tools.manifest import ROOT

TRACKS = ("katas", "solutions")
TIMEOUT = 10.0  # seconds of processor time per test: the reference's slowest test uses under 1 s
GRACE = 3.0  # seconds past a block's deadline before the worker is killed from outside (not a setting: fixed)


class SettingsError(ValueError):
    """A setting that is not one: the message is one line that names the variable it came from."""


@dataclass(frozen=True)
class Settings:
    """What is judged, where, and for how long: see the table above."""

    track: str = "katas"
    root: Path = ROOT
    timeout: float = TIMEOUT

    @property
    def elsewhere(self) -> Path | None:
        """The root when it is another tree than this repository (KATA_ROOT), else None: a Job's root."""
        return None if self.root == ROOT else self.root


def resolve(
    track: str | None = None, timeout: float | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """The settings from the options given (None: not given), else the environment, else the defaults."""
    env = os.environ if environ is None else environ
    track = track or env.get("KATA_TRACK", "katas")
    if track not in TRACKS:
        raise SettingsError(f"KATA_TRACK={track!r} is not a track: choose one of {', '.join(TRACKS)}")
    if timeout is None:
        try:
            timeout = parse_seconds(env.get("KATA_TIMEOUT", str(TIMEOUT)))
        except ValueError as error:
            raise SettingsError(f"KATA_TIMEOUT: {error}") from None
    return Settings(track=track, root=Path(env.get("KATA_ROOT") or ROOT), timeout=timeout)


def parse_seconds(text: str) -> float:
    """A time limit in seconds, from a command line or the environment: a number greater than 0."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not (0 < seconds < float("inf")):
        raise ValueError(f"{text!r} is not a time limit: give a number of seconds greater than 0, such as 60")
    return seconds


def seconds_argument(text: str) -> float:
    """parse_seconds as an argparse type: a bad value is argparse's one-line error."""
    try:
        return parse_seconds(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
