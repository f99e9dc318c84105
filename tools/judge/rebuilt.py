"""An error of the kata process, rebuilt in the judge: an exception of the same class name and builtin kind, with
the same message, and the kata's frames as `frames`, so that the judge's sentences about crashes read as if the
code had run here. Only plain data crossed (tools/judge/wire.py: error_record); nothing of the kata's runs here.
"""

from __future__ import annotations

import builtins
import traceback
import unittest
from typing import Any

import pytest

from tools.judge import limits

# Errors that are not builtins and that a kata may raise, rebuilt as themselves.
KNOWN: dict[tuple[str, str], type[BaseException]] = {
    ("tools.judge.limits", "TimedOut"): limits.TimedOut,
    ("tools.judge.limits", "Stopped"): limits.Stopped,
    ("tools.judge.limits", "ProgramExit"): limits.ProgramExit,
    (pytest.skip.Exception.__module__, pytest.skip.Exception.__name__): pytest.skip.Exception,
    (pytest.fail.Exception.__module__, pytest.fail.Exception.__name__): pytest.fail.Exception,
    (pytest.xfail.Exception.__module__, pytest.xfail.Exception.__name__): pytest.xfail.Exception,
    (pytest.exit.Exception.__module__, pytest.exit.Exception.__name__): pytest.exit.Exception,
    (unittest.SkipTest.__module__, unittest.SkipTest.__name__): unittest.SkipTest,
}
_made: dict[tuple[str, Any], Any] = {}


def rebuild(record: dict[str, Any]) -> BaseException:
    """An error of the kata process as an exception here: the same class name, a builtin ancestor (so that
    `isinstance(error, ValueError)` holds), the same message, and its frames as `frames`."""
    name = str(record.get("type", "Exception"))
    known = KNOWN.get((str(record.get("module", "")), name))
    if known is not None:
        try:  # made as its class makes it (pytest's outcomes keep their message as .msg too)
            error: BaseException = known(str(record.get("message", "")))
        except Exception:
            error = known.__new__(known)
            BaseException.__init__(error, str(record.get("message", "")))
    else:
        ancestors = [a for a in record.get("ancestors", []) if isinstance(a, str)]
        base = next(
            (
                found
                for a in ancestors
                if isinstance(found := getattr(builtins, a, None), type) and issubclass(found, BaseException)
            ),
            Exception,
        )
        cls: Any = _made.get((name, base))
        if cls is None:
            cls = _made[(name, base)] = type(name, (base,), {"__str__": _message, "__module__": "kata"})
        error = cls.__new__(cls)
        BaseException.__init__(error, str(record.get("message", "")))
        syntax = record.get("syntax")
        if isinstance(error, SyntaxError) and isinstance(syntax, tuple) and len(syntax) == 4:
            error.filename, error.lineno, error.text, error.msg = syntax
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


def _message(error: BaseException) -> str:
    return str(error.args[0]) if error.args else ""
