"""Time a warm `nox -s kata-N` against plain pytest on the same files, pair by pair, and print the ratios.

python tools/maintainer/warm_run.py [N] [ROUNDS]      (defaults: kata 3, 10 rounds; run it after one `nox -s kata-N`)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tools.manifest import ROOT, by_number, command


@command
def main(argv: list[str]) -> int:
    kata = by_number(int(argv[0]) if argv else 3)
    rounds = int(argv[1]) if len(argv) > 1 else 10
    python = ROOT / ".nox" / "shared" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    commands = {
        f"nox -s kata-{kata.number}": [sys.executable, "-m", "nox", "-s", f"kata-{kata.number}"],
        "python -m pytest": [str(python), "-m", "pytest", "--track", "katas", "-rN", kata.test_file],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, words in commands.items():
            start = time.perf_counter()
            subprocess.run(words, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            times[name].append(time.perf_counter() - start)
    for name, values in times.items():
        print(f"{name:<22} median {statistics.median(values):.2f} s over {rounds} runs")
    nox_times, pytest_times = times.values()
    ratios = sorted(a / b for a, b in zip(nox_times, pytest_times))
    print(f"nox / pytest per pair: median {statistics.median(ratios):.2f}, from {ratios[0]:.2f} to {ratios[-1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
