"""Run the kata tests in a child pytest and read back, per test, what happened and whom it blames.

Used by `nox -s progress`, `nox -s stubs` and `nox -s bugzoo`, which need a verdict per kata
rather than pytest's own report. The blame comes from tests/conftest.py, through junit XML.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.manifest import ROOT, Kata


@dataclass(frozen=True)
class Outcome:
    test: str  # file::name
    passed: bool
    blame: int | None  # the kata a failure is blamed on
    not_started: bool  # the failure is a stub's NotImplementedError
    message: str  # the first lines of the failure, as the learner reads them


def run(
    katas: Sequence[Kata],
    track: str = "katas",
    kata_root: Path | None = None,
    extra: Sequence[str] = (),
) -> list[Outcome]:
    """Run the given katas' test files against a track; one Outcome per test."""
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "junit.xml"
        env = dict(os.environ, KATA_TRACK=track)
        if kata_root is not None:
            env["KATA_ROOT"] = str(kata_root)
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:randomly",
            f"--junitxml={junit}",
            "-o",
            "junit_family=xunit1",
            *(k.test_file for k in katas),
            *extra,
        ]
        subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        if not junit.exists():
            raise RuntimeError(f"pytest did not run: {' '.join(command)}")
        return parse(junit)


def parse(junit: Path) -> list[Outcome]:
    outcomes = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        blame = properties.get("blame")
        text = (problem.get("message") or problem.text or "") if problem is not None else ""
        if text.endswith("full report in element text]") and problem.text:
            text = problem.text  # pytest cuts the message attribute at 500 characters
        outcomes.append(
            Outcome(
                test=f"{case.get('file', case.get('classname'))}::{case.get('name')}",
                passed=problem is None and case.find("skipped") is None,
                blame=int(blame) if blame and blame.isdigit() else None,
                not_started=properties.get("not_started") == "True",
                message=text.strip(),
            )
        )
    return outcomes
