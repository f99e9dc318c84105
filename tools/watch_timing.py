"""Time `nox -s watch` from a file save to the verdict on screen, the way a learner meets it.

    python -m tools.watch_timing [KATA ...] [--saves N] [--poll]     (defaults: katas 1 4 7 9, 10 saves)

For each kata: a tree holds the reference with that kata's first bug-zoo mistake (so its tests run
in full and fail, with diagnoses); the watch runs on it without a terminal; each save rewrites
the kata file, and the time is taken from the write to the progress bar the watch prints after
the verdict. Prints the median and the spread per kata.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tools import bugzoo, stubs
from tools.manifest import parse_number
from tools.tests.test_watch import Watching


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.watch_timing", description=__doc__.splitlines()[0])
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
