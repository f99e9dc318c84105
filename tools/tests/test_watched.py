"""The kata process's watch over kata code (tools/judge/watched.py): which katas' functions ran, and the stop for a
quarantined one, while its tracer steps aside once nothing is left to learn."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from tools.judge import limits, watched

PACKAGE = "watched_katas"  # a track of its own, in a folder of this test's


@pytest.fixture
def watch(tmp_path: Path):
    package = tmp_path / PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "relu.py").write_text("def relu_forward(x):\n    return max(x, 0)\n")
    (package / "sigmoid.py").write_text("def sigmoid_forward(x):\n    return x / 2\n")
    late = "def l2_loss(x):\n    from . import sigmoid\n    return sigmoid.sigmoid_forward(x) ** 2\n"
    (package / "l2.py").write_text(late)  # imports a kata as it runs
    sys.path.insert(0, str(tmp_path))
    found = watched.Watch(package, PACKAGE)
    try:
        yield found
    finally:
        sys.path.remove(str(tmp_path))
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, watched._KataImports)]
        for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def test_once_every_loaded_kata_ran_the_tracer_steps_aside(watch):
    relu = importlib.import_module(f"{PACKAGE}.relu")
    ran: set[int] = set()
    with watch.watching(ran, {}):
        assert sys.gettrace() is not None
        relu.relu_forward(-1.0)
        assert ran == {2} and sys.gettrace() is None  # the only kata loaded has run: nothing left to learn
    with watch.watching(ran, {}):
        assert sys.gettrace() is None  # the same test, nothing new loaded: not traced at all


def test_a_kata_imported_while_the_tracer_stepped_aside_is_still_seen_running(watch):
    l2 = importlib.import_module(f"{PACKAGE}.l2")
    ran: set[int] = set()
    with watch.watching(ran, {}):
        assert l2.l2_loss(3.0) == 2.25  # imports sigmoid (kata 3) as it runs, after kata 4 was all there was
    assert ran == {3, 4}


def test_a_kata_loaded_between_requests_is_watched_again(watch):
    relu = importlib.import_module(f"{PACKAGE}.relu")
    ran: set[int] = set()
    with watch.watching(ran, {}):
        relu.relu_forward(1.0)
    with watch.watching(ran, {}), watch.paused():  # the sandbox's own import: its top level is not kata code
        sigmoid = importlib.import_module(f"{PACKAGE}.sigmoid")
    assert ran == {2}
    with watch.watching(ran, {}):
        sigmoid.sigmoid_forward(1.0)
    assert ran == {2, 3}


def test_a_quarantined_function_is_stopped_even_when_every_kata_ran(watch):
    relu = importlib.import_module(f"{PACKAGE}.relu")
    hung = {(relu.__file__, "relu_forward"): "relu_forward did not finish last time"}
    ran: set[int] = {2}
    with pytest.raises(limits.Stopped, match="did not finish"), watch.watching(ran, hung):
        relu.relu_forward(1.0)
