"""An error of the kata process, rebuilt in the judge: an exception of the same class name and builtin kind, with
the same message, and the kata's frames as `frames`, so that the judge's sentences about crashes read as if the
code had run here. Only plain data crossed (tools/judge/wire.py: error_record); nothing of the kata's runs here.
The kata process rebuilds the judge's errors the same way (of_kind): a KeyError from the judge's dict is a KeyError.
"""

from __future__ import annotations

import builtins
import traceback
import unittest
from typing import Any

from tools.judge import limits

_known: dict[tuple[str, str], type[BaseException]] = {}
_made: dict[tuple[str, Any], Any] = {}


def known() -> dict[tuple[str, str], type[BaseException]]:
    """Errors that are not builtins and that a kata may raise, rebuilt as themselves: the judge's limits and pytest's
    outcomes (pytest imported on first use, in the judge: a kata process never needs it)."""
    if not _known:
        import pytest

        outcomes = (pytest.skip.Exception, pytest.fail.Exception, pytest.xfail.Exception, pytest.exit.Exception)
        _known.update({(c.__module__, c.__name__): c for c in (*outcomes, unittest.SkipTest)})
        _known.update({("tools.judge.limits", c.__name__): c for c in (limits.TimedOut, limits.Stopped)})
        _known[("tools.judge.limits", "ProgramExit")] = limits.ProgramExit
    return _known


def rebuild(record: dict[str, Any]) -> BaseException:
    """An error of the kata process as an exception here: the same class name, a builtin ancestor (so that
    `isinstance(error, ValueError)` holds), the same message, and its frames as `frames`."""
    found = known().get((str(record.get("module", "")), str(record.get("type", "Exception"))))
    if found is not None:
        try:  # made as its class makes it (pytest's outcomes keep their message as .msg too)
            error: BaseException = found(str(record.get("message", "")))
        except Exception:
            error = found.__new__(found)
            BaseException.__init__(error, str(record.get("message", "")))
    else:
        error = of_kind(record)
    frames = record.get("frames")
    if not isinstance(frames, list):
        frames = []
    error.frames = [traceback.FrameSummary(str(f), int(n), str(fn), line=str(t)) for f, n, fn, t in frames]  # type: ignore[attr-defined]
    error.record = record  # type: ignore[attr-defined]
    clock = record.get("clock")
    if isinstance(clock, dict):
        error.clock = limits.Clock(  # type: ignore[attr-defined]
            float(clock["limit"]),
            float(clock["wall_limit"]),
            float(clock["cpu"]),
            float(clock["wall"]),
            str(clock["stopped_by"]),
        )
    return error


def of_kind(record: dict[str, Any], within: type[BaseException] = BaseException) -> BaseException:
    """An error as an exception of a class made here: the record's class name, deriving from its first builtin
    ancestor that is a `within` (else `within` itself), so that `except KeyError` catches it, with the same
    message. Both ends use it: the judge for what kata code raised, the kata process for what the judge did."""
    name = str(record.get("type", "Exception"))
    ancestors = [a for a in record.get("ancestors", []) if isinstance(a, str)]
    base = next(
        (
            found
            for a in ancestors
            if isinstance(found := getattr(builtins, a, None), type) and issubclass(found, within)
        ),
        within,
    )
    cls: Any = _made.get((name, base))
    if cls is None:
        cls = _made[(name, base)] = type(name, (base,), {"__str__": _message, "__module__": "kata"})
    error = cls.__new__(cls)
    BaseException.__init__(error, str(record.get("message", "")))
    syntax = record.get("syntax")
    if isinstance(error, SyntaxError) and isinstance(syntax, tuple) and len(syntax) == 4:
        error.filename, error.lineno, error.text, error.msg = syntax
    return error


def _message(error: BaseException) -> str:
    return str(error.args[0]) if error.args else ""
