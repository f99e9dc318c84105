"""What crosses between the judge and the kata process, and how: plain data only.

Both ends hold a Bridge over one multiprocessing connection. A message is pickled, but the
reader's unpickler admits no class and no function at all (`Plain`), so a message can only ever
build None, booleans, numbers, strings, bytes, tuples, lists and dicts: whatever the kata process
sends, it cannot run code in the judge. Values travel in a tagged form (`encode` / `decode`):

- tensors by value (dtype, shape, bytes); a subclass of torch.Tensor arrives as a plain tensor;
- each tensor keeps one key for the test, so the same tensor sent twice arrives as the same object,
  and a change made in place on one side (`x += 1`, `param -= lr * grad`) reaches the other side
  with the next message (`sweep`): a test still sees a kata write into its input;
- anything else (a TwoLayerNet, a function, a module) stays where it lives and crosses as a handle:
  the other side gets a `Proxy` whose attribute reads, calls and item access are messages.

Attributes of a kata's object are read by value (a test gets a plain dict of tensors from
`net.params`); the judge's own objects lent to kata code (a spy model) show their dict and list
attributes as live views (`LiveDict`, `LiveList`), so kata code that stores into `model.params[key]`
changes the judge's dict, as it would in one process. A view comes with its items, read without a
message until the next message either way (the only time the judge's code runs).
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable, MutableMapping
from typing import Any

import torch

from tools.judge.handles import GENERIC, Lent, LiveDict, LiveList, Proxy, describe, keep_snapshot
from tools.judge.values import Forgetful, overwrite, signature, tensor_data, tensor_value

MAX_MESSAGE = 1 << 30  # bytes: a message larger than this is refused (a runaway result)
PLAIN_NUMBERS = (bool, int, float, str, bytes)
UNGUARDED = ("begin",)  # requests that run no kata code: not under a test's time limit


class Plain(pickle.Unpickler):
    """An unpickler that builds plain data only: every class or function a message names is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"{module}.{name} may not cross: only plain data does")


def loads(data: bytes) -> Any:
    return Plain(io.BytesIO(data)).load()


class Refused(Exception):
    """A message that is not plain data, or not in the tagged form."""


class Gone(Exception):
    """The other end closed the connection (its process ended)."""


class RemoteError(Exception):
    """An error raised on the other side, as data: its class's name and ancestors, message, and frames."""

    def __init__(self, record: dict[str, Any]) -> None:
        super().__init__(record.get("message", ""))
        self.record = record


def error_record(error: BaseException, frames: list[tuple[str, int, str, str]] | None = None) -> dict[str, Any]:
    """A raised error as plain data."""
    import traceback

    if frames is None:
        frames = [(f.filename, f.lineno or 0, f.name, f.line or "") for f in traceback.extract_tb(error.__traceback__)]
    record: dict[str, Any] = {
        "type": type(error).__name__,
        "module": type(error).__module__,
        "ancestors": [c.__name__ for c in type(error).__mro__],
        "message": _text(error),
        "frames": frames,
    }
    if isinstance(error, SyntaxError):
        record["syntax"] = (error.filename, error.lineno, error.text, error.msg)
    return record


def _text(error: BaseException) -> str:
    try:
        return str(error)[:20_000]
    except Exception:  # a __str__ of the kata's own that raises
        return f"<{type(error).__name__} whose message cannot be shown>"


# ---------------------------------------------------------------------------------------------
# The bridge: one per process, each end serving the other's requests while it waits for a reply


