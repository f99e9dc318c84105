"""The tooling around the katas: stub generator, reset, hints, progress, manifest."""

import os
import re
import subprocess
import sys
import time

import pytest

from tools import stubs
from tools.learner import hint, progress, reset
from tools.manifest import ROOT, bonus, by_number, katas, parse_number, required
from tools.record import Outcome
from tools.settings import parse_seconds

SOURCE = '''def f(x):
    """Doc."""
    # >>> kata
    return x + 1
    # <<< kata


class Net:
    def forward(self, x):
        # >>> kata
        return x
        # <<< kata


TABLE = {
    # >>> kata: fill
    "a": 1,
    # <<< kata
}
'''


def test_stub_source_replaces_each_region_and_keeps_the_rest():
    text = stubs.stub_source(SOURCE, "affine")
    assert 'raise NotImplementedError("kata-1 (affine): f is not written yet; write it in katas/affine.py")' in text
    assert "Net.forward is not written yet" in text
    assert "# TODO kata-1 (affine): fill this in (TABLE, katas/affine.py)" in text
    assert "return x + 1" not in text and '"a": 1' not in text
    assert '"""Doc."""' in text and "class Net:" in text


def test_every_solution_region_becomes_a_stub():
    # (Whether katas/ is in step with solutions/ is `nox -s generated`'s check: a learner's katas/ is not.)
    for name, text in stubs.render().items():
        assert ">>> kata" not in text and "<<< kata" not in text, name
        if name != "__init__.py":
            assert "NotImplementedError" in text or "TODO kata-" in text, name


def test_parse_number_accepts_numbers_and_names_and_rejects_the_rest():
    assert parse_number("3").name == "sigmoid"
    assert parse_number("kata-9").module == "autograd_bridge"
    assert parse_number("l2").number == 4
    with pytest.raises(ValueError, match=r"choose one of 1 \(affine\)"):
        parse_number("12")


def test_manifest_needs_point_backwards():
    for kata in katas():
        assert all(need < kata.number for need in kata.needs), kata.label
        assert len(kata.hints) >= 3, kata.label


def test_reset_backs_up_the_learners_file(tmp_path, monkeypatch, capsys):
    root = tmp_path
    (root / "katas").mkdir()
    mine = root / "katas" / "relu.py"
    mine.write_text("my work\n")
    monkeypatch.setattr(reset, "ROOT", root)
    monkeypatch.setattr(stubs, "ROOT", root)
    monkeypatch.setattr(stubs, "BACKUPS", root / ".kata-backups")
    assert reset.main(["2"]) == 0
    saved = list((root / ".kata-backups").rglob("relu.py"))
    assert len(saved) == 1 and saved[0].read_text() == "my work\n"
    assert "NotImplementedError" in mine.read_text()
    assert str(saved[0].relative_to(root)) in capsys.readouterr().out
    assert reset.main(["2"]) == 0  # already pristine: nothing to back up
    assert len(list((root / ".kata-backups").rglob("relu.py"))) == 1
    assert reset.main(["0"]) == 2 and reset.main([]) == 2
    mine.write_text("second try\n")
    stubs.backup(mine)
    mine.write_text("third try\n")
    stubs.backup(mine)  # within the same second: neither backup may overwrite the other
    kept = sorted(p.read_text() for p in (root / ".kata-backups").rglob("relu.py"))
    assert kept == ["my work\n", "second try\n", "third try\n"]


def test_hint_levels_and_bad_input(capsys):
    assert hint.show(["3", "2"]) == 0
    assert "hint 2 of 3" in capsys.readouterr().out
    assert hint.show(["3", "9"]) == 2 and hint.show(["x"]) == 2 and hint.show([]) == 2
    assert hint.show(["3", "²"]) == 2 and hint.show(["3", "٣"]) == 2  # digits, but not 1, 2 or 3
    assert "has hint levels 1 to 3; got '²'" in capsys.readouterr().out


