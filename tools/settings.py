"""The judge's settings, read from the command line and the environment: here, a time limit in seconds."""

from __future__ import annotations

import argparse


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