class Bridge:
    """One end of the connection. `side` is "j" (the judge) or "k" (the kata process).

    live: whether this end lends its dict and list attributes as live views (the judge) or by value
    (the kata process). ops: the operations this end offers beyond the generic ones on handles.
    guard: how this end runs each request it serves (the kata process: under the test's limits)."""

    def __init__(
        self,
        conn: Any,
        side: str,
        live: bool,
        ops: dict[str, Callable[..., Any]] | None = None,
        guard: Callable[[Callable[[], Any]], Any] | None = None,
    ) -> None:
        self.conn, self.side, self.live = conn, side, live
        # The kata process sends a tensor's values each time it answers with it (its tensors may change where no
        # version counter sees it, through another tensor sharing their memory) and keeps every tensor of the test,
        # so that one the judge sends back unchanged is its own again, graph and all. The judge keeps only those
        # it still holds: a tensor it let go cannot be seen changing.
        self.resend = not live
        self.ops = {**GENERIC, **(ops or {})}
        self.guard = guard or (lambda run: run())
        self.exchanges = 0  # messages sent or received: a live view's items hold until the next (handles._Live)
        self.reset()
        # Said beside every request (the judge: grad mode, the random state) and every answer (the kata process:
        # its output, which katas ran ...), and what to do with what the other end says so.
        self.context: Callable[[], dict[str, Any]] = dict
        self.report: Callable[[], dict[str, Any]] = dict
        self.on_context: Callable[[dict[str, Any]], None] = lambda said: None
        self.on_report: Callable[[dict[str, Any]], None] = lambda said: None

    def reset(self) -> None:
        """Forget every handle and tensor of the test that ended (both ends do it at each test's start)."""
        self.objects: dict[int, Any] = {}  # my objects lent by handle
        self.handle_of: dict[int, int] = {}  # id(object) -> handle
        self.proxies: dict[int, Proxy] = {}  # the other end's handles -> their proxies here
        self.tensors: MutableMapping[tuple[str, int], torch.Tensor] = (  # key -> the tensor here
            Forgetful() if self.live else {}
        )
        self.key_of: dict[int, tuple[str, int]] = {}  # id(tensor) -> key
        self.synced: dict[tuple[str, int], tuple] = {}  # key -> the tensor's _signature when last in step
        self.count = 0

    # -- values --------------------------------------------------------------------------------

    def encode(self, value: Any, depth: int = 0) -> Any:
        if depth > 100:
            raise Refused("a value nested more than 100 levels deep")
        kind = type(value)
        if value is None or kind in PLAIN_NUMBERS:
            return value
        if kind is Lent:
            return value.tagged
        if isinstance(value, torch.Tensor):
            return self._tensor(value)
        if isinstance(value, torch.Size):
            return ("size", [int(s) for s in value])
        if isinstance(value, (tuple, list, set, frozenset)):  # a subclass (a namedtuple) as its plain base
            container = next(b for b in (tuple, list, set, frozenset) if isinstance(value, b))
            return (container.__name__, [self.encode(v, depth + 1) for v in value])
        if isinstance(value, dict):  # an OrderedDict (a state_dict) as a plain dict
            return ("dict", [(self.encode(k, depth + 1), self.encode(v, depth + 1)) for k, v in value.items()])
        if isinstance(value, (bool, int, float, str)):  # a subclass (numpy's float64, an IntEnum): its value
            base = next(b for b in (bool, int, float, str) if isinstance(value, b))
            return base(value)
        if kind is complex:
            return ("complex", value.real, value.imag)
        if isinstance(value, torch.dtype):
            return ("dtype", str(value).removeprefix("torch."))
        if isinstance(value, torch.device):
            return ("device", str(value))
        if kind is slice:
            return ("slice", [self.encode(v, depth + 1) for v in (value.start, value.stop, value.step)])
        if isinstance(value, Proxy) and value._bridge is self:
            return ("handle", value._side, value._handle, value._meta)
        return self._lend(value)

    def decode(self, data: Any, depth: int = 0) -> Any:
        if depth > 200:
            raise Refused("a value nested too deep")
        if data is None or type(data) in PLAIN_NUMBERS:
            return data
        if type(data) is not tuple or not data or type(data[0]) is not str:
            raise Refused(f"not a tagged value: {type(data).__name__}")
        tag = data[0]
        if tag in ("tuple", "list", "set", "frozenset"):
            items = [self.decode(v, depth + 1) for v in _list(data, 1)]
            return {"tuple": tuple, "list": list, "set": set, "frozenset": frozenset}[tag](items)
        if tag == "dict":
            return {self.decode(k, depth + 1): self.decode(v, depth + 1) for k, v in _list(data, 1)}
        if tag == "tensor":
            return self._received(data)
        if tag == "complex":
            return complex(float(data[1]), float(data[2]))
        if tag == "dtype":
            found = getattr(torch, str(data[1]), None)
            if not isinstance(found, torch.dtype):
                raise Refused(f"no dtype {data[1]!r}")
            return found
        if tag == "device":
            return torch.device(str(data[1]))
        if tag == "size":
            return torch.Size([int(s) for s in _list(data, 1)])
        if tag == "slice":
            return slice(*(self.decode(v, depth + 1) for v in _list(data, 1)))
        if tag == "handle":
            return self._handle(data)
        raise Refused(f"unknown tag {tag!r}")

    def _tensor(self, tensor: torch.Tensor, swept: bool = False) -> tuple:
        found = self.key_of.get(id(tensor))
        if found is not None and self.tensors.get(found) is tensor:
            key = found
            if not (self.resend and not swept) and self.synced.get(key) == signature(tensor):
                return ("tensor", key[0], key[1])  # known to the other end, unchanged since
        else:
            self.count += 1
            key = (self.side, self.count)
            self.tensors[key], self.key_of[id(tensor)] = tensor, key
        self.synced[key] = signature(tensor)
        return ("tensor", key[0], key[1], *tensor_data(tensor))

    def _received(self, data: tuple) -> torch.Tensor:
        key = (str(data[1]), int(data[2]))
        if len(data) == 3:
            if key not in self.tensors:
                raise Refused(f"unknown tensor {key}")
            return self.tensors[key]
        try:
            value = tensor_value(data[3:])
        except ValueError as error:
            raise Refused(str(error)) from None
        here = self.tensors.get(key)
        if here is None:
            here = value
            self.tensors[key], self.key_of[id(here)] = here, key
        else:
            overwrite(here, value)
        self.synced[key] = signature(here)
        return here

    def sweep(self) -> list:
        """Every known tensor changed in place here since it was last in step with the other end."""
        tensors, synced = self.tensors, self.synced.get  # (at every message, over every tensor of the test)
        held = tensors.live() if isinstance(tensors, Forgetful) else list(tensors.items())
        changed = [t for key, t in held if synced(key) != signature(t)]
        if len(self.synced) > 2 * len(self.tensors) + 100:  # forget the keys of tensors let go
            self.synced = {key: self.synced[key] for key in list(self.tensors.keys()) if key in self.synced}
        return [self._tensor(t, swept=True) for t in changed]

    def _lend(self, value: Any) -> tuple:
        handle = self.handle_of.get(id(value))
        if handle is None or self.objects.get(handle) is not value:
            self.count += 1
            handle = self.count
            self.objects[handle], self.handle_of[id(value)] = value, handle
        return ("handle", self.side, handle, describe(value))

    def _handle(self, data: tuple) -> Any:
        side, handle, meta = str(data[1]), int(data[2]), data[3]
        if side == self.side:
            if handle not in self.objects:
                raise Refused(f"unknown handle {handle}")
            return self.objects[handle]
        proxy = self.proxies.get(handle)
        if proxy is None:
            kind = meta.get("as") if isinstance(meta, dict) else None
            cls = LiveDict if kind == "dict" else LiveList if kind == "list" else Proxy
            proxy = self.proxies[handle] = cls(self, side, handle, meta if isinstance(meta, dict) else {})
        if not self.live and isinstance(meta, dict) and meta.get("now") is not None:  # the judge's, lent with items
            keep_snapshot(proxy, self.decode(meta["now"]), self.exchanges)
        return proxy

    # -- messages ------------------------------------------------------------------------------

    def send(self, message: tuple) -> None:
        self.exchanges += 1
        self.conn.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    def receive(self) -> tuple:
        try:
            data = self.conn.recv_bytes(MAX_MESSAGE)
        except (EOFError, OSError) as error:
            raise Gone(str(error)) from None
        self.exchanges += 1
        try:
            message = loads(data)
        except Exception as error:
            raise Refused(f"a message that is not plain data ({error})") from None
        if type(message) is not tuple or len(message) != 4 or type(message[0]) is not str:
            raise Refused("a message of the wrong form")
        return message

    def request(self, op: str, *args: Any) -> Any:
        """Ask the other end to do op; serve its requests meanwhile; return its answer or raise its error."""
        said = self.context()
        if isinstance(self.tensors, Forgetful) and self.tensors.dropped:  # let go here: the other end may too
            said["forget"] = self.tensors.take_dropped()
            for key in said["forget"]:
                self.synced.pop(key, None)
        self.send(("ask", [op, [self.encode(a) for a in args]], said, self.sweep()))
        return self.wait()

    def forget(self, keys: Any) -> None:
        """Drop tensors the other end let go of (the kata process's table would otherwise grow all test long)."""
        for key in keys if type(keys) is list else ():
            if type(key) is tuple and len(key) == 2:
                self.tensors.pop((str(key[0]), int(key[1])), None)
                self.synced.pop((str(key[0]), int(key[1])), None)

    def wait(self) -> Any:
        while True:
            kind, body, said = self._next()
            if kind == "ask":
                self.serve(body)
                continue
            self.on_report(said)
            if kind == "ok":
                return self.decode(body)
            if kind == "error" and type(body) is dict:
                raise RemoteError(body)
            raise Refused(f"an answer of kind {kind!r}")

    def _next(self) -> tuple[str, Any, dict]:
        kind, body, said, updates = self.receive()
        said = said if type(said) is dict else {}
        if kind == "ask":  # first: what is said may start a new test, which forgets the last one's tensors
            self.on_context(said)
        for update in updates if type(updates) is list else ():
            self.decode(update)
        if kind == "ask":
            self.forget(said.get("forget"))
        return kind, body, said

    def serve(self, body: Any) -> None:
        """Do what the other end asked, and answer: the result, or the error as data."""
        try:
            if type(body) is not list or len(body) != 2 or body[0] not in self.ops or type(body[1]) is not list:
                raise Refused("a request of the wrong form")
            op, args = body
            decoded = [self.decode(a) for a in args]
            # Run and encode under the guard: encoding may run code of the object's own (a tensor subclass's).
            # The other end's own bookkeeping (a new test) runs no kata code, and is not guarded.
            guard = self.guard if op not in UNGUARDED else (lambda run: run())
            answer: tuple = ("ok", guard(lambda: self.encode(self.ops[op](self, *decoded))))
        except (Gone, KeyboardInterrupt):
            raise
        except BaseException as error:  # the error crosses as data; this end goes on serving
            answer = ("error", getattr(error, "record", None) or error_record(error))
        self.send((answer[0], answer[1], self.report(), self.sweep()))

    def serve_forever(self) -> None:
        while True:
            kind, body, _ = self._next()
            if kind != "ask":
                raise Refused(f"a {kind!r} where a request belongs")
            self.serve(body)


def _list(data: tuple, index: int) -> list:
    if len(data) <= index or type(data[index]) is not list:
        raise Refused("a container without its items")
    return data[index]
