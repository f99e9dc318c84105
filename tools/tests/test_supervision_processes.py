"""Processes under the supervisor: nothing kata code starts outlives a run, a supervisor killed or stopped with
Ctrl-C takes its worker with it, memory without end is one line, signals from kata code do not end the run; and a
later kata's failure is blamed on an earlier one that fails its own tests."""

from __future__ import annotations

import contextlib
import os
import signal
import sys

import pytest

from tests.judge import WALL_FACTOR
from tools import stubs
from tools.judge import processes
from tools.run.job import Job
from tools.tests.supervision_cases import (
    FAST,
    RAW_TRACEBACK,
    RELU_BACKWARD,
    STARTUP,
    append,
    assert_all_fail,
    assert_clean,
    before,
    build,
    gone,
    job,
    judge_live,
    replace,
    run_cli,
    show,
    spawner,
    start_until_written,
)

# ---------------------------------------------------------------------------------------------
# Nothing outlives a run


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc; process groups and sub-reapers as on Linux")
def test_processes_started_by_kata_code_end_with_the_run(tmp_path):
    pids = tmp_path / "pids.txt"
    root = build(tmp_path, "relu", before(RELU_BACKWARD, spawner(pids)))
    run = judge_live([Job(("tests/test_relu.py::test_on_the_tutorial_inputs",), root=root)], tmp_path)
    started = [int(p) for p in pids.read_text().split()]
    assert len(started) == 4, started
    left = gone(started, within=5)
    assert not left, f"processes started by kata code outlived the run: {left} ({run.outcomes})"


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc; process groups as on Linux")
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_supervisor_killed_takes_its_worker_and_folders_with_it(tmp_path, how):
    pids, temporary = tmp_path / "pids.txt", tmp_path / "tmp"
    temporary.mkdir()
    code = spawner(pids) + f"\nopen({str(pids)!r}, 'a').write(f'{{__import__(\"os\").getpid()}}\\n')\nimport time\n"
    root = build(tmp_path, "relu", before(RELU_BACKWARD, code + "time.sleep(1000)"))
    env = {**os.environ, "KATA_ROOT": str(root), "KATA_TRACK": "katas", "TMPDIR": str(temporary)}
    supervisor = start_until_written(["tools.runner", "tests/test_relu.py", "--kata-timeout", "60"], env, pids, 5)
    try:
        started = [int(p) for p in pids.read_text().split()]
        assert len(started) == 5 and any(temporary.iterdir()), (started, list(temporary.iterdir()))
        supervisor.send_signal(how)
        supervisor.wait(20)
        left = gone(started, within=5)
        assert not left, f"processes outlived their supervisor ({how.name}): {left}"
        assert not list(temporary.iterdir()), f"temporary folders left: {list(temporary.iterdir())}"
    finally:
        with contextlib.suppress(OSError):
            os.killpg(supervisor.pid, signal.SIGKILL)


@pytest.mark.skipif(sys.platform != "linux", reason="the memory ceiling is RLIMIT_DATA, enforced on Linux")
def test_a_test_that_allocates_without_end_is_one_line_about_memory(tmp_path):
    root = build(
        tmp_path,
        "relu",
        before(RELU_BACKWARD, "hoard = []\nwhile True:\n    hoard.append(torch.empty(2**28))  # 1 GB, never touched"),
    )
    run = judge_live([Job(("tests/test_relu.py::test_on_the_tutorial_inputs",), root=root)], tmp_path)
    (outcomes,) = run.outcomes
    assert_all_fail(outcomes, blame=2)
    assert f"used more than {processes.MEMORY_GB} GB of memory" in outcomes[0].message, outcomes[0].message
    assert_clean(outcomes, run.live)


# ---------------------------------------------------------------------------------------------
# Blame by the earlier kata's own tests


