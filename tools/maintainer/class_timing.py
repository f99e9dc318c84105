"""Time grading a whole class against grading its students one at a time, and check that both give the same points.

    python -m tools.maintainer.class_timing [--students 200] [--alone-every 10] [--workers N] [--seed 0] [--keep DIR]

Makes a class (tools/maintainer/make_class.py: stubs, right answers, half-done, the bug zoo's mistakes, broken
submissions), grades it as `nox -s grade -- --class DIR` does (python -m tools.instructor.classroom), then grades
every k-th judgeable student alone, as `nox -s grade` grades one copy (python -m tools.instructor.grade, KATA_ROOT
on the student's unpacked katas/). Prints the seconds on the clock and the processor seconds (every process
included) of each, per student and per student per core, and every kata whose points differ between the two
(none should). Exit status 1 when some differ.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools.cli import Parser
from tools.instructor import submissions
from tools.manifest import ROOT, command


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run a command here; (seconds on the clock, processor seconds of it and every process it waited for)."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(argv, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return time.perf_counter() - start, cpu


def main_in(work: Path, students: int, every: int, workers: int, seed: int) -> int:
    class_dir, out = work / "class", work / "class-grading"
    python = sys.executable
    subprocess.run(
        [python, "-m", "tools.maintainer.make_class", str(class_dir), "--students", str(students), "--seed", str(seed)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall, cpu = timed(
        [
            python,
            "-m",
            "tools.instructor.classroom",
            "--class",
            str(class_dir),
            "--out",
            str(out),
            "--workers",
            str(workers),
        ]
    )
    graded = json.loads((out / "class.json").read_text(encoding="utf-8"))["students"]
    print(
        f"class of {students}, {workers} workers: {wall:.0f} s on the clock, {cpu:.0f} processor seconds; per student "
        f"{wall / students:.2f} s on the clock, {wall * workers / students:.2f} s per core, {cpu / students:.2f} "
        "processor seconds",
        flush=True,
    )
    chosen = [s for s in submissions.find(class_dir, work / "alone-work") if s.judgeable][::every]
    differ: list[str] = []
    walls, cpus = [], []
    for s in chosen:
        report = work / "alone" / s.name
        env = {k: v for k, v in os.environ.items() if k not in ("KATA_ROOT", "KATA_TRACK")}
        one_wall, one_cpu = timed(
            [python, "-m", "tools.instructor.grade", "--out", str(report)], env={**env, "KATA_ROOT": str(s.root)}
        )
        walls.append(one_wall)
        cpus.append(one_cpu)
        alone = {str(k["kata"]): k["points"] for k in json.loads((report / "grade.json").read_text())["by_kata"]}
        in_class = graded[s.name]["katas"]
        differ += [
            f"{s.name} kata-{n}: alone {p}, in the class {in_class.get(n)}"
            for n, p in alone.items()
            if in_class.get(n) != p
        ]
    if chosen:
        print(
            f"{len(chosen)} of them alone, one after another (every {every}th judgeable student): "
            f"{sum(walls) / len(walls):.2f} s on the clock and {sum(cpus) / len(cpus):.2f} processor seconds each "
            f"(from {min(walls):.1f} to {max(walls):.1f} s)",
            flush=True,
        )
    print("\n".join(differ) if differ else f"points alone and in the class: the same for all {len(chosen)}")
    return 1 if differ else 0


@command
def main(argv: list[str]) -> int:
    parser = Parser(prog="python -m tools.maintainer.class_timing", description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--alone-every", type=int, default=10, metavar="K", help="grade every K-th student alone too")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, metavar="DIR", help="work in DIR (new or empty) and keep it")
    args = parser.parse_args(argv)
    if args.students < 1 or args.alone_every < 1 or args.workers < 1:
        parser.error("--students, --alone-every and --workers take 1 or more")
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        return main_in(args.keep.resolve(), args.students, args.alone_every, args.workers, args.seed)
    with tempfile.TemporaryDirectory(prefix="class-timing-") as tmp:
        return main_in(Path(tmp), args.students, args.alone_every, args.workers, args.seed)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
