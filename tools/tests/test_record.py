"""The verdict record (tools/record.py): one definition, one writer, one reader; and the one map from a test
file to its kata (tools/manifest.py's kata_of_test)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from tools import record
from tools.manifest import ROOT, by_module, kata_of_test, katas
from tools.record import Outcome

SAMPLES: dict[object, object] = {  # a value of each field type, away from its default
    bool: True,
    str: "why",
    int | None: 7,
    float: 1.25,
    tuple[int, ...]: (1, 2, 7),
    tuple[str, ...]: ("affine/no-bias",),
    record.Status: "failed",
}


def every_field(test: str) -> Outcome:
    """A record of this test with every field away from its default: a field added later is covered too."""
    hints = typing.get_type_hints(Outcome)
    values = {f.name: SAMPLES[hints[f.name]] for f in dataclasses.fields(Outcome) if f.init and f.name != "test"}
    return Outcome(test, **values)  # type: ignore[arg-type]


def test_a_record_of_every_field_round_trips_through_json():
    full = every_field("tests/test_model.py::t")
    written = record.write(full)
    assert written["version"] == record.VERSION and written["kata"] == by_module("model").number
    assert record.read(json.loads(json.dumps(written))) == full
    assert full.kata == by_module("model") and not full.passed


def test_the_kata_of_a_record_is_its_test_files():
    assert Outcome("tests/test_relu.py::test_x", "passed").kata == by_module("relu")
    assert Outcome("tools/tests/test_tools.py::t", "passed").kata is None
    with pytest.raises(record.RecordError):
        Outcome("tests/test_relu.py::test_x", "skipped")  # type: ignore[arg-type]


@pytest.mark.parametrize("version", [None, 0, record.VERSION + 1, "1"])
def test_a_record_of_another_version_is_refused_in_one_line(version):
    written = record.write(Outcome("tests/test_relu.py::t", "passed"))
    data = {k: v for k, v in written.items() if k != "version"}
    if version is not None:
        data["version"] = version
    with pytest.raises(record.RecordError) as refused:
        record.read(data)
    said = str(refused.value)
    assert "\n" not in said and f"this code reads version {record.VERSION}" in said, said


@pytest.mark.parametrize(
    ("given", "module"),
    [
        ("tests/test_relu.py", "relu"),
        ("tests/test_relu.py::test_forward[2-3]", "relu"),
        (ROOT / "tests" / "test_model.py", "model"),
        (str(ROOT / "tests" / "test_model.py") + "::t", "model"),
        ("tests/test_judging.py", None),  # no such kata
        ("tools/tests/test_relu.py", None),  # not in tests/
        ("tests/relu.py", None),
        ("tests/test_relu.txt", None),
        (Path("/elsewhere/tests/test_relu.py"), None),
        ("-k", None),
        ("relu", None),
    ],
)
def test_one_function_maps_a_test_file_to_its_kata(given, module):
    assert kata_of_test(given) == (by_module(module) if module else None)


def test_every_katas_test_file_maps_to_it():
    assert [kata_of_test(k.test_file) for k in katas()] == list(katas())


def test_the_supervisor_imports_no_torch():
    """The record and what reads it load without torch: the supervisor and `nox -s progress` never wait for it."""
    code = "import sys, tools.record, tools.verdicts, tools.runner; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False", done.stdout + done.stderr
