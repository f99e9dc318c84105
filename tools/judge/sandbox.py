"""What the kata process does with each request of the judge: import a kata, call its code, probe autograd.

The kata process (tools/judge/kata_process.py) holds one Sandbox, and nothing of the tests. Each request
runs as the judge ran kata code in its own process before: under the test's time limit (processor and
clock; a wait inside one C call is the judge's to end, after faulthandler has written where it was),
watching which katas' functions run and refusing one that already ran past its limit (watched.py), and
with torch's global settings checked after. Whatever kata code patches here (the judge's modules, pytest,
torch) stays here.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import signal
import sys
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from tools.judge import limits, wire
from tools.judge.watched import Watch
from tools.manifest import Kata, by_module, closure

OUTPUT_SENT = 200_000  # characters of output per answer at most; the rest is counted, not sent


@dataclass
class Config:
    """What the kata process needs to know, set once by the judge."""

    track: str
    root: str
    dump: str  # where faulthandler writes the traceback of a hard stop or a crash


class Recorded(Exception):
    """An error already turned into data (with what the judge needs to frame it)."""

    def __init__(self, record: dict[str, Any]) -> None:
        super().__init__(record.get("message", ""))
        self.record = record


@dataclass
class Sandbox:
    config: Config
    hung: dict[tuple[str, str], str] = field(default_factory=dict)  # (file, function) -> message
    unusable: dict[str, str] = field(default_factory=dict)  # kata module -> why its import cannot be used
    limit: float = 10.0  # processor seconds for the test's kata code
    cpu: float = 0.0  # used so far in this test
    wall: float = 0.0
    ran: set[int] = field(default_factory=set)
    world_change: list[str] = field(default_factory=list)
    unreported: list[dict[str, Any]] = field(default_factory=list)  # errors no caller saw (a __del__, a thread)
    baseline: dict[str, Any] = field(default_factory=dict)
    rng: bytes = b""
    output: list[tuple[Any, int]] = field(default_factory=list)  # capture file, offset read up to
    warned: list[list[Any]] = field(default_factory=list)  # [category, message, file, line] since the last answer
    forked: bool = False  # kata code forked during this request (os.register_at_fork, set by the kata process)
    watch: Watch = field(init=False)  # which katas' code runs; a stop for a quarantined function

    def __post_init__(self) -> None:
        self.watch = Watch(self.package_dir, self.config.track)

    @property
    def package_dir(self) -> Path:
        return Path(self.config.root) / self.config.track

    # -- what the judge says with each request, and what the answer says back ------------------

    def on_context(self, bridge: wire.Bridge, said: dict[str, Any]) -> None:
        begin = said.get("begin")  # a new test, said with its first request
        if type(begin) is list and len(begin) == 2:
            self.begin(bridge, *begin)
        if "grad" in said:
            torch.set_grad_enabled(bool(said["grad"]))
        rng = said.get("rng")
        if type(rng) is bytes and rng:
            torch.set_rng_state(torch.frombuffer(bytearray(rng), dtype=torch.uint8))
            self.rng = rng

    def report(self) -> dict[str, Any]:
        said: dict[str, Any] = {"ran": sorted(self.ran)}
        state = torch.get_rng_state().numpy().tobytes()
        if state != self.rng:
            said["rng"] = self.rng = state
        for name in ("out", "err"):
            text = self._read(name == "err")
            if text:
                said[name] = text
        if self.world_change:
            said["world"] = self.world_change[:]
            self.world_change.clear()
        if self.warned:
            said["warnings"], self.warned = self.warned, []
        said["used"] = [self.cpu, self.wall]
        threads = limits.others_threads()
        if threads:
            said["threads"] = threads
        return said

    def _read(self, err: bool) -> str:
        sys.stdout.flush() if not err else sys.stderr.flush()
        capture, offset = self.output[err]
        size = os.fstat(capture.fileno()).st_size
        if size == offset:  # nothing new (the usual case: one system call)
            return ""
        data = os.pread(capture.fileno(), 4 * OUTPUT_SENT + 1, offset)
        size = max(size, offset + len(data))
        self.output[err] = (capture, size)
        text = data.decode("utf-8", "replace")
        if size - offset > len(data) or len(text) > OUTPUT_SENT:
            cut = text[:OUTPUT_SENT]
            return cut + f"\n... and {size - offset - len(cut.encode()):,} more bytes of output not shown.\n"
        return text

    # -- the guard around every request ----------------------------------------------------------

    def guard(self, run: Callable[[], Any]) -> Any:
        left = self.limit - self.cpu
        wall_left = self.limit * limits.WALL_FACTOR - self.wall
        before = limits.world()
        caught: list[warnings.WarningMessage] = []
        try:
            with (
                limits.time_limit(max(left, 0.05), max(wall_left, 0.1)) as clock,
                warnings.catch_warnings(record=True) as caught,  # type: ignore[assignment]
            ):
                warnings.simplefilter("always")  # each one, to be said once per test by the judge
                try:
                    with self.watch.watching(self.ran, self.hung):  # innermost: the request, not this machinery
                        result = run()
                    if self.unreported:  # raised in a __del__ or a thread while it ran: the call failed
                        raise Recorded(self.unreported.pop(0))
                    return result
                except (limits.TimedOut, Recorded):
                    raise
                except BaseException as error:  # turned into data here, under the time limit (its __str__ is code)
                    raise Recorded(wire.error_record(error)) from None
        except limits.TimedOut as error:  # said for the whole test: its limit, and what all its calls used
            record = wire.error_record(error)
            used = {"cpu": self.cpu + clock.cpu, "wall": self.wall + clock.wall, "stopped_by": clock.stopped_by}
            record["clock"] = {"limit": self.limit, "wall_limit": self.limit * limits.WALL_FACTOR, **used}
            raise Recorded(record) from None
        finally:
            if self.forked:  # a process kata code forked ends with the request that made it (a fork that loops,
                self.forked = False  # made at every call, would otherwise pile up until the test ends)
                end_children()
            self.cpu += clock.cpu
            self.wall += clock.wall
            self.note(caught)
            changed = limits.changes(before, limits.world())
            if changed:
                self.world_change[:] = [changed, limits.was(before, changed)]
                limits.restore(before)

    def note(self, caught: list[warnings.WarningMessage]) -> None:
        """Keep the warnings raised while kata code ran (not those of the tests' own stand-ins or the judge)."""
        if not caught:  # the usual case, at every request
            return
        judge = (Path(self.config.root) / "tools", Path(self.config.root) / "tests")
        for w in caught[:100]:
            if not Path(w.filename).is_relative_to(judge[0]) and not Path(w.filename).is_relative_to(judge[1]):
                found = [w.category.__name__, str(w.message)[:500], str(w.filename), int(w.lineno or 0)]
                if found not in self.warned:
                    self.warned.append(found)

    # -- the operations ----------------------------------------------------------------------------

    def begin(self, bridge: wire.Bridge, limit: float, hung: list) -> None:
        """A new test: forget the last one's objects, restore torch's settings, a fresh time budget."""
        bridge.reset()
        end_children()
        limits.restore(self.baseline)
        self.limit, self.cpu, self.wall = float(limit), 0.0, 0.0
        self.ran = set()
        self.hung = {(str(self.package_dir / Path(f).name), fn): m for f, fn, m in hung}

    def package(self) -> Any:
        track = self.config.track
        if track not in sys.modules:
            init = self.package_dir / "__init__.py"
            spec = importlib.util.spec_from_file_location(track, init, submodule_search_locations=[str(init.parent)])
            assert spec is not None and spec.loader is not None, f"{init} is missing"
            module = importlib.util.module_from_spec(spec)
            sys.modules[track] = module
            spec.loader.exec_module(module)
        return sys.modules[track]

    def load(self, bridge: wire.Bridge, module: str) -> Any:
        """Import a kata module and, first, each kata it builds on, checking that none changes torch's settings.
        A failure is data: which kata, doing what, and whether that module is now unusable for the session."""
        kata = by_module(module)
        if kata is None:
            raise Recorded({"type": "LookupError", "ancestors": ["LookupError"], "message": module, "frames": []})
        track = self.config.track
        try:
            with self.watch.paused():
                self.package()
        except BaseException as error:
            doing = f"importing {track}/__init__.py"
            raise Recorded({**wire.error_record(error), "doing": doing, "kata": module}) from None
        for need in [*closure(kata), kata]:
            self._import(need)
        return sys.modules[f"{track}.{kata.module}"]

    def attribute(self, bridge: wire.Bridge, module: str, name: str) -> Any:
        """module.name, the module loaded first (load); a name it lacks is said as such ("missing")."""
        found = self.load(bridge, module)
        try:
            return getattr(found, name)
        except AttributeError:
            raise Recorded(
                {"type": "AttributeError", "ancestors": ["AttributeError"], "message": name, "frames": [], "missing": 1}
            ) from None

    def _import(self, need: Kata) -> None:
        track, name = self.config.track, f"{self.config.track}.{need.module}"
        stopped = self.hung.get((str(self.package_dir / f"{need.module}.py"), "<module>"))
        if stopped and need.module not in self.unusable:
            self.unusable[need.module] = stopped
        if name not in sys.modules and need.module not in self.unusable:
            before = limits.world()
            try:
                with self.watch.paused():
                    importlib.import_module(name)
                if self.unreported:  # the file's top level raised where no caller sees it: the import failed
                    raise Recorded({**self.unreported.pop(0), "kata": need.module})
            except Recorded:
                sys.modules.pop(name, None)
                raise
            except limits.TimedOut as error:
                frames = [
                    f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).parent == self.package_dir
                ]
                at = f" (stopped at {need.path(track)}:{frames[-1].lineno}: {(frames[-1].line or '').strip()})"
                self.unusable[need.module] = (
                    f"importing {need.path(track)} did not finish within the test's time limit: the code at the "
                    "top level of the file (outside any function) runs on import, and it does not end"
                    + (at if frames else "")
                )
            except limits.Stopped:
                raise
            except BaseException as error:  # SyntaxError, NameError at import time, sys.exit() ...
                sys.modules.pop(name, None)
                doing = f"importing {need.path(track)}"
                raise Recorded({**wire.error_record(error), "doing": doing, "kata": need.module}) from None
            changed = limits.changes(before, limits.world())
            if changed:
                limits.restore(before)
                self.unusable[need.module] = (
                    f"{need.path(track)} changed {changed} when imported: leave global settings alone "
                    "(no torch.set_... calls at the top of the file)"
                )
        if need.module in self.unusable:
            raise Recorded(
                {
                    "type": "Unusable",
                    "ancestors": [],
                    "message": self.unusable[need.module],
                    "frames": [],
                    "kata": need.module,
                    "unusable": True,
                }
            )

    def probe(self, bridge: wire.Bridge, fn: Any, leaves: list, others: list) -> dict[str, Any]:
        """Call fn on leaves that require grad, as torch.autograd runs a layer, and say whether its first result
        stays in autograd's graph, with the gradients autograd gives each input (None where unreached)."""
        with torch.enable_grad():
            result = fn(*leaves)
            got = result[0] if isinstance(result, tuple) and tuple.__len__(result) else result  # (not its own len)
            found: dict[str, Any] = {"result": result}
            if not isinstance(got, torch.Tensor):
                return found
            inputs = [a for a in leaves if isinstance(a, torch.Tensor) and a.requires_grad] + list(others)
            found.update(grad_fn=got.grad_fn is not None, requires_grad=got.requires_grad)
            found["is_input"] = any(got is a for a in inputs)
            if got.requires_grad and inputs:
                dout = reference_dout(got)
                found["grads"] = list(torch.autograd.grad(got, inputs, grad_outputs=dout, allow_unused=True))
        return found

    def call_and_probe(self, bridge: wire.Bridge, fn: Any, args: list, leaves: list) -> list:
        """fn(*args), then the probe of fn on leaves that in_graph will ask for later in the test: one request
        for both. An error of the probe is its answer (the judge says it when the test reaches in_graph)."""
        result = fn(*args)
        try:
            found = self.probe(bridge, fn, leaves, [])
        except Exception as error:  # (under the guard: a time limit, a stop, an exit end the request, as a call's)
            found = {"error": wire.error_record(error)}
        return [result, found]

    def stand_in(self, bridge: wire.Bridge, name: str, args: list) -> Any:
        """An object of the tests' own (tests/stand_ins.py), made here, where the kata's autograd can reach it."""
        module = importlib.import_module("tests.stand_ins")
        return getattr(module, name)(*args)


def end_children() -> None:
    """End the processes kata code started in an earlier test (a fork that loops), so that none runs beside the
    next test and they do not pile up over a long run; Linux, where /proc lists a process's children."""
    for listing in Path("/proc/self/task").glob("*/children"):
        with contextlib.suppress(OSError, ValueError):
            for pid in map(int, listing.read_text().split()):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)


PRELOAD = ("torch.fx.experimental.symbolic_shapes",)  # torch.autograd.grad's first call with grad_outputs: 1.5-2.5 s
WARM = ("torch._dynamo",)  # a torch.optim optimizer's first param group (kata 9's sgd_step): 1.4 s


def preload(warm: bool = False) -> None:
    """Import now what torch imports on the first use of some functions, so that neither a test's time limit nor
    each new kata process pays it again: what the judge's references need always; with warm (a warm parent, whose
    every worker and kata process is forked from it), what only some katas' code needs too."""
    for name in (*PRELOAD, *(WARM if warm else ())):
        with contextlib.suppress(Exception):
            importlib.import_module(name)


def reference_dout(got: torch.Tensor) -> torch.Tensor:
    """The upstream gradient both processes use to probe a result: the same numbers on each side."""
    return torch.randn(got.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64).to(got.dtype)
