"""What the supervision tests (tools/tests/test_supervision_*.py) share: the reference's lines they anchor on, a
broken tree built from the reference, a live supervised run of it, the verdict read back, and the processes
kata code started, looked up in /proc."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tools import stubs
from tools.manifest import ROOT, by_number
from tools.record import Outcome
from tools.run import supervisor
from tools.run.job import Job

FAST = 2.0  # --kata-timeout for every case that does not need the default
STARTUP = 20.0  # generous seconds for a new worker to import torch and pytest on a busy 2-core machine
RAW_TRACEBACK = "Traceback (most recent call last)"

# Lines of the reference that the edits below anchor on (each occurs once in its file).
RELU_FORWARD = "    out = x.clamp(min=0)\n    return out, x\n"
RELU_BACKWARD = "    x = cache\n"
AFFINE_FORWARD = "    out = torch.addmm(b, x, W.T)  # b + x W^T in one product\n"
RELU_IMPORTS = "from torch import Tensor\n"


# ---------------------------------------------------------------------------------------------
# Helpers: build a broken tree, judge it live, read the verdict


Edit = Callable[[str], str]


def before(anchor: str, code: str) -> Edit:
    """An edit that inserts code, indented like anchor, just before it."""
    indent = anchor[: len(anchor) - len(anchor.lstrip())]
    lines = "".join(f"{indent}{line}\n" for line in code.splitlines())
    return lambda text: text.replace(anchor, lines + anchor, 1)


def replace(old: str, new: str) -> Edit:
    return lambda text: text.replace(old, new, 1)


def append(code: str) -> Edit:
    return lambda text: text + "\n" + code


def build(root: Path, module: str, edit: Edit | bytes | str, stubbed: Sequence[str] = ()) -> Path:
    """root holding the reference as a `katas` package (or stubs for `stubbed`), with katas/<module>.py broken."""
    stubs.write_package(root / "katas", stubbed=stubbed)
    path = root / "katas" / f"{module}.py"
    if isinstance(edit, bytes):
        path.write_bytes(edit)
    elif isinstance(edit, str):
        path.write_text(edit, encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
        broken = edit(text)
        assert broken != text, f"the edit changed nothing in {path}: has the reference solutions/{module}.py moved on?"
        path.write_text(broken, encoding="utf-8")
    return root


def job(root: Path, *katas: int) -> Job:
    return Job.of([by_number(n) for n in katas], root=root)


@contextlib.contextmanager
def live_into(path: Path) -> Iterator[None]:
    """While the block runs, what a live run shows goes to path: its workers' fds 1 and 2, and sys.stdout."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    sink = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.dup2(sink, 1)
        os.dup2(sink, 2)
        with open(path, "a", encoding="utf-8") as text, contextlib.redirect_stdout(text):
            yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (sink, *saved):
            os.close(fd)


@dataclass
class Run:
    outcomes: list[list[Outcome]]  # per job
    live: str  # everything the run printed
    seconds: float


def judge_live(jobs: Sequence[Job], folder: Path, timeout: float = FAST) -> Run:
    """Judge the jobs with supervisor.run(live=True), as nox does, capturing what it prints and timing it."""
    log = folder / "live.txt"
    start = time.monotonic()
    with live_into(log):
        outcomes = supervisor.run(jobs, live=True, pytest_args=["--kata-timeout", f"{timeout:g}"])
    seconds = time.monotonic() - start
    return Run(outcomes, log.read_text(encoding="utf-8", errors="replace"), seconds)


