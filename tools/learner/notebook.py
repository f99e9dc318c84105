"""What notebooks/explore.ipynb (or any notebook) imports: check(N), and sections that wait for their kata.

    from tools.learner.notebook import check
    check(3)          # kata 3's tests on katas/, judged as `nox -s kata-3` judges them, printed in the cell

check(N) calls the supervisor's own command line, `python -m tools.runner --track katas --remember
tests/test_<kata>.py` (tools/runner.py's main, so supervisor.run and the same printing), and shows
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
import importlib.util
import io
import os
import re
import sys
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any, TextIO

from tools.manifest import by_number, katas, parse_number


def runner_args(number: int) -> list[str]:
    """The arguments `nox -s kata-N` gives `python -m tools.runner` (noxfile.py's learner sessions)."""
    return ["--track", "katas", "--remember", by_number(number).test_file]


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

    # In a kernel, what the worker writes to file descriptor 1 never reaches the cell: send it through a pipe.
    # In a plain Python (a terminal, a script), descriptor 1 already is sys.stdout: nothing to capture.
    capture = out is not sys.stdout or not _is_fd1(sys.stdout)
    words = _InNotebookWords(out)
    try:
        with _captured(words) if capture else contextlib.nullcontext():
            return runner.main(runner_args(number))
    except SystemExit as error:  # argparse or a worker's exit: report its status like a command would
        return error.code if isinstance(error.code, int) else 1
    finally:
        words.flush()


def check(kata: int | str) -> None:
    """Run kata N's tests on your katas/ code and print the verdict, as `nox -s kata-N` does: check(3)."""
    run_check(kata)


def hint(kata: int | str, level: int = 1) -> None:
    """Show hint `level` (1, 2, 3) of a kata, as `nox -s hint -- N LEVEL` does: hint(3), hint(3, 2)."""
    from tools.learner import hint as hints

    if _is_fd1(sys.stdout):  # a terminal: nox is at hand, its commands are the ones to suggest
        hints.show([str(kata), str(level)])
        return
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        hints.show([str(kata), str(level)])
    print(notebook_words(said.getvalue()), end="")


def _is_fd1(stream: TextIO) -> bool:
    try:
        return stream.fileno() == 1
    except (AttributeError, OSError, ValueError):  # a kernel's stream has no descriptor of its own
        return False


COMMANDS = (
    (re.compile(r"`nox -s kata-(\d+)`"), r"`check(\1)`"),
    (re.compile(r"`nox -s hint -- (\d+) (\d+)`"), r"`hint(\1, \2)`"),
    (re.compile(r"`nox -s hint -- (\d+)`"), r"`hint(\1)`"),
)


def notebook_words(text: str) -> str:
    """The nox commands a message suggests, said as the notebook's calls: `nox -s kata-4` as `check(4)`."""
    for pattern, call in COMMANDS:
        text = pattern.sub(call, text)
    return text


def _names(needs: tuple[int, ...]) -> str:
    """'kata 4 (l2) and kata 7 (model)'."""
    names = [f"kata {n} ({by_number(n).name})" for n in needs]
    return " and ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " and " + names[-1]


class _InNotebookWords(io.TextIOBase):
    """Writes to `out`, line by line, with the nox commands said as notebook calls (notebook_words)."""

    def __init__(self, out: TextIO) -> None:
        self.out, self.pending = out, ""

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split("\n")
        for line in lines:
            self.out.write(notebook_words(line) + "\n")
        return len(text)

    def flush(self) -> None:
        if self.pending:  # a line still being written (pytest's progress dots): show what there is
            self.out.write(notebook_words(self.pending))
            self.pending = ""
        with contextlib.suppress(Exception):
            self.out.flush()


@contextlib.contextmanager
def _captured(out: TextIO | _InNotebookWords) -> Iterator[None]:
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
    if reference and importlib.util.find_spec("solutions") is None:
        print("REFERENCE = True: this student copy has no reference solutions, so your katas/ are used.")
        reference = False
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

        print(notebook_words(f"This section needs {_names(needs)} and cannot run yet: {unfinished(error, needs)}"))
        number = next((k.number for k in katas() if f"kata-{k.number} " in f"{error} "), needs[-1] if needs else 0)
        if number:
            print(f"When it is written, `check({number})` judges it; then run this cell again.")


def ready(value: Any, *needs: int) -> bool:
    """True when value (what an earlier section made) exists; otherwise say which kata the section waits for."""
    if value is not None:
        return True
    print(f"This section needs {_names(needs)}: an earlier section that it builds on did not run (see its message).")
    return False
