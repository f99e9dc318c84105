"""A class's progress in a terminal: rich's bar when stdout is one, nothing otherwise (a log gets the summary)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress(total: int, live: bool) -> Iterator[Callable[[str], None]]:
    """advance(name) after each student judged; a bar with the count, the rate and the time left when live."""
    if not live or not total:
        yield lambda name: None
        return
    try:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    except ImportError:  # rich is no declared dependency (another package brings it): a one-line counter then
        yield _counter(total)
        return
    columns = (
        TextColumn("grading"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[last]}"),
    )
    # No refresh thread: workers are forked from this process, and a thread holding stdout's lock at a fork would
    # leave it locked in the worker. The bar is drawn again at each student instead.
    with Progress(*columns, transient=True, auto_refresh=False) as bar:
        task = bar.add_task("grading", total=total, last="")
        bar.refresh()

        def advance(name: str) -> None:
            bar.update(task, advance=1, last=name)
            bar.refresh()

        yield advance


def _counter(total: int) -> Callable[[str], None]:
    done = [0]

    def advance(name: str) -> None:
        done[0] += 1
        print(f"\rgraded {done[0]} of {total}: {name[:40]:<40}", end="" if done[0] < total else "\n", flush=True)

    return advance
