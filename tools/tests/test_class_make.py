"""The generated class (tools/maintainer/make_class.py): the same seed gives the same bytes, each student is what
expected.json says was planted, and the class folder reader (tools/instructor/submissions.py) finds each as it
should: the broken ones with their reason, the edited tests listed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools import stubs
from tools.instructor import submissions
from tools.maintainer import bugzoo, make_class
from tools.manifest import ROOT, by_number, katas


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def klass(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("class") / "c"
    release = dest.parent / "release"  # the tests/ the class is made with: another change to tests/ is no edit
    shutil.copytree(ROOT / "tests", release / "tests", ignore=shutil.ignore_patterns("__pycache__", ".*"))
    done = subprocess.run(
        [sys.executable, "-m", "tools.maintainer.make_class", str(dest), "--students", "40", "--seed", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"40 students in {dest}: 1 corrupt-zip, 1 no-katas, 1 syntax-error")
    return dest


def test_the_same_seed_gives_the_same_bytes(klass, tmp_path):
    again = tmp_path / "again"
    again.mkdir()
    make_class.write(make_class.make(40, 3), again)
    assert tree(again) == tree(klass)
    other = tmp_path / "other"
    other.mkdir()
    make_class.write(make_class.make(40, 4), other)
    assert tree(other) != tree(klass)


def test_expected_partitions_every_kata_and_names_what_was_planted(klass):
    expected = json.loads((klass / "expected.json").read_text(encoding="utf-8"))
    assert len(expected) == 40 and {e["kind"] for e in expected.values()} >= {*make_class.BROKEN, "stub", "right"}
    numbers = sorted(k.number for k in katas())
    for name, e in expected.items():
        assert sorted(e["pass"] + e["fail"] + e["either"]) == numbers, name
        assert (klass / (name + ".zip")).is_file() == e["zipped"] and (klass / name).is_dir() != e["zipped"]
    zoo = {m.key: m for m in bugzoo.load()}
    reference = stubs.render(())
    mistakes = [e["mistake"] for e in expected.values() if e["kind"] == "mistake"]
    assert len(mistakes) == len(set(mistakes)) > 10  # round the zoo: none twice before all once
    for name, e in expected.items():
        if e["kind"] == "mistake" and not e["zipped"]:
            m = zoo[e["mistake"]]
            assert e["fail"] == [m.kata.number] and e["names"] == list(m.names)
            made = (klass / name / "katas" / f"{m.kata.module}.py").read_text(encoding="utf-8")
            assert made == m.apply(reference[f"{m.kata.module}.py"])  # the zoo's own edit, nothing else


def test_the_planted_faults_are_where_expected_says(klass):
    expected = json.loads((klass / "expected.json").read_text(encoding="utf-8"))
    by_kind = {e["kind"]: (name, e) for name, e in expected.items()}
    for kind, code in (("hang", "while True:"), ("fork", "os.fork()"), ("syntax-error", "never closed")):
        name, e = by_kind[kind]
        kata = by_number(e["kata"])
        text = (klass / name / kata.path()).read_text(encoding="utf-8")
        assert code in text
        if kind != "syntax-error":
            compile(text, kata.path(), "exec")  # it runs, and then hangs or forks
    stub_name, _ = by_kind["stub"]
    right_name, _ = by_kind["right"]
    for kata in katas():
        assert (klass / stub_name / kata.path()).read_text(encoding="utf-8") == stubs.render()[f"{kata.module}.py"]
        assert (klass / right_name / kata.path()).read_text(encoding="utf-8") == stubs.render(())[f"{kata.module}.py"]


def test_the_class_folder_reader_finds_each_as_expected(klass, tmp_path):
    expected = json.loads((klass / "expected.json").read_text(encoding="utf-8"))
    found = {s.name: s for s in submissions.find(klass, tmp_path / "work", release=klass.parent / "release")}
    assert sorted(found) == sorted(expected)  # expected.json is no student
    for name, e in expected.items():
        s = found[name]
        assert s.judgeable == e["judgeable"], (name, s.reason)
        if e["kind"] == "syntax-error":
            assert [f.split(":")[0] for f in s.format_errors] == [by_number(e["kata"]).path()]
        else:
            assert s.format_errors == (), (name, s.format_errors)
        if "tests" in e:
            assert s.tests is not None and list(s.tests.added) == e["tests"]["added"]
            assert list(s.tests.changed) == e["tests"]["changed"] and s.tests.removed == ()
        else:
            assert s.tests is None, (name, s.tests)
    assert "cannot be read" in found[next(n for n, e in expected.items() if e["kind"] == "corrupt-zip")].reason
    assert "no katas/" in found[next(n for n, e in expected.items() if e["kind"] == "no-katas")].reason
    rights = {found[n].fingerprint for n, e in expected.items() if e["kind"] in ("right", "edited-tests")}
    assert len(rights) == 1


def test_a_folder_that_is_not_empty_is_refused(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    done = subprocess.run(
        [sys.executable, "-m", "tools.maintainer.make_class", str(tmp_path), "--students", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "not a new or empty folder" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]