def test_a_later_failure_is_blamed_on_an_earlier_kata_that_fails_its_own_tests(tmp_path):
    """Gradients that pile up across calls (a kata-7 mistake that only kata 7's own tests see) fail kata 8's
    training; each failure is sent to kata 7, naming the test of kata 7 that fails, and nothing blames kata 8."""
    root = build(
        tmp_path,
        "model",
        replace(
            "self.grads.update(W1=dW1, b1=db1, W2=dW2, b2=db2)",
            "for key, grad in dict(W1=dW1, b1=db1, W2=dW2, b2=db2).items():\n"
            "            self.grads[key] = self.grads[key] + grad",
        ),
    )
    run = judge_live([job(root, 8)], tmp_path, timeout=10)
    (outcomes,) = run.outcomes
    failed = [o for o in outcomes if not o.passed]
    assert failed, f"kata 8's tests should fail with such a model:\n{show(outcomes)}"
    wrong = [o for o in failed if o.blame != 7]
    assert not wrong, f"every failure should be blamed on kata 7:\n{show(wrong)}"
    for o in failed:
        assert o.message.startswith("kata-8 (train) needs kata-7 (model): it fails its own test `test_"), o.message
    assert_clean(outcomes, run.live)


def test_a_wait_in_python_is_stopped_on_the_clock_and_said_to_be_a_wait(tmp_path):
    root = build(tmp_path, "relu", before(RELU_BACKWARD, "import time\nwhile True:\n    time.sleep(0.01)"))
    run = judge_live([Job(("tests/test_relu.py::test_on_the_tutorial_inputs",), root=root)], tmp_path)
    (outcomes,) = run.outcomes
    assert_all_fail(outcomes, blame=2)
    message = outcomes[0].message
    assert "in relu_backward" in message and "waits for something" in message, message
    assert "endless loop" not in message, f"a wait is not an endless loop: {message}"
    assert run.seconds < FAST * WALL_FACTOR + STARTUP, f"the run took {run.seconds:.1f} s"
    assert_clean(outcomes, run.live)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork")
def test_a_process_forked_by_correct_code_may_end_with_os_exit(tmp_path):
    """Correct code that forks a child which ends with os._exit (as multiprocessing's fork does) passes."""
    root = build(tmp_path, "relu", before(RELU_BACKWARD, "import os\nif os.fork() == 0:\n    os._exit(0)\nos.wait()"))
    run = judge_live([Job(("tests/test_relu.py::test_on_the_tutorial_inputs",), root=root)], tmp_path)
    (outcomes,) = run.outcomes
    assert [o.passed for o in outcomes] == [True], show(outcomes)
    assert run.seconds < STARTUP + 10, f"the run took {run.seconds:.1f} s"


