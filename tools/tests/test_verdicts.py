"""Remembered verdicts: `nox -s progress` shows them at once, and forgets one when a file it depends on changes."""

import os
import subprocess
import sys

from tools import stubs, verdicts
from tools.manifest import ROOT, by_module
from tools.runner import Outcome


def test_a_verdict_is_kept_until_a_file_it_depends_on_changes(tmp_path):
    stubs.write_package(tmp_path / "katas", stubbed=())
    model = by_module("model")
    outcomes = [Outcome("tests/test_model.py::t", True, ran=(1, 2, 3, 6, 7)), Outcome("tests/test_model.py::u", False)]
    verdicts.store(tmp_path, model, outcomes)
    assert verdicts.load(tmp_path, model) == outcomes
    (tmp_path / "katas" / "l2.py").write_text("# a kata model does not use\n", encoding="utf-8")
    assert verdicts.load(tmp_path, model) == outcomes
    (tmp_path / "katas" / "relu.py").write_text("# a kata model builds on\n", encoding="utf-8")
    assert verdicts.load(tmp_path, model) is None
    assert verdicts.load(tmp_path, by_module("affine")) is None  # never stored


def test_code_that_ran_counts_even_outside_the_manifest(tmp_path):
    stubs.write_package(tmp_path / "katas", stubbed=())
    relu = by_module("relu")
    verdicts.store(tmp_path, relu, [Outcome("tests/test_relu.py::t", True, ran=(2, 5))])
    (tmp_path / "katas" / "accuracy.py").write_text("# relu's code called it\n", encoding="utf-8")
    assert verdicts.load(tmp_path, relu) is None


def run_progress(root, *args):
    env = dict(os.environ, KATA_ROOT=str(root))
    command = [sys.executable, "-m", "tools.learner.progress", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8", check=False)


def progress(root):
    result = run_progress(root)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_progress_judges_only_what_changed(tmp_path):
    stubs.write_package(tmp_path / "katas", stubbed={"relu"})
    first = progress(tmp_path)
    assert "[ ] kata-2  relu             not started" in first, first
    assert "5 of 9 katas done" in first and "remembered" not in first, first
    second = progress(tmp_path)
    assert second.replace("(9 verdicts remembered: nothing they depend on changed since they were judged)\n", "") == (
        first
    ), second
    (tmp_path / "katas" / "relu.py").write_text(
        (ROOT / "solutions" / "relu.py").read_text(encoding="utf-8"), encoding="utf-8"
    )
    third = progress(tmp_path)
    assert "9 of 9 katas done" in third, third
    assert "(5 verdicts remembered" in third, third  # relu, model, train and autograd-bridge were judged again


def test_progress_says_in_one_line_when_pytest_refuses_its_options(tmp_path):
    stubs.write_package(tmp_path / "katas", stubbed=None)
    result = run_progress(tmp_path, "--no-such-option")
    assert result.returncode == 2
    assert result.stdout.count("\n") == 1 and "unrecognized arguments: --no-such-option" in result.stdout, result
    assert "Traceback" not in result.stdout + result.stderr
