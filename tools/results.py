"""Run the kata tests in a child pytest and read back, per test, what happened and whom it blames.

Used by `nox -s progress`, `nox -s stubs` and `nox -s bugzoo`, which need a verdict per kata
rather than pytest's own report. The blame comes from tests/conftest.py, through junit XML.

`run` is one child pytest. `run_many` judges many trees (a stub per kata, a mistake per tree) in
two long-lived workers, `python -m tools.results JOBS.json`: each imports torch once and calls
pytest.main per job, after forgetting the previous job's modules, so that a job costs a fraction
of a second instead of a fresh interpreter's four.
"""

from __future__ import annotations

import contextlib
import json
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


@dataclass(frozen=True)
class Job:
    katas: tuple[Kata, ...]
    kata_root: Path | None = None
    track: str = "katas"


JUNIT = ["-o", "junit_family=xunit1", "-p", "no:cacheprovider", "-q"]
FORGET = ("conftest", "judge", "deps", "katas")  # modules a job imports from the tree or tests/


def run_many(jobs: Sequence[Job], workers: int = 2) -> list[list[Outcome]]:
    """Run each job (its katas' test files against its tree); the Outcomes of each, in order."""
    with tempfile.TemporaryDirectory() as tmp:
        specs = [
            {
                "files": [k.test_file for k in job.katas],
                "root": str(job.kata_root) if job.kata_root else None,
                "track": job.track,
                "junit": str(Path(tmp) / f"job{i}.xml"),
            }
            for i, job in enumerate(jobs)
        ]
        children = []
        for w in range(workers):
            chunk = specs[w::workers]
            if chunk:
                batch = Path(tmp) / f"worker{w}.json"
                batch.write_text(json.dumps(chunk), encoding="utf-8")
                command = [sys.executable, "-m", "tools.results", str(batch)]
                children.append(subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        errors = [child.communicate()[1].decode(errors="replace") for child in children]
        missing = [spec["files"] for spec in specs if not Path(spec["junit"]).exists()]
        if missing:
            raise RuntimeError(f"a worker died before judging {missing[0]}:\n{errors[-1][-2000:]}")
        return [parse(Path(spec["junit"])) for spec in specs]


def _work(batch: Path) -> None:
    """The worker: run each job of the batch with pytest.main, in this one interpreter."""
    import pytest

    base_path, base_env = list(sys.path), dict(os.environ)
    for spec in json.loads(batch.read_text(encoding="utf-8")):
        for name in list(sys.modules):
            if name.split(".")[0] in FORGET or name.startswith("test_"):
                del sys.modules[name]
        sys.path[:] = base_path
        os.environ.clear()
        os.environ.update(base_env, KATA_TRACK=spec["track"])
        if spec["root"]:
            os.environ["KATA_ROOT"] = spec["root"]
        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
            pytest.main([f"--junitxml={spec['junit']}", *JUNIT, *spec["files"]])


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


if __name__ == "__main__":
    _work(Path(sys.argv[1]))
