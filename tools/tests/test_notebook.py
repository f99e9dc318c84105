"""check(N) for notebooks (tools/learner/notebook.py), and the committed notebook itself."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools import stubs
from tools.learner import notebook
from tools.manifest import ROOT, katas

NOTEBOOK = ROOT / "notebooks" / "explore.ipynb"
WRONG = ("out = torch.where(x >= 0, 1 / (1 + e), e / (1 + e))", "out = torch.where(x >= 0, e / (1 + e), 1 / (1 + e))")


def tree(folder: Path, state: str) -> Path:
    """A learner's katas/ whose kata 3 (sigmoid) is its stub, wrong (the bug zoo's sign-flipped) or right."""
    stubs.write_package(folder / "katas", stubbed={"sigmoid"} if state == "stub" else set())
    if state == "wrong":
        path = folder / "katas" / "sigmoid.py"
        text = path.read_text(encoding="utf-8")
        assert text.count(WRONG[0]) == 1
        path.write_text(text.replace(*WRONG), encoding="utf-8")
    return folder


def same(text: str) -> str:
    """What may differ between two runs of the same tests: how long they took."""
    return re.sub(r"in \d+\.\d+s", "in Ts", text)


@pytest.mark.parametrize(
    ("state", "status", "said"),
    [("stub", 1, "not written yet"), ("wrong", 1, "wrong"), ("right", 0, "passes every test")],
)
def test_check_prints_what_nox_kata_n_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, state: str, status: int, said: str
) -> None:
    root = tree(tmp_path, state)
    env = {**os.environ, "KATA_ROOT": str(root)}
    env.pop("KATA_TRACK", None)
    # What `nox -s kata-3` runs (noxfile.py: pytest(session, "katas", [kata.test_file], "--remember")).
    command = [sys.executable, "-m", "tools.runner", "--track", "katas", "--remember", "tests/test_sigmoid.py"]
    cli = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    monkeypatch.setenv("KATA_ROOT", str(root))
    monkeypatch.delenv("KATA_TRACK", raising=False)
    out = io.StringIO()
    assert notebook.run_check(3, out) == cli.returncode == status
    # The same text, but for the commands it suggests, said as the notebook's calls (check(4), hint(4)).
    assert same(out.getvalue()) == notebook.notebook_words(same(cli.stdout + cli.stderr))
    assert "`nox -s" not in out.getvalue()
    assert said in out.getvalue() and "Traceback" not in out.getvalue()


def test_check_from_a_plain_python_prints_in_order(tmp_path: Path) -> None:
    """Outside a kernel (a terminal, a script) the worker writes straight to the same stdout: same order."""
    env = {**os.environ, "KATA_ROOT": str(tree(tmp_path, "stub"))}
    env.pop("KATA_TRACK", None)
    command = [sys.executable, "-m", "tools.runner", "--track", "katas", "--remember", "tests/test_sigmoid.py"]
    cli = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8", check=False)
    code = "from tools.learner.notebook import check; check(3)"
    plain = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8", check=False
    )
    assert same(plain.stdout) == same(cli.stdout), plain.stdout


@pytest.mark.parametrize("bad", [len(katas()) + 3, 0, "foo", f"kata-{len(katas()) + 1}"])
def test_check_of_no_such_kata_is_one_line_naming_the_valid_ones(bad: object) -> None:
    out = io.StringIO()
    assert notebook.run_check(bad, out) == 2  # type: ignore[arg-type]
    text = out.getvalue()
    assert text.count("\n") == 1 and "1 (affine)" in text and "9 (autograd-bridge)" in text, text


def test_a_section_shows_the_stubs_message_instead_of_a_traceback(capsys: pytest.CaptureFixture) -> None:
    with notebook.section(8):
        raise NotImplementedError("kata-8 (train): train_model is not written yet; write it in katas/train.py")
    out = capsys.readouterr().out
    assert "kata-8 (train): train_model is not written yet" in out and "check(8)" in out
    assert not notebook.ready(None, 8) and notebook.ready({}, 8)
    assert "needs kata 8 (train)" in capsys.readouterr().out


def test_the_committed_notebook_has_no_outputs_and_one_reference_switch() -> None:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    code = [cell for cell in cells if cell["cell_type"] == "code"]
    assert all(not cell["outputs"] and cell["execution_count"] is None for cell in code)
    switches = [cell for cell in code if re.search(r"^REFERENCE = False\b", "".join(cell["source"]), re.M)]
    assert len(switches) == 1
