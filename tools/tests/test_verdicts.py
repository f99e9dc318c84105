"""Remembered verdicts: `nox -s progress` shows them at once, and forgets one when a file it depends on changes."""

import json
import os
import subprocess
import sys

import pytest

from tools import stubs, verdicts
from tools.manifest import ROOT, by_module, column, katas, required
from tools.record import Outcome
from tools.tests.expected import blocked_by, done_without
from tools.tests.test_record import every_field

N = len(required())  # what "N of M katas done" counts: bonus katas are apart


def test_a_verdict_is_kept_until_a_file_it_depends_on_changes(tmp_path):
    stubs.write_package(tmp_path / "katas", stubbed=())
    model = by_module("model")
    outcomes = [
        Outcome("tests/test_model.py::t", "passed", ran=(1, 2, 3, 6, 7)),
        Outcome("tests/test_model.py::u", "failed"),
    ]
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
    verdicts.store(tmp_path, relu, [Outcome("tests/test_relu.py::t", "passed", ran=(2, 5))])
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
    assert f"[ ] {column(by_module('relu'))}  not started" in first, first
    assert f"{done_without('relu')} of {N} katas done" in first and "remembered" not in first, first
    second = progress(tmp_path)
    remembered = f"({len(katas())} verdicts remembered: nothing they depend on changed since they were judged)\n"
    assert second.replace(remembered, "") == first, second
    (tmp_path / "katas" / "relu.py").write_text(
        (ROOT / "solutions" / "relu.py").read_text(encoding="utf-8"), encoding="utf-8"
    )
    third = progress(tmp_path)
    assert f"{N} of {N} katas done" in third, third
    kept = len(katas()) - len(blocked_by("relu"))  # relu and those built on it are judged again
    assert f"({kept} verdicts remembered" in third, third


def test_progress_says_in_one_line_when_pytest_refuses_its_options(tmp_path):
    stubs.write_package(tmp_path / "katas", stubbed=None)
    result = run_progress(tmp_path, "--no-such-option")
    assert result.returncode == 2
    assert result.stdout.count("\n") == 1 and "unrecognized arguments: --no-such-option" in result.stdout, result
    assert "Traceback" not in result.stdout + result.stderr


def stored(root):
    """A tree with every kata solved and affine's verdict remembered: (the table, affine's entry)."""
    stubs.write_package(root / "katas", stubbed=())
    verdicts.store(root, by_module("affine"), [Outcome("tests/test_affine.py::t", "passed", ran=(1,))])
    table = json.loads(verdicts.cache_file(root).read_text(encoding="utf-8"))
    return table, table["affine"]


def one(entry, **changes):
    """affine's entry with its one outcome changed: a key set to a value, or removed when given None."""
    outcome = {key: value for key, value in {**entry["outcomes"][0], **changes}.items() if value is not None}
    return {**entry, "outcomes": [outcome]}


# Valid JSON of the wrong structure, as an older tool, a hand edit or another program may leave it.
CORRUPT = {
    "an entry that is a list": lambda e: [e],
    "an entry that is a number": lambda e: 3,
    "an entry without outcomes": lambda e: {k: v for k, v in e.items() if k != "outcomes"},
    "an entry with an unknown key": lambda e: {**e, "more": 1},
    "files that are a list": lambda e: {**e, "files": list(e["files"])},
    "a file digest that is a number": lambda e: {**e, "files": {**e["files"], "katas/affine.py": 1}},
    "outcomes that are a dict": lambda e: {**e, "outcomes": e["outcomes"][0]},
    "outcomes that are a number": lambda e: {**e, "outcomes": 5},
    "an outcome that is a string": lambda e: {**e, "outcomes": ["tests/test_affine.py::t"]},
    "an outcome without ran": lambda e: one(e, ran=None),
    "an outcome without status": lambda e: one(e, status=None),
    "an outcome with an unknown key": lambda e: one(e, verdict="ok"),
    "ran that is a number": lambda e: one(e, ran=1),
    "ran that holds a string": lambda e: one(e, ran=["1"]),
    "ran that names no kata": lambda e: one(e, ran=[0]),
    "ran past the last kata": lambda e: one(e, ran=[99]),
    "a status that is not one": lambda e: one(e, status="skipped"),
    "a status that is a truth value": lambda e: one(e, status=True),
    "a kata that is not its test's": lambda e: one(e, kata=2),
    "a duration that is a string": lambda e: one(e, duration="1 s"),
    "blame that is a string": lambda e: one(e, blame="1"),
    "blame that names no kata": lambda e: one(e, blame=42),
    "a test name that is a number": lambda e: one(e, test=7),
    "an environment that is a list": lambda e: {**e, "environment": [e["environment"]]},
}