def outcome(passed, blame=None, not_started=False):
    return Outcome("t", "passed" if passed else "failed", blame, not_started, "")


def test_progress_status_of_a_kata():
    assert progress.status([outcome(True), outcome(True)], 4) == ("done", True)
    assert progress.status([outcome(False, 4, True)] * 3, 4) == ("not started", False)
    assert progress.status([outcome(True), outcome(False, 4)], 4) == ("1 of 2 tests pass", False)
    assert progress.status([outcome(False, 8, True), outcome(False, 7, True)], 8) == (
        "not started (waits for kata-7)",
        False,
    )
    assert progress.status([outcome(True), outcome(False, 2, True)], 7) == ("waits for kata-2", False)
    # A kata known to pass all its tests is never waited for: the failure is this kata's own.
    assert progress.status([outcome(True), outcome(False, 1)], 9, done={1}) == ("1 of 2 tests pass", False)
    assert progress.bar(3, 9).endswith("3 of 9 katas done")


def test_progress_counts_the_bonus_katas_apart():
    asked = {k.number for k in required()}
    extra = f", bonus 0 of {len(bonus())}" if bonus() else ""
    assert progress.tally(asked).endswith(f"{len(asked)} of {len(asked)} katas done{extra}")
    assert progress.all_done(asked).startswith(f"All {len(asked)} katas done.")
    if bonus():  # every required kata done: the bonus is offered, and not counted as missing
        first = bonus()[0]
        assert f"`nox -s kata-{first.number}`" in progress.all_done(asked)
        assert f"{len(asked)} of {len(asked)} katas done" in progress.tally({*asked, first.number})
        assert "Bonus" not in progress.all_done({k.number for k in katas()})
    assert by_number(1).label == "kata-1 (affine)"


def test_time_limit_stops_an_endless_loop():
    from tests import judge

    with pytest.raises(judge.TimedOut), judge.time_limit(0.2):
        while True:
            pass
    with judge.time_limit(5):  # a block that finishes in time is left alone
        total = sum(range(1000))
    assert total == 499500


def test_time_limit_counts_processor_time_not_the_clock():
    """A test that waits on other programs (here: sleeps, which uses no processor time) is not stopped at its
    limit, only at the clock's ceiling; one that computes is stopped by processor time, and says so."""
    from tests import judge

    with judge.time_limit(0.3, wall=5) as clock:
        time.sleep(0.6)  # twice the limit on the clock, almost no processor time
    assert clock.stopped_by == "" and clock.wall >= 0.6 and clock.cpu < 0.3, clock
    with pytest.raises(judge.TimedOut), judge.time_limit(0.3, wall=30) as clock:
        while True:
            pass
    assert clock.stopped_by == "cpu" and clock.computing and clock.wall < 10, clock
    with pytest.raises(judge.TimedOut), judge.time_limit(10, wall=0.5) as clock:
        while True:
            time.sleep(0.01)
    assert clock.stopped_by == "wall" and not clock.computing and clock.cpu < 0.5, clock


def test_kata_code_runs_with_one_torch_thread():
    import torch

    from tests import judge

    judge.single_threaded()
    assert torch.get_num_threads() == 1
    assert torch.get_num_interop_threads() == 1


@pytest.mark.parametrize("text", ["abc", "-5", "0", "nan", "inf", ""])
def test_a_time_limit_that_is_not_a_positive_number_is_refused_in_one_line(text):
    with pytest.raises(ValueError, match=r"^.* is not a time limit: give a number of seconds greater than 0"):
        parse_seconds(text)
    assert parse_seconds("2.5") == 2.5


