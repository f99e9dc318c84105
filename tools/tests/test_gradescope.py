"""The Gradescope autograder (tools/instructor/gradescope.py), end to end without a container: the zip as
Gradescope's specification asks, then its run_autograder, moved by AUTOGRADER_ROOT, on a stub, a right submission
and a wrong one, each results.json checked against Gradescope's documented fields and `nox -s grade`'s points."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tools import stubs
from tools.instructor import autograde
from tools.maintainer import bugzoo
from tools.manifest import ROOT, by_module, katas
from tools.tests.test_platforms import GRADESCOPE, valid

WRONG = next(m for m in bugzoo.load() if m.kata.module == "autograd_bridge" and m.names)  # a kata no other needs


@pytest.fixture(scope="module")
def autograder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out") / "autograder.zip"
    done = subprocess.run(
        [sys.executable, "-m", "tools.instructor.gradescope", str(out)], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert f"Its points: {sum(k.points for k in katas())}" in done.stdout
    return out


def test_the_zip_has_the_two_scripts_at_its_root_and_no_solutions(autograder):
    with zipfile.ZipFile(autograder) as archive:
        names = archive.namelist()
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
        run = archive.read("run_autograder").decode()
    assert {"setup.sh", "run_autograder", "tools/instructor/gradescope.py", "tests/test_affine.py"} <= set(names)
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    assert not [n for n in names if n.startswith(("solutions/", "tools/maintainer/"))]
    assert run.startswith("#!/usr/bin/env bash\n") and "autograde gradescope" in run and "AUTOGRADER_ROOT" in run
    assert set(stubs.render()) <= {n.removeprefix("katas/") for n in names if n.startswith("katas/")}


def submit(root: Path, how: str) -> None:
    """What Gradescope puts in /autograder/submission for each case."""
    folder = root / "submission"
    folder.mkdir(parents=True)
    if how == "stub":  # a GitHub submission: the repository, its tests/ edited to pass (never used)
        shutil.copytree(ROOT / "katas", folder / "katas", ignore=shutil.ignore_patterns("__pycache__"))
        (folder / "tests").mkdir()
        (folder / "tests" / "test_affine.py").write_text("def test_pass():\n    pass\n")
    elif how == "right":  # the kata files alone, uploaded
        for name, text in stubs.render(()).items():
            (folder / name).write_text(text, encoding="utf-8")
    else:  # a zip of the repository's folder, uploaded
        with zipfile.ZipFile(folder / "mine.zip", "w") as archive:
            for name, text in stubs.render(()).items():
                module = name.removesuffix(".py")
                made = WRONG.apply(text) if module == WRONG.kata.module else text
                archive.writestr(f"mnist-katas/katas/{name}", made)


def test_run_autograder_judges_a_stub_a_right_and_a_wrong_submission(autograder, tmp_path):
    source = tmp_path / "source"
    with zipfile.ZipFile(autograder) as archive:
        archive.extractall(source)
    cases = ("stub", "right", "wrong")
    running = {}
    for case in cases:
        root = tmp_path / case
        submit(root, case)
        (root / "source").symlink_to(source)
        env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable}
        env.pop("KATA_ROOT", None)
        running[case] = subprocess.Popen(
            ["bash", str(source / "run_autograder")], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
    said = {case: p.communicate(timeout=900)[0].decode(errors="replace") for case, p in running.items()}
    results = {}
    for case in cases:
        assert running[case].returncode == 0, said[case]
        results[case] = json.loads((tmp_path / case / "results" / "results.json").read_text(encoding="utf-8"))
        valid(results[case], GRADESCOPE)
    total = sum(k.points for k in katas())
    assert results["stub"]["score"] == 0 and results["right"]["score"] == total
    assert all(t["status"] == "failed" for t in results["stub"]["tests"])  # its own tests/ was never used
    assert all(t["status"] == "passed" for t in results["right"]["tests"])
    wrong = results["wrong"]
    assert wrong["score"] == total - WRONG.kata.points, said["wrong"]
    failed = [t for t in wrong["tests"] if t["status"] == "failed"]
    assert failed and all(t["name"].startswith(WRONG.kata.label) for t in failed)
    assert {i for t in failed for i in t["tags"]} & set(WRONG.names)
    assert by_module(WRONG.kata.module) == WRONG.kata


def test_a_submission_without_katas_gets_a_results_json_with_its_reason(tmp_path):
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "README.md").write_text("oops\n")
    data = autograde.run("gradescope", tmp_path)
    assert json.loads((tmp_path / "results" / "results.json").read_text(encoding="utf-8")) == data
    valid(data, GRADESCOPE)
    assert data["score"] == 0 and data["tests"] == [] and data["output"].startswith("no katas/ folder")