@pytest.mark.parametrize("case", CORRUPT)
def test_a_verdict_of_the_wrong_structure_is_judged_again_and_rebuilt(tmp_path, capsys, case):
    table, entry = stored(tmp_path)
    path = verdicts.cache_file(tmp_path)
    table["affine"] = table["relu"] = CORRUPT[case](entry)
    path.write_text(json.dumps(table), encoding="utf-8")
    affine, relu = by_module("affine"), by_module("relu")
    assert verdicts.load(tmp_path, affine) is None and verdicts.load(tmp_path, relu) is None
    said = capsys.readouterr().err
    assert said.count("\n") == 1, said  # once per process, not once per kata
    assert str(path) in said and "unreadable" in said and "rebuilt" in said, said
    outcomes = [Outcome("tests/test_affine.py::t", "passed", ran=(1,))]
    verdicts.store(tmp_path, affine, outcomes)  # the verdict judged again replaces the corrupt one
    assert verdicts.load(tmp_path, affine) == outcomes and verdicts.load(tmp_path, relu) is None
    assert capsys.readouterr().err == ""
    assert set(json.loads(path.read_text(encoding="utf-8"))) == {"affine"}  # relu's corrupt entry is gone


@pytest.mark.parametrize("text", [b"{", b"[1, 2]", b'"a string"', b"null", b'{"affine": "\xff"}'])
def test_a_cache_that_is_not_a_table_is_rebuilt(tmp_path, capsys, text):
    stubs.write_package(tmp_path / "katas", stubbed=())
    path = verdicts.cache_file(tmp_path)
    path.parent.mkdir()
    path.write_bytes(text)
    assert verdicts.load(tmp_path, by_module("affine")) is None
    said = capsys.readouterr().err
    assert said.count("\n") == 1 and str(path) in said and "rebuilt" in said, said


def test_a_verdict_of_every_field_round_trips_and_a_stale_one_is_dropped_silently(tmp_path, capsys):
    stubs.write_package(tmp_path / "katas", stubbed=())
    model = by_module("model")
    full = every_field("tests/test_model.py::t")
    verdicts.store(tmp_path, model, [full, Outcome("tests/test_model.py::u", "passed")])
    assert verdicts.load(tmp_path, model) == [full, Outcome("tests/test_model.py::u", "passed")]
    # Written by another version of the tools (another environment, another runner, another record format, or
    # the format of before records had a version): old, not corrupt.
    path = verdicts.cache_file(tmp_path)
    table = json.loads(path.read_text(encoding="utf-8"))
    written = table["model"]["outcomes"][0]
    before = {k: v for k, v in written.items() if k not in ("version", "kata", "status", "duration")}
    for stale in (
        {"environment": "python 2.7, torch 0.1"},
        {"files": {**table["model"]["files"], "tools/runner.py": "0"}},
        {"outcomes": [{**written, "version": 99}]},
        {"outcomes": [{**before, "passed": False, "skipped": False}]},  # as asdict wrote it, before
    ):
        path.write_text(json.dumps({"model": {**table["model"], **stale}}), encoding="utf-8")
        assert verdicts.load(tmp_path, model) is None
    assert capsys.readouterr().err == ""


def test_a_kata_run_with_a_corrupt_verdict_ends_with_its_own_verdict(tmp_path):
    table, entry = stored(tmp_path)
    table["relu"] = [entry]  # kata-1's run reads the verdicts of the katas after it: corrupt
    table["sigmoid"] = one(entry, ran=None)
    table["l2"] = one(entry, status="yes")
    verdicts.cache_file(tmp_path).write_text(json.dumps(table), encoding="utf-8")
    env = dict(os.environ, KATA_ROOT=str(tmp_path), KATA_TIMEOUT="60")  # a busy machine is not what this tests
    command = [sys.executable, "-m", "tools.runner", "--track", "katas", "--remember", "tests/test_affine.py"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8", check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "kata-1 (affine) passes every test" in done.stdout, done.stdout
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    assert done.stderr.count("unreadable") == 1, done.stderr
    assert verdicts.load(tmp_path, by_module("affine")) is not None  # judged and remembered again
