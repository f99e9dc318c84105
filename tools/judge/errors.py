"""The judge's errors: a failure explained for a person, and blamed on the kata at fault.

A failure raises `KataError`, whose message is written for the learner: which function, called
with which shapes, expected against got, and (when a classic mistake reproduces the result) what
the mistake probably is: its id names a sentence of tests/mistakes.toml (tools/mistakes.py), and
the error carries the ids it named. The plugin (tools/plugin/) prints that message instead of a
traceback.
"""

from __future__ import annotations

import unittest

import pytest

from tools.judge.context import current
from tools.mistakes import Cause


class KataError(AssertionError):
    """A failure explained for a person. `blame` is the number of the kata at fault; `mistakes`, the ids
    (tests/mistakes.toml) of the likely causes its message names."""

    def __init__(
        self, message: str, blame: int | None = None, about_inputs: bool = True, mistakes: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.mistakes = tuple(mistakes)
        self.blame = blame if blame is not None else current().number
        self.problem = message  # without the "kata-7 needs kata-1" frame, when it is about another kata
        self.about_inputs = about_inputs  # False: the test's inputs do not matter (an import, a stub)


class NotStarted(KataError):
    """The kata at fault still raises the stub's NotImplementedError."""

    def __init__(self, message: str, blame: int | None = None) -> None:
        super().__init__(message, blame, about_inputs=False)


# What a test runner treats as a test's outcome when raised: from code a test calls, each is a failure.
OUTCOMES = (pytest.skip.Exception, pytest.fail.Exception, pytest.exit.Exception, unittest.SkipTest)


def fail(message: str, cause: Cause | None = None) -> KataError:
    """A KataError about the current kata, for checks that are not a tensor comparison; `cause` (judge.cause(id))
    ends the message with the mistake's "Likely cause" line."""
    message += str(cause) if cause else ""
    error = KataError(f"{current().label}: {message}", mistakes=cause.ids if cause else ())
    error.problem = message
    return error