def test_kata_code_that_removes_the_runs_folder_leaves_the_verdicts_true(tmp_path, monkeypatch):
    """The channel to the supervisor does not depend on the run's folder staying where it was: each end
    holds its events file open from before kata code runs. Two jobs: the second pytest run in the same
    worker starts after the folder is gone."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))  # the workers, and the kata code in them, look only here
    monkeypatch.setattr("tempfile.tempdir", str(temporary))
    remove = "import glob, shutil, tempfile\nfor _p in glob.glob(tempfile.gettempdir() + '/kata-*'):\n"
    root = build(tmp_path / "tree", "relu", append(remove + "    shutil.rmtree(_p)\n"))
    run = judge_live([job(root, 2), job(root, 1)], tmp_path)
    relu, affine = run.outcomes
    assert relu and all(o.passed for o in relu), show(relu)
    assert affine and all(o.passed for o in affine), show(affine)
    assert RAW_TRACEBACK not in run.live and "INTERNALERROR" not in run.live, run.live[-3000:]


@pytest.mark.skipif(sys.platform != "linux", reason="sends SIGINT, as Ctrl-C in a terminal does; reads /proc")
@pytest.mark.parametrize("command", [["tools.runner", "tests/test_relu.py"], ["tools.instructor.grade", "--out", "R"]])
def test_ctrl_c_stops_a_command_with_one_line(tmp_path, command):
    """Ctrl-C during a run (here while a test waits): one line, the shell's status 130, no worker left."""
    pids = tmp_path / "pids.txt"
    code = f"open({str(pids)!r}, 'a').write(f'{{__import__(\"os\").getpid()}}\\n')\nimport time\ntime.sleep(1000)"
    root = build(tmp_path / "tree", "relu", before(RELU_BACKWARD, code))
    args = [str(tmp_path / a) if a == "R" else a for a in command]
    env = {**os.environ, "KATA_ROOT": str(root), "KATA_TRACK": "katas", "KATA_TIMEOUT": "60"}
    process = start_until_written(args, env, pids, 1, read=True)
    try:
        assert pids.exists(), "the test never reached the kata's code"
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    finally:
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
    text = out.decode("utf-8", errors="replace")
    assert process.returncode == 130, (process.returncode, text[-2000:])
    assert text.rstrip().endswith("Stopped (Ctrl-C).") and RAW_TRACEBACK not in text, text[-2000:]
    left = gone([int(p) for p in pids.read_text().split()], within=5)
    assert not left, f"workers outlived Ctrl-C: {left}"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_worker_that_pauses_itself_is_ended_at_once_with_its_reason(tmp_path):
    """SIGSTOP to itself: the test process would sit out its whole time limit (2 x 60 s here), test after test."""
    root = build(tmp_path, "relu", before(RELU_BACKWARD, "import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)"))
    tests = ("test_on_the_tutorial_inputs", "test_float32_and_mixed_signs_of_dout")
    run = judge_live([Job(tuple(f"tests/test_relu.py::{t}" for t in tests), root=root)], tmp_path, timeout=60)
    (outcomes,) = run.outcomes
    assert len(outcomes) == 2, show(outcomes)
    assert_all_fail(outcomes, blame=2)
    for o in outcomes:
        assert "paused while this test ran" in o.message and "SIGSTOP" in o.message, o.message
    assert run.seconds < 2 * STARTUP, f"{run.seconds:.0f} s: a paused worker waited for its deadline"
    assert_clean(outcomes, run.live)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_signals_that_kata_code_sends_its_supervisor_do_not_end_the_run(tmp_path):
    """Each of these would end the supervisor without a word; the verdict must still come, and be true."""
    send = (
        "import os, signal\nfor _s in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM):\n    os.kill(os.getppid(), _s)"
    )
    alarm = "assert signal.getsignal(signal.SIGALRM) == signal.SIG_DFL, 'kata code gets the defaults'"
    root = build(tmp_path, "relu", before(RELU_BACKWARD, send + "\n" + alarm))
    code, out, _ = run_cli(root, ["tests/test_relu.py"], limit=STARTUP * 3)
    assert code == 0 and "passes every test" in out, (code, out[-2000:])


@pytest.mark.skipif(sys.platform != "linux", reason="the supervisor reads a worker's resident memory in /proc")
def test_shared_memory_that_grows_without_end_is_one_line_about_memory(tmp_path, monkeypatch):
    """mmap(MAP_SHARED) is not counted by RLIMIT_DATA: the supervisor ends a worker that holds too much."""
    monkeypatch.setattr(processes, "MEMORY_GB", 1.5)  # the ceiling, kept small to spare the machine
    hoard = (
        "import mmap\nhoard = []\nwhile True:\n"
        "    hoard.append(mmap.mmap(-1, 2**27, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS))\n"
        "    hoard[-1].write(b'1' * 2**27)"
    )
    root = build(tmp_path, "relu", before(RELU_BACKWARD, hoard))
    run = judge_live([Job(("tests/test_relu.py::test_on_the_tutorial_inputs",), root=root)], tmp_path, timeout=60)
    (outcomes,) = run.outcomes
    assert_all_fail(outcomes, blame=2)
    assert "used more than 1.5 GB of memory" in outcomes[0].message, outcomes[0].message
    assert_clean(outcomes, run.live)


def test_the_header_names_the_tree_judged_when_it_is_another(tmp_path):
    root = tmp_path
    stubs.write_package(root / "katas", stubbed=())
    code, out, _ = run_cli(root, ["tests/test_relu.py"], limit=STARTUP * 3)
    assert code == 0 and f"judging: {(root / 'katas').as_posix()}/ (KATA_ROOT) (your code)" in out, out[-2000:]
