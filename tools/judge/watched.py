"""Which katas' code runs in the kata process, and a stop for a function known to loop forever.

While a request runs kata code, a tracer sees each Python function called. It notes the kata whose file the
function is in (the test's `ran`: an earlier kata is blamed only if its code ran), and it refuses a function
that already ran past a test's limit (quarantined: `hung`).

A tracer costs every call it sees, torch's own Python included: kata 8's training on the digits (the largest
part of a class's kata code) took 1.11 times as long traced as not (the reference, 7 pairs alternating, median;
1.04 to 1.27). So, with nothing quarantined, it watches only while it can still learn something. Once every
kata loaded in the process has run in this test, it steps aside. It comes back when kata code imports a kata
not loaded yet, whose functions could then run for the first time.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tools.judge import limits
from tools.manifest import by_module, katas


class Watch:
    """The kata process's watch over the package of one track (katas/ or solutions/)."""

    def __init__(self, package_dir: Path, track: str) -> None:
        self.package_dir, self.prefix = package_dir, f"{track}."
        self.files: dict[str, int | None] = {}  # a code object's file -> its kata's number (None: not a kata's)
        self.resume: Callable[[], None] | None = None  # set while a request runs with the tracer stepped aside
        sys.meta_path.insert(0, _KataImports(self))

    def kata_of_file(self, filename: str) -> int | None:
        number = self.files.get(filename, -1)
        if number == -1:
            path = Path(filename)
            kata = by_module(path.stem) if path.parent == self.package_dir else None
            number = self.files[filename] = kata.number if kata else None
        return number

    def loaded(self) -> set[int]:
        """The katas whose modules are imported here: the only ones whose functions can run."""
        return {k.number for k in katas() if self.prefix + k.module in sys.modules}

    @contextlib.contextmanager
    def watching(self, ran: set[int], hung: dict[tuple[str, str], str]) -> Iterator[None]:
        """Note in ran which katas' functions run in the block; stop at once a function of hung."""
        files, lookup, loaded = self.files, self.kata_of_file, self.loaded  # (the tracer runs at every call)

        def tracer(frame: Any, event: str, arg: Any) -> None:
            code = frame.f_code
            number = files.get(code.co_filename, -1)
            if number == -1:
                number = lookup(code.co_filename)
            if number is None or code.co_name == "<module>":
                return
            if number not in ran:
                ran.add(number)
                if not hung and ran >= loaded():  # nothing left to learn in this test: step aside
                    self.resume = resume
                    sys.settrace(None)
            if hung:
                message = hung.get((code.co_filename, code.co_name))
                if message:
                    raise limits.Stopped(message)

        def resume() -> None:
            self.resume = None
            sys.settrace(tracer)

        aside = not hung and ran >= loaded()
        previous = sys.gettrace()
        self.resume = resume if aside else None
        sys.settrace(None if aside else tracer)
        try:
            yield
        finally:
            self.resume = None
            sys.settrace(previous)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """No watching in the block (an import: a module's top level is not the kata's code running). After it,
        the tracer watches again if it had stepped aside: the block may have loaded a kata."""
        resume, self.resume = self.resume, None
        previous = sys.gettrace()
        sys.settrace(None)
        try:
            yield
        finally:
            sys.settrace(previous)
            if resume is not None:
                resume()


class _KataImports(importlib.abc.MetaPathFinder):
    """Asked first for every module not imported yet: a kata's, while the tracer has stepped aside, calls it back.
    It finds nothing itself (the usual finders import the module)."""

    def __init__(self, watch: Watch) -> None:
        self.watch = watch

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        resume = self.watch.resume
        if resume is not None and name.startswith(self.watch.prefix):
            resume()
        return None
