"""A whole class graded at once (`nox -s grade -- --class DIR`, tools/instructor/classroom.py): a small class of
a stub, a right submission, three wrong ones with named mistakes (two of them the same), one with edited tests, a
broken zip, a hanging kata and a forking kata; every output checked against what make_class says was planted.
Then what needs no judging: a re-run keeps the students whose katas/ did not change, and Ctrl-C keeps what is done.

The end-to-end class judges 8 students once (about 10 s of processor time each, every kata's tests), in one
subprocess: the slowest test of `nox -s tooling`, so it runs once, in a module-scoped fixture."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools.instructor import classfile, classroom, gradebook
from tools.maintainer import bugzoo, make_class
from tools.manifest import ROOT, by_number, katas
from tools.record import Outcome

WRONG = ("relu/mask-from-dout", "relu/mask-from-dout", "l2/loss-not-averaged")  # the zoo's keys: one made twice
LEAF = next(k for k in reversed(katas()) if not make_class.dependants(k))  # a hang there delays no other kata


def students() -> list[make_class.Student]:
    zoo = {m.key: m for m in bugzoo.load()}
    rng = __import__("random").Random(0)
    made = [
        make_class.ordinary("stub", rng, []),
        make_class.ordinary("right", rng, []),
        *(make_class.ordinary("mistake", rng, [zoo[key]]) for key in WRONG),
        make_class.broken("edited-tests", rng),
        make_class.broken("corrupt-zip", rng),
        make_class.planted("hang", LEAF),
        make_class.planted("fork", LEAF),
    ]
    for n, s in enumerate(made, start=1):
        s.name = f"s{n}-{s.kind}"
        s.expected = {"kind": s.kind, "judgeable": s.kind != "corrupt-zip", **s.expected}
    made[3].zipped = True  # a wrong one as a zip of its repository's folder
    return made


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> tuple[Path, Path, dict, subprocess.CompletedProcess[str]]:
    class_dir = tmp_path_factory.mktemp("class") / "c"
    class_dir.mkdir()
    make_class.write(students(), class_dir)
    expected = json.loads((class_dir / "expected.json").read_text(encoding="utf-8"))
    env = {**os.environ, "KATA_TIMEOUT": "4"}  # the hanging kata's tests stop sooner; the reference's use < 1 s
    env.pop("KATA_ROOT", None)
    done = subprocess.run(
        [sys.executable, "-m", "tools.instructor.classroom", "--class", str(class_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return class_dir, classroom.default_out(class_dir), expected, done


def test_every_student_has_a_row_and_the_points_planted(graded):
    _, out, expected, done = graded
    assert "9 students in" in done.stdout and "8 to judge" in done.stdout
    rows = {r["student"]: r for r in gradebook.read(out / "gradebook.csv")}
    assert list(rows) == sorted(expected)  # one row each, the student's identifier first
    assert next(iter(next(iter(rows.values())))) == "student"
    top = sum(k.points for k in katas())
    for name, want in expected.items():
        row = rows[name]
        for number in want["pass"]:
            assert row[f"kata-{number} {by_number(number).name}"] == str(by_number(number).points), (name, number)
        for number in want["fail"]:
            assert row[f"kata-{number} {by_number(number).name}"] == "0", (name, number)
        earned = sum(int(row[f"kata-{k.number} {k.name}"]) for k in katas())
        assert row["total"] == str(earned) and row["max"] == str(top)
    assert (
        rows["s7-corrupt-zip"]["reason"].startswith("a zip that cannot be read")
        and rows["s7-corrupt-zip"]["total"] == "0"
    )
    assert rows["s1-stub"]["total"] == "0" and rows["s2-right"]["percent"] == "100"
    assert "tests/ differs from the release (not used): added test_mine.py" in rows["s6-edited-tests"]["notes"]
    assert rows["s6-edited-tests"]["percent"] == "100"  # its edits were listed, never used


def test_class_json_keeps_each_test_status_mistakes_and_blame(graded):
    _, out, expected, _ = graded
    data = json.loads((out / "class.json").read_text(encoding="utf-8"))
    assert data["format"] == classfile.FORMAT and len(data["judge"]) == 64  # this repository's tests and judge
    record = data["students"]
    assert set(record) == set(expected)
    assert record["s7-corrupt-zip"]["tests"] == [] and record["s7-corrupt-zip"]["fingerprint"] == ""
    every = {t["test"] for t in record["s2-right"]["tests"]}
    assert all(t["status"] == "passed" for t in record["s2-right"]["tests"])
    for name, want in expected.items():
        if not want["judgeable"]:
            continue
        tests = record[name]["tests"]
        assert {t["test"] for t in tests} == every, name  # every test of every kata, each with a verdict
        assert len(record[name]["fingerprint"]) == 64
        named = {i for t in tests for i in t["mistakes"]}
        assert set(want.get("names", ())) <= named, (name, named)
        for t in tests:
            if t["status"] == "failed":
                assert t["blame"] is not None, (name, t["test"])
    stub = record["s1-stub"]["tests"]
    assert all(t["status"] == "failed" for t in stub)


def test_the_census_counts_kata_tests_mistakes_causes_and_edited_tests(graded):
    _, out, expected, _ = graded
    record = json.loads((out / "class.json").read_text(encoding="utf-8"))["students"]
    text = (out / "census.md").read_text(encoding="utf-8")
    judged = [n for n, w in expected.items() if w["judgeable"]]
    assert text.startswith(f"# Census: {len(expected)} students, {len(judged)} judged")
    lines = text.splitlines()
    for k in katas():
        finished = sum(
            all(t["status"] == "passed" for t in record[n]["tests"] if t["test"].startswith(k.test_file))
            for n in judged
        )
        (line,) = [x for x in lines if x.startswith(f"| {k.number} `{k.name}`")]
        assert line.split(" | ")[1] == str(finished), line
    named: dict[str, set[str]] = {}
    for n in judged:
        for t in record[n]["tests"]:
            for i in t["mistakes"]:
                named.setdefault(i, set()).add(n)
    assert len(named["relu/mask-from-dout"]) == 2  # the two students who made it, counted once each
    for i, who in named.items():
        assert f"| `{i}` | {len(who)} | " in text, i
    mask = text.index("`relu/mask-from-dout` | 2")
    assert all(text.index(f"`{i}` | 1 ") > mask for i, who in named.items() if len(who) == 1)  # ranked
    failed = sum(t["status"] == "failed" for n in judged for t in record[n]["tests"])
    earlier = sum(
        t["status"] == "failed" and t["blame"] != _kata(t["test"]) for n in judged for t in record[n]["tests"]
    )
    assert f"{earlier} of {failed} failed tests" in text
    assert "- s6-edited-tests: added test_mine.py; changed test_affine.py" in text
    assert "- s7-corrupt-zip: a zip that cannot be read" in text
    assert (out / "census.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _kata(test: str) -> int:
    return next(k.number for k in katas() if test.startswith(k.test_file + "::"))


def test_a_second_run_judges_only_what_changed(graded, tmp_path, monkeypatch):
    class_dir, out, _, _ = graded
    copy = tmp_path / "out"
    copy.mkdir()
    data = json.loads((out / "class.json").read_text(encoding="utf-8"))
    data["judge"] = classfile.judge_digest()  # as made by these tests and judge (another session may edit them)
    (copy / "class.json").write_text(json.dumps(data), encoding="utf-8")
    before = data["students"]
    edited = class_dir / "s2-right" / "katas" / "relu.py"
    original = edited.read_text(encoding="utf-8")
    judged = []

    def judge_all(chosen, workers, done):
        judged.extend(s.name for s in chosen)
        for s in chosen:
            done(s, [Outcome(f"{katas()[0].test_file}::t", "failed", blame=1)], 1.0)

    monkeypatch.setattr(classroom, "judge_all", judge_all)
    try:
        edited.write_text(original + "\n# changed\n", encoding="utf-8")
        assert classroom.grade_class(class_dir, copy, live=False) == 0
    finally:
        edited.write_text(original, encoding="utf-8")
    assert judged == ["s2-right"]
    after = json.loads((copy / "class.json").read_text(encoding="utf-8"))["students"]
    assert after["s2-right"]["points"] == 0
    assert {n: s["tests"] for n, s in after.items() if n != "s2-right"} == {
        n: s["tests"] for n, s in before.items() if n != "s2-right"
    }


def test_ctrl_c_keeps_the_students_done(graded, tmp_path, monkeypatch, capsys):
    class_dir, _, _, _ = graded

    def judge_all(chosen, workers, done):
        done(chosen[0], [], 1.0)
        raise KeyboardInterrupt

    monkeypatch.setattr(classroom, "judge_all", judge_all)
    assert classroom.grade_class(class_dir, tmp_path / "out", live=False) == 130
    kept = json.loads((tmp_path / "out" / "class.json").read_text(encoding="utf-8"))["students"]
    assert "s1-stub" in kept and "s2-right" not in kept  # the first judged, and the one that could not be
    assert "s7-corrupt-zip" in kept
    assert "run it again" in capsys.readouterr().err


def test_another_judge_judges_everyone_again(graded, tmp_path, monkeypatch):
    class_dir, out, expected, _ = graded
    data = json.loads((out / "class.json").read_text(encoding="utf-8"))
    data["judge"] = "0" * 64  # tests/ or the judge changed since
    (tmp_path / "class.json").write_text(json.dumps(data), encoding="utf-8")
    judged = []
    monkeypatch.setattr(classroom, "judge_all", lambda chosen, workers, done: judged.extend(s.name for s in chosen))
    assert classroom.grade_class(class_dir, tmp_path, live=False) == 0
    assert judged == sorted(n for n, w in expected.items() if w["judgeable"])
