"""`nox -s watch`: save a kata file, read its verdict; pass, and the next kata is waiting.

It starts at the first unfinished kata: its remembered verdict at once when none of its files changed
since it was judged, then a fresh one. It runs that kata's tests again each
time a file in katas/ is saved. When every test passes it says so, shows the progress bar and
moves on. torch and the tests are imported once: each run is a worker forked from this warm
process (Linux), or a fresh supervised process elsewhere; the learner's code always runs in the
worker, under the supervisor's time limit, so a crash or an endless loop is a verdict and the
watch goes on.

    python -m tools.learner.watch [--poll] [--kata N] [--interval SECONDS]

Keys, when the terminal is interactive: h hint (the next level at each press), l list,
r run again, n next kata, q quit. Without a terminal (piped, CI) it prints verdicts only.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tools import verdicts
from tools.cli import Parser
from tools.learner import hint, progress
from tools.manifest import ROOT, Kata, column, command, katas, parse_number
from tools.record import Outcome
from tools.run import supervisor, warm
from tools.run.advice import next_steps
from tools.run.job import Job
from tools.settings import SettingsError, resolve, seconds_argument


class Changes:
    """Tells whether a .py file in a folder changed since the last call: file events, or polling."""

    def __init__(self, folder: Path, poll: bool, interval: float) -> None:
        self.folder, self.interval = folder, interval
        self.seen = self.snapshot()
        self.events: list[str] = []
        self.next_poll = 0.0
        self.observer = None if poll else self._observe()
        self.how = "file events" if self.observer else f"polling every {interval:g} s"

    def snapshot(self) -> dict[str, tuple[int, int]]:
        found = {}
        for path in self.folder.glob("*.py"):
            with contextlib.suppress(OSError):
                stat = path.stat()
                found[path.name] = (stat.st_mtime_ns, stat.st_size)
        return found

    def _observe(self):
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:
            return None
        events = self.events

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event) -> None:
                events.append(str(getattr(event, "dest_path", "") or event.src_path))

        observer = Observer()
        try:
            observer.schedule(Handler(), str(self.folder), recursive=False)
            observer.start()
        except OSError:  # no inotify watches left, an unsupported file system ...
            return None
        return observer

    def changed(self) -> list[str]:
        """The names of the .py files that changed since the last call (empty when none did)."""
        if self.observer is not None and not self.events:
            return []
        if self.observer is None:  # polling: look at the files every `interval` seconds, no more often
            if time.monotonic() < self.next_poll:
                return []
            self.next_poll = time.monotonic() + self.interval
        self.events.clear()
        now = self.snapshot()
        names = sorted(name for name in set(now) | set(self.seen) if now.get(name) != self.seen.get(name))
        self.seen = now
        return names

    def close(self) -> None:
        if self.observer is not None:
            self.observer.stop()


@contextlib.contextmanager
def keys(interactive: bool) -> Iterator[Callable[[float], str | None]]:
    """A function waiting up to t seconds for one key press (None when none came)."""
    if not interactive:
        yield lambda t: time.sleep(t)  # type: ignore[func-returns-value]
        return
    if sys.platform == "win32":
        import msvcrt

        def read_windows(t: float) -> str | None:
            end = time.monotonic() + t
            while time.monotonic() < end:
                if msvcrt.kbhit():
                    return msvcrt.getwch()
                time.sleep(0.02)
            return None

        yield read_windows
        return
    import select
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)

    def read_posix(t: float) -> str | None:
        ready, _, _ = select.select([sys.stdin], [], [], t)
        return sys.stdin.read(1) if ready else None

    try:
        yield read_posix
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


# A warm run's pytest: lean (warm.LEAN), no summary of torch's warnings, and no word of the test modules being
# imported before pytest (the warm parent did it).
WARM = [*warm.LEAN, "--disable-warnings", "-W", "ignore::pytest.PytestAssertRewriteWarning"]


class Watch:
    def __init__(self, root: Path, interactive: bool, pytest_args: list[str]) -> None:
        self.root, self.interactive, self.pytest_args = root, interactive, pytest_args
        self.done: set[int] = set()
        self.hint_level: dict[int, int] = {}

    def judge(self, chosen: list[Kata], live: bool) -> list[Outcome]:
        """Run the chosen katas' tests (on screen when live); remember each kata's verdict."""
        if not live:  # what nothing has changed since it was judged need not run again
            remembered = {kata: verdicts.load(self.root, kata) for kata in chosen}
            for kata, outcomes in remembered.items():
                if outcomes is not None:
                    self.note(kata, outcomes)
            chosen = [kata for kata in chosen if remembered[kata] is None]
            if not chosen:
                return []
        job = Job.of(chosen, root=self.root if self.root != ROOT else None)
        options = [*WARM, *(["-q", "-rN"] if live else []), *self.pytest_args]
        (outcomes,) = supervisor.run([job], live=live, warm=True, pytest_args=options)
        for kata in chosen:
            mine = [o for o in outcomes if o.kata == kata]
            if not self.pytest_args:
                verdicts.store(self.root, kata, mine)
            self.note(kata, mine)
        return outcomes

    def note(self, kata: Kata, mine: list[Outcome]) -> None:
        if mine and all(o.passed for o in mine):
            self.done.add(kata.number)
        else:
            self.done.discard(kata.number)

    def first_unfinished(self, after: int = 0) -> Kata | None:
        later = [k for k in katas() if k.number > after and k.number not in self.done]
        return later[0] if later else next((k for k in katas() if k.number not in self.done), None)

    def bar(self) -> str:
        return progress.tally(self.done)

    def show(self, kata: Kata) -> bool:
        """Run one kata's tests with its output on screen; True when they all pass."""
        if self.interactive:
            print("\033[2J\033[H", end="")  # a clean screen for each verdict
        print(f"=== {kata.label}: {kata.path()} ===", flush=True)
        outcomes = self.judge([kata], live=True)
        passed = bool(outcomes) and all(o.passed for o in outcomes)
        lines = next_steps("katas", outcomes)
        if lines and not passed:
            print("\n".join(lines))
        print(self.bar(), flush=True)
        return passed

    def table(self) -> str:
        rows = [
            f"  [{'x' if k.number in self.done else ' '}] {column(k).rstrip()}{' (bonus)' if k.bonus else ''}"
            for k in katas()
        ]
        return "\n".join([*rows, self.bar()])


