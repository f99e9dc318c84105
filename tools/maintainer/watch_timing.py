"""Time `nox -s watch` from a file save to the verdict on screen, the way a learner meets it.

    python -m tools.maintainer.watch_timing [KATA ...] [--saves N] [--poll]     (defaults: katas 1 4 7 9, 10 saves)

For each kata: a tree holds the reference with that kata's first bug-zoo mistake (so its tests run
in full and fail, with diagnoses); the watch runs on it without a terminal; each save rewrites
the kata file, and the time is taken from the write to the progress bar the watch prints after
the verdict. Prints the median and the spread per kata.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tools import stubs
from tools.maintainer import bugzoo
from tools.manifest import ROOT, command, parse_number


class Watching:
    """A running watch, with the lines it printed so far."""

    def __init__(self, root: Path, *args: str) -> None:
        env = dict(os.environ, KATA_ROOT=str(root), PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tools.learner.watch", "--kata-timeout", "2", *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
        )
        self.lines: list[str] = []
        self.read = 0
        self.arrived = threading.Condition()  # told of each line as it comes: the time taken is not rounded up
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self.arrived:
                self.lines.append(line.rstrip("\n"))
                self.arrived.notify_all()

    def expect(self, pattern: str, within: float = 60) -> str:
        """Wait for a line matching pattern after the ones already read; return it."""
        end = time.monotonic() + within
        while time.monotonic() < end:
            with self.arrived:
                for i in range(self.read, len(self.lines)):
                    if re.search(pattern, self.lines[i]):
                        self.read = i + 1
                        return self.lines[i]
                if self.process.poll() is not None and self.read >= len(self.lines):
                    break
                self.arrived.wait(timeout=0.5)  # woken by the next line; the timeout only notices an exit
        tail = "\n".join(self.lines[-40:])
        raise AssertionError(f"no line matching {pattern!r} within {within} s; the watch printed:\n{tail}")

    def stop(self) -> str:
        if self.process.poll() is None:
            if os.name == "nt":  # no SIGINT for a child on Windows
                self.process.terminate()
            else:
                self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return "\n".join(self.lines)


def time_saves(module: str, saves: int, poll: bool) -> list[float]:
    mistake = next(m for m in bugzoo.load() if m.kata.module == module)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        stubs.write_package(root / "katas", stubbed=())
        path = root / "katas" / f"{module}.py"
        wrong = mistake.apply(path.read_text(encoding="utf-8"))
        path.write_text(wrong, encoding="utf-8")
        watch = Watching(root, "--kata", module, *(["--poll"] if poll else []))
        try:
            watch.expect(r"katas done", within=120)
            times = []
            for i in range(saves):
                time.sleep(0.5)  # a learner does not save twice within half a second
                start = time.perf_counter()
                path.write_text(f"{wrong}\n# save {i}\n", encoding="utf-8")
                watch.expect(r"katas done", within=60)
                times.append(time.perf_counter() - start)
            return times
        finally:
            watch.stop()


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.maintainer.watch_timing", description=__doc__.splitlines()[0]
    )
    parser.add_argument("katas", nargs="*", default=["1", "4", "7", "9"])
    parser.add_argument("--saves", type=int, default=10)
    parser.add_argument("--poll", action="store_true")
    args = parser.parse_args(argv)
    for name in args.katas:
        kata = parse_number(name)
        times = sorted(time_saves(kata.module, args.saves, args.poll))
        print(
            f"{kata.label:<26} save -> verdict: median {statistics.median(times):.2f} s "
            f"(from {times[0]:.2f} to {times[-1]:.2f} s, {len(times)} saves)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