def run_cli(root: Path, args: Sequence[str], limit: float) -> tuple[int | None, str, float]:
    """`python -m tools.runner ARGS` with KATA_ROOT=root: (exit code, its output, seconds).

    The exit code is None when it did not end within limit seconds: then it and its worker are killed.
    """
    env = {**os.environ, "KATA_ROOT": str(root), "KATA_TRACK": "katas"}
    env.pop("KATA_TIMEOUT", None)
    start = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.runner", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the worker goes with it below
    )
    try:
        out, _ = process.communicate(timeout=limit)
        code = process.returncode
    except subprocess.TimeoutExpired:
        if sys.platform == "win32":  # no process groups: end the runner and its workers as a tree
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(process.pid)], capture_output=True, check=False)
        else:
            os.killpg(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
        code = None
    return code, out.decode("utf-8", errors="replace"), time.monotonic() - start


def show(outcomes: Sequence[Outcome]) -> str:
    """The outcomes, one per line, for an assertion's message."""
    return "\n".join(
        f"  {o.test.split('::')[-1]}: {'passed' if o.passed else 'FAILED'} blame={o.blame} {o.message!r}"
        for o in outcomes
    )


def assert_clean(outcomes: Sequence[Outcome], live: str = "") -> None:
    """Case 13: no message carries a raw traceback, and the live output holds no INTERNALERROR."""
    assert outcomes, "the run reported no test at all"
    raw = [o for o in outcomes if RAW_TRACEBACK in o.message]
    assert not raw, f"a message holds a raw traceback:\n{show(raw)}"
    assert "INTERNALERROR" not in live, f"pytest had an internal error:\n{live[-3000:]}"


def assert_all_fail(outcomes: Sequence[Outcome], blame: int) -> None:
    passed = [o for o in outcomes if o.passed]
    assert not passed, f"no test should pass:\n{show(outcomes)}"
    wrong = [o for o in outcomes if o.blame != blame]
    assert not wrong, f"every failure should be blamed on kata {blame}:\n{show(wrong)}"


def one_line(message: str) -> str:
    """The message without the note hypothesis adds to a failing example (which is not a traceback), its
    indented continuation lines ("  Run `nox -s kata-1` first ...") joined to it."""
    return message.split("\nThe failing case:")[0].replace("\n  ", " ")


def assert_sentence(outcomes: Sequence[Outcome], label: str) -> None:
    """Each failure reads as one paragraph for a person: the kata's label, one line, no traceback."""
    for o in outcomes:
        if o.passed:
            continue
        text = one_line(o.message)
        assert text.startswith(f"{label}: "), f"{o.test}: the message should start with {label!r}: {o.message!r}"
        assert "\n" not in text and text.endswith("."), f"{o.test}: not one sentence: {o.message!r}"
        assert "Traceback" not in o.message and 'File "' not in o.message, f"{o.test}: a traceback: {o.message!r}"
        assert len(text) < 500, f"{o.test}: a long message ({len(text)} characters): {o.message!r}"


def only(outcomes: Sequence[Outcome], name: str) -> Outcome:
    found = [o for o in outcomes if o.test.endswith(f"::{name}")]
    assert len(found) == 1, f"expected one outcome for {name}:\n{show(outcomes)}"
    return found[0]


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie, ended but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def gone(pids: Sequence[int], within: float) -> list[int]:
    """The pids still alive after waiting up to `within` seconds for all to end."""
    end = time.monotonic() + within
    while time.monotonic() < end and any(alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


def spawner(pids: Path) -> str:
    """Kata code that starts a child, a grandchild, and a child that leaves the process group (setsid)."""
    return (
        "import subprocess, sys\n"
        f"out = open({str(pids)!r}, 'a')\n"
        "child = subprocess.Popen(['sleep', '1000'])\n"
        "escaped = subprocess.Popen(['sleep', '1001'], start_new_session=True)\n"
        "parent = subprocess.Popen(['sh', '-c', 'sleep 1002 & echo $!; wait'], stdout=subprocess.PIPE, text=True)\n"
        "grandchild = int(parent.stdout.readline())\n"
        "out.write(f'{child.pid} {escaped.pid} {parent.pid} {grandchild}\\n'); out.close()"
    )


def start_until_written(
    argv: Sequence[str], env: dict[str, str], pids: Path, count: int, read: bool = False
) -> subprocess.Popen:
    """Start `python -m argv` here, in a session of its own (os.killpg ends it all), and wait until kata code has
    written `count` pids into the file pids (at most STARTUP x 2 s). read: its output on a pipe, else thrown away."""
    process = subprocess.Popen(
        [sys.executable, "-m", *argv],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE if read else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if read else subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + STARTUP * 2
    while len(pids.read_text().split() if pids.exists() else []) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return process