@pytest.mark.parametrize("how", ["option", "environment"])
def test_the_runner_refuses_a_bad_time_limit_in_one_line(how):
    env = {**os.environ, "KATA_TIMEOUT": "-5"} if how == "environment" else dict(os.environ)
    extra = ["--kata-timeout", "-5"] if how == "option" else []
    done = subprocess.run(
        [sys.executable, "-m", "tools.runner", "tests/test_relu.py", *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, (done.returncode, lines)
    assert "'-5' is not a time limit" in lines[0], lines


def test_check_needs_finds_a_missing_and_a_stale_need():
    from tools.maintainer.reference import disagreements

    def ran(kata, *numbers):
        return Outcome(f"tests/test_{by_number(kata).module}.py::t", "passed", ran=(kata, *numbers))

    agreeing = [ran(7, 1, 2, 3, 6), ran(8, 4, 5, 7, 1), ran(9, 4, 6, 7)]
    assert disagreements(agreeing) == []
    problems = disagreements([ran(2, 1), ran(7, 1, 2, 3, 6), ran(8, 4, 7), ran(9, 4, 6, 7)])
    assert any("test_relu.py runs the code of kata-1 (affine)" in p for p in problems), problems
    assert any("kata-8 (train) lists kata-5 (accuracy)" in p for p in problems), problems


def test_solutions_given_only_a_time_limit_still_checks_the_manifests_needs():
    from tools.maintainer.reference import chooses_tests

    for whole in ([], ["--kata-timeout", "60"], ["--kata-timeout=60"]):
        assert not chooses_tests(whole), whole
    for part in (["tests/test_relu.py"], ["-k", "affine"], ["--kata-timeout", "60", "-x"]):
        assert chooses_tests(part), part


@pytest.mark.parametrize("track", ["katas", "solutions"])
def test_the_advice_for_more_time_names_a_command_that_judges_the_same_code(tmp_path, track):
    stubs.write_package(tmp_path / track, stubbed=())  # the reference, with an endless loop in relu_backward
    relu = tmp_path / track / "relu.py"
    relu.write_text(relu.read_text(encoding="utf-8").replace("    x = cache\n", "    while True:\n        pass\n"))
    env = {**os.environ, "KATA_ROOT": str(tmp_path)}
    command = [sys.executable, "-m", "tools.runner", "--track", track, "--kata-timeout", "0.5", "tests/test_relu.py"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8", check=False)
    session = "kata" if track == "katas" else "solution"
    assert "stopped in relu_backward" in done.stdout, done.stdout[-3000:]
    advice = f"allow more with `nox -s {session}-2 -- --kata-timeout 60`, or KATA_TIMEOUT=60 before any command"
    assert advice.lower() in done.stdout.lower(), done.stdout[-3000:]


@pytest.fixture
def learner(tmp_path, monkeypatch):
    """A repository root of its own for reset: katas/relu.py holds the learner's (non-UTF-8) work."""
    (tmp_path / "katas").mkdir()
    monkeypatch.setattr(reset, "ROOT", tmp_path)
    monkeypatch.setattr(stubs, "ROOT", tmp_path)
    monkeypatch.setattr(stubs, "BACKUPS", tmp_path / ".kata-backups")
    mine = tmp_path / "katas" / "relu.py"
    mine.write_bytes("# café, saved as latin-1\nx = 1\n".encode("latin-1"))
    return mine


def test_reset_then_undo_gives_the_learners_file_back(learner, capsys):
    work = learner.read_bytes()
    assert reset.main(["2"]) == 0
    assert b"NotImplementedError" in learner.read_bytes()
    assert reset.main(["2", "--undo"]) == 0
    assert learner.read_bytes() == work
    out = capsys.readouterr().out
    assert "--undo` puts your file back" in out and "is back to .kata-backups/" in out, out
    assert reset.main(["2", "--undo"]) == 0  # again: back to the stub the undo saved
    assert b"NotImplementedError" in learner.read_bytes()


def test_reset_refuses_in_one_line_and_changes_nothing(learner, monkeypatch, capsys):
    work = learner.read_bytes()
    assert reset.main(["2", "--undo"]) == 1
    assert "There is no backup of katas/relu.py" in capsys.readouterr().out
    (learner.parent.parent / ".kata-backups").write_text("not a folder")
    assert reset.main(["2"]) == 1
    said = capsys.readouterr().out
    assert said.count("\n") == 1 and "must be a folder" in said, said
    assert learner.read_bytes() == work
    (learner.parent.parent / ".kata-backups").unlink()

    def read_only(self, data):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(type(learner), "write_bytes", read_only)
    assert reset.main(["2"]) == 1
    said = capsys.readouterr().out
    assert "Could not reset katas/relu.py: katas/relu.py: permission denied (is the file or folder read-only?)" in said
    assert learner.read_bytes() == work


def test_a_hint_is_never_broken_inside_a_formula():
    text = "word " * 17 + "then d/dy (y - onehot) ends here, and (x > 0) too, " + "filler " * 20
    for line in hint.wrap(text, width=96).splitlines():
        assert line.count("(") == line.count(")"), line
        assert len(line) <= 96
    for kata in katas():
        for level in kata.hints:
            lines = hint.wrap(level).splitlines()
            for formula in re.findall(r"\([^()]{1,40}\)", level):
                assert any(formula in line for line in lines), (kata.label, formula, lines)


def test_the_generated_check_catches_stale_counts_names_and_hints():
    from tools.maintainer import generated
    from tools.maintainer.bugzoo import load

    zoo, n = len(load()), len(required())
    words = generated.WORDS
    assert (
        generated.stale_counts(f"each of the {zoo} mistakes (today: all {zoo}). {words[n].title()} short katas") == []
    )
    stale = generated.stale_counts(f"each of the {zoo - 1} mistakes; the {words[n - 1]} katas: done")
    assert len(stale) == 2, stale
    assert f"where there are {zoo} mistakes" in stale[0] and f"the {words[n - 1]} katas" in stale[1], stale
    assert generated.stale_counts("the first katas, the many katas") == []  # not counts
    assert generated.exports_problems() == [] and generated.hint_problems() == []
    init = (stubs.SOLUTIONS / "__init__.py").read_text(encoding="utf-8")
    assert generated.with_exports(init) == init
    assert generated.with_exports(init.replace('"l2_loss": "l2"', '"l2_loss": "affine"')) == init


def test_one_region_parser_finds_every_region_and_refuses_an_open_one():
    lines = [
        "def f():\n",
        "    # >>> kata\n",
        "    return 1\n",
        "    # <<< kata\n",
        "X = [\n",
        "    # >>> kata: fill\n",
        "]\n",
    ]
    regions = stubs.regions(lines[:4])
    assert [(r.begin, r.end, r.indent, r.fill) for r in regions] == [(1, 3, "    ", False)]
    with pytest.raises(ValueError, match="line 6: `# >>> kata` has no `# <<< kata`"):
        stubs.regions(lines)
    assert "dW = dout.T @ x" in stubs.solution_lines("affine")


@pytest.mark.parametrize(
    ("readme", "rc", "says"),
    [
        ("<!-- test-command -->\n```\npython -c \"print('the command ran')\"\n```\n", 0, "the command ran"),
        ("<!-- test-command -->\n```\nnox -s ci\n```\nmore text\n", 2, "no line starting with python after"),
        ("no marker at all\npython -c 'print(1)'\n", 2, "no line starting with python after"),
        ("<!-- test-command -->", 2, "no line starting with python after"),
    ],
)
def test_ci_run_runs_the_readme_command_or_stops_in_one_line(tmp_path, readme, rc, says):
    import shutil
    import subprocess

    bash = shutil.which("bash")  # on Windows, Git Bash from PATH (System32's bash.exe is WSL's, often empty)
    if bash is None or "system32" in bash.lower():
        pytest.skip("no bash here to run .ci/run with")
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    (tmp_path / "README.md").write_text(readme, encoding="utf-8", newline="\n")
    done = subprocess.run(
        [bash, ".ci/run"], cwd=tmp_path, capture_output=True, text=True, encoding="utf-8", timeout=30, check=False
    )
    assert done.returncode == rc, done
    assert says in done.stdout + done.stderr
    if rc:
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
