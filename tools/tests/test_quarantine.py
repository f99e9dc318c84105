"""What one test's or one tree's kata code leaves does not reach another's: a function stopped for not finishing
is quarantined in its own tree only (in a run of many trees, a class or the bug zoo, another student's function of
the same name is judged afresh), and processes kata code forks end with the call that forked them (at the latest
before the next test)."""

import faulthandler
import json
import sys

import pytest

from tools.plugin.channel import Channel
from tools.run.follow import Watch, _handle


def test_a_quarantine_reaches_later_workers_of_its_own_tree_only(tmp_path):
    hung: list[dict] = []
    event = {"event": "hung", "file": "/a/katas/relu.py", "function": "relu_backward", "message": "it hung"}
    _handle(Watch(), {**event, "package": str(tmp_path / "a" / "katas")}, [[]], hung)
    assert hung[0]["package"] == str(tmp_path / "a" / "katas"), hung
    (tmp_path / "run" / "hung.json").parent.mkdir()
    (tmp_path / "run" / "hung.json").write_text(json.dumps(hung), encoding="utf-8")
    channel = Channel(str(tmp_path / "run"))
    try:
        mine = channel.hung(tmp_path / "a" / "katas")
        assert mine == {(str(tmp_path / "a" / "katas" / "relu.py"), "relu_backward"): "it hung"}, mine
        assert channel.hung(tmp_path / "b" / "katas") == {}, "another tree's relu_backward is not quarantined"
    finally:
        faulthandler.disable()


def test_what_kata_code_forked_in_an_earlier_test_ends_before_the_next():
    """The kata process ends its children at each test's start (sandbox.end_children), so a fork that loops
    runs beside one test at most."""
    import subprocess
    import sys

    from tools.manifest import ROOT

    code = (
        "import os, sys, time\n"
        "from tools.judge import sandbox\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    time.sleep(60)\n"
        "    os._exit(0)\n"
        "sandbox.end_children()\n"
        "try:\n"
        "    os.waitpid(pid, os.WNOHANG)\n"
        "except ChildProcessError:\n"
        "    sys.exit(0)\n"
        "sys.exit(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])


@pytest.mark.skipif(sys.platform != "linux", reason="/proc lists a process's children only on Linux")
def test_a_process_kata_code_forks_ends_with_the_call_that_forked_it(tmp_path):
    """A function that forks a child at every call (and leaves it running) gets its children ended as each call
    returns: they do not pile up beside the rest of the test (a hypothesis test calls it dozens of times)."""
    from pathlib import Path

    import torch

    from tools import stubs
    from tools.judge import sealed

    stubs.write_package(tmp_path / "katas", stubbed=())
    relu = tmp_path / "katas" / "relu.py"
    forking = "    import os\n    if os.fork() == 0:\n        __import__('time').sleep(600)\n        os._exit(0)\n"
    text = relu.read_text(encoding="utf-8")
    at = text.index("    # >>> kata\n", text.index("def relu_forward")) + len("    # >>> kata\n")
    relu.write_text(text[:at] + forking + text[at:], encoding="utf-8")
    client = sealed.Client("katas", tmp_path, None)
    try:
        client.start()
        client.begin(10.0, {}, set())
        forward = client.load("relu", "relu_forward")
        for _ in range(3):
            out, _cache = forward(torch.tensor([[-1.0, 2.0]]))
            assert torch.equal(out, torch.tensor([[0.0, 2.0]])), out
            tasks = Path(f"/proc/{client.process.pid}/task")
            children = [c for t in tasks.iterdir() for c in (t / "children").read_text().split()]
            assert children == [], f"the kata process still has the children {children} after the call returned"
    finally:
        client.close()
