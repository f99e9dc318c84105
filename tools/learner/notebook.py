"""What notebooks/explore.ipynb (or any notebook) imports: check(N), and sections that wait for their kata.

    from tools.learner.notebook import check
    check(3)          # kata 3's tests on katas/, judged as `nox -s kata-3` judges them, printed in the cell

check(N) calls the supervisor's own command line, `python -m tools.runner --track katas -rN
tests/test_<kata>.py` (tools/runner.py's main, so runner.run and the same printing), and shows
everything it prints, the worker's output included, in the cell, in order: a notebook cell shows
what Python prints, not what a child process writes to the terminal the kernel was started from.

    kata = package(REFERENCE)      # katas/ (freshly imported: your last save counts), or solutions/
    with section(8):               # a stub's NotImplementedError prints its kata's message, no traceback
        history = kata.train_model(...)
    if ready(history, 8):          # False (saying why) when the section it needs did not run
        ...
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import sys
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any, TextIO

from tools.manifest import by_number, katas, parse_number


def runner_args(number: int) -> list[str]:
    """The arguments `nox -s kata-N` gives `python -m tools.runner` (noxfile.py's learner sessions)."""
    return ["--track", "katas", "-rN", by_number(number).test_file]


def run_check(kata: int | str, out: TextIO | None = None) -> int:
    """Judge one kata as `nox -s kata-N` does, writing what it prints to `out` (sys.stdout); its exit status.

    A kata that does not exist gets one line saying which do, and status 2."""
    out = out or sys.stdout
    try:
        number = parse_number(str(kata)).number
    except ValueError as error:
        out.write(f"check({kata!r}): {error}\n")
        return 2
    from tools import runner

    with _captured(out):
        try:
            return runner.main(runner_args(number))
        except SystemExit as error:  # argparse or a worker's exit: report its status like a command would
            return error.code if isinstance(error.code, int) else 1


def check(kata: int | str) -> None:
    """Run kata N's tests on your katas/ code and print the verdict, as `nox -s kata-N` does: check(3)."""
    run_check(kata)


@contextlib.contextmanager
def _captured(out: TextIO) -> Iterator[None]:
    """Send this process's file descriptors 1 and 2 (the worker inherits them) and sys.stdout / sys.stderr
    through one pipe into `out`, in the order they were written."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    read_end, write_end = os.pipe()
    saved = os.dup(1), os.dup(2)
    chunks: list[bytes] = []

    def forward() -> None:
        with os.fdopen(read_end, "rb", buffering=0) as pipe:
            while data := pipe.read(4096):
                chunks.append(data)
                text = b"".join(chunks).decode("utf-8", errors="replace")
                if not text.endswith("\ufffd"):  # a multi-byte character may be cut in two
                    chunks.clear()
                    out.write(text)
                    with contextlib.suppress(Exception):
                        out.flush()

    reader = threading.Thread(target=forward, daemon=True)
    reader.start()
    writer = io.TextIOWrapper(os.fdopen(os.dup(write_end), "wb", buffering=0), encoding="utf-8", line_buffering=True)
    try:
        os.dup2(write_end, 1)
        os.dup2(write_end, 2)
        with contextlib.redirect_stdout(writer), contextlib.redirect_stderr(writer):
            yield
    finally:
        writer.flush()
        writer.close()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, write_end):
            os.close(fd)
        reader.join()
        if chunks:
            out.write(b"".join(chunks).decode("utf-8", errors="replace"))


def package(reference: bool = False) -> ModuleType:
    """katas (your code) or, with reference=True, solutions, imported afresh so that your last save counts."""
    name = "solutions" if reference else "katas"
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[module]
    return importlib.import_module(name)


@contextlib.contextmanager
def section(*needs: int) -> Iterator[None]:
    """Run a cell's code; when a kata it calls is still a stub, print that kata's own message (no traceback)."""
    try:
        yield
    except NotImplementedError as error:
        from tools.learner.train import unfinished

        wanted = ", ".join(f"kata {n} ({by_number(n).name})" for n in needs)
        print(f"This section needs {wanted} and cannot run yet: {unfinished(error)}")
        number = next((k.number for k in katas() if f"kata-{k.number} " in f"{error} "), needs[-1] if needs else 0)
        if number:
            print(f"When it is written, `check({number})` judges it; then run this cell again.")


def ready(value: Any, *needs: int) -> bool:
    """True when value (what an earlier section made) exists; otherwise say which kata the section waits for."""
    if value is not None:
        return True
    wanted = ", ".join(f"kata {n} ({by_number(n).name})" for n in needs)
    print(f"This section needs {wanted}: an earlier section that it builds on did not run (see its message).")
    return False