@command
def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="nox -s watch --", description=__doc__.splitlines()[0])
    parser.add_argument("--poll", action="store_true", help="poll the files instead of waiting for file events")
    parser.add_argument("--kata", help="start at this kata (a number or a name) instead of the first unfinished")
    parser.add_argument("--interval", type=float, default=0.3, help="seconds between polls (default 0.3)")
    parser.add_argument(
        "--kata-timeout",
        type=seconds_argument,
        help="seconds of processor time a test may use (default: the tests' own, 10, or $KATA_TIMEOUT)",
    )
    args = parser.parse_args(argv)
    try:
        settings = resolve("katas", args.kata_timeout)  # the watch judges katas/ only
    except SettingsError as error:
        parser.error(str(error))
    start = None
    if args.kata:
        try:
            start = parse_number(args.kata)
        except ValueError as error:
            parser.error(str(error))
    if args.interval <= 0:
        parser.error("--interval must be a positive number of seconds")
    root = settings.root
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    changes = Changes(root / "katas", args.poll, args.interval)
    print(remembered(root, start), end="", flush=True)  # before torch loads: what is known is shown at once
    if warm.CAN_FORK:  # elsewhere each run is a fresh process: nothing to load here
        print(f"Watching {root / 'katas'} ({changes.how}). Loading torch and the tests once ...", flush=True)
        warm.prepare_warm([k.test_file for k in katas()])
    else:
        print(f"Watching {root / 'katas'} ({changes.how}).", flush=True)
    watch = Watch(root, interactive, ["--kata-timeout", str(args.kata_timeout)] if args.kata_timeout else [])
    watch.judge(list(katas()), live=False)
    kata = start or watch.first_unfinished()
    try:
        with keys(interactive) as key:
            while kata is not None:
                passed = watch.show(kata)
                if passed:
                    following = watch.first_unfinished(after=kata.number)
                    on = (
                        f" On to {following.label}{', a bonus (optional)' if following.bonus else ''}."
                        if following
                        else ""
                    )
                    print(f"{kata.label} passes every test.{on}")
                    kata = following
                    continue
                if interactive:
                    print("h hint · l list · r run again · n next kata · q quit", flush=True)
                kata = wait(watch, kata, changes, key)
    except KeyboardInterrupt:
        print("\nWatch stopped (Ctrl-C).")
        return 130
    finally:
        changes.close()
    if not watch.done ^ {k.number for k in katas()}:
        print("All katas done. Train your network on real digits: `nox -s train`.")
    return 0


def remembered(root: Path, start: Kata | None) -> str:
    """The remembered verdict of the kata the watch will start at, when none of its files changed since it was
    judged (tools/verdicts.py, no torch needed): what the learner read last, shown while torch loads. "" when
    there is none."""
    known = {kata: verdicts.load(root, kata) for kata in katas()}
    done = {kata for kata, outcomes in known.items() if outcomes and all(o.passed for o in outcomes)}
    kata = start or next((k for k in katas() if k not in done), None)
    outcomes = known.get(kata) if kata else None
    if kata is None or not outcomes:
        return ""
    failing = [o for o in outcomes if not o.passed]
    if all(o.not_started for o in failing):
        failing = failing[:1]  # "not written yet", once
    lines = [f"=== {kata.label}: {kata.path()} (remembered: no file of it changed since) ==="]
    lines += [f"FAILED {o.test.split('::')[-1]}: {o.message.splitlines()[0]}" for o in failing[:5]]
    lines += next_steps("katas", outcomes) if failing else [f"{kata.label} passes every test."]
    lines.append(f"{progress.status(outcomes, kata.number)[0].capitalize()}. Judging it afresh ...")
    return "\n".join(lines) + "\n"


def wait(watch: Watch, kata: Kata, changes: Changes, key: Callable[[float], str | None]) -> Kata | None:
    """Wait for a save or a key; the kata to show next (None to quit)."""
    while True:
        pressed = key(0.02)  # a save is seen within 20 ms (file events: one look at a list; keys: one select)
        if changes.changed():
            for _ in range(50):  # an editor may write a file in two steps: on once 20 ms pass without a change
                time.sleep(0.02)
                if not changes.changed():
                    break
            return kata
        if pressed in ("q", "Q"):
            return None
        if pressed in ("r", "R"):
            return kata
        if pressed in ("n", "N"):
            return watch.first_unfinished(after=kata.number) or kata
        if pressed in ("l", "L"):
            print(watch.table(), flush=True)
        if pressed in ("h", "H"):
            level = watch.hint_level.get(kata.number, 0) + 1
            watch.hint_level[kata.number] = min(level, len(kata.hints))
            print(hint.text(kata, watch.hint_level[kata.number]), flush=True)


if __name__ == "__main__":
    sys.exit(main())
