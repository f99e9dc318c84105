"""Handles: an object that stays where it lives (a TwoLayerNet, a kata's function, the judge's spy model) and
is reached from the other side by messages, through a Proxy; the operations a handle offers (GENERIC)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping, MutableSequence
from typing import Any


class Lent:
    """A value already in its tagged form (a live view of a container): encoded as it is."""

    def __init__(self, tagged: tuple) -> None:
        self.tagged = tagged


def describe(value: Any) -> dict[str, Any]:
    """What the other side may know of a lent object without asking: its kind, names and signature."""
    import inspect

    meta: dict[str, Any] = {"type": type(value).__name__, "ancestors": [c.__name__ for c in type(value).__mro__]}
    if inspect.isfunction(value) or inspect.ismethod(value) or inspect.isclass(value):
        meta["name"] = getattr(value, "__qualname__", getattr(value, "__name__", "?"))
        meta["kind"] = "class" if inspect.isclass(value) else "function"
        try:
            meta["parameters"] = list(inspect.signature(value).parameters)
        except (TypeError, ValueError):
            meta["parameters"] = []
    elif inspect.ismodule(value):
        meta["kind"], meta["name"] = "module", value.__name__
    elif callable(value):
        meta["kind"] = "callable"
    return meta


class Proxy:
    """An object of the other side, reached by messages: attributes, calls, items, len, iter, repr."""

    def __init__(self, bridge: Any, side: str, handle: int, meta: dict[str, Any]) -> None:
        object.__setattr__(self, "_bridge", bridge)
        object.__setattr__(self, "_side", side)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_meta", meta)
        object.__setattr__(self, "_now", None)  # a live view's items as they were lent: (when, items)
        object.__setattr__(self, "_held", (-1, {}))  # live views read from its own attributes: (when, name -> view)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        bridge, (when, held) = self._bridge, self._held
        if when == bridge.exchanges and name in held:
            return held[name]
        value = bridge.request("getattr", self, name)
        if isinstance(value, _Live) and value._meta.get("held"):
            # Until the next message either way nothing of the judge's runs: the attribute still holds this view
            # (`model.grads[key]` in a loop over the keys costs one message, not one per key).
            if when != bridge.exchanges:
                held = {}
                object.__setattr__(self, "_held", (bridge.exchanges, held))
            held[name] = value
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        self._bridge.request("setattr", self, name, value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._bridge.request("call", self, list(args), kwargs)

    def __getitem__(self, key: Any) -> Any:
        return self._bridge.request("getitem", self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._bridge.request("setitem", self, key, value)

    def __delitem__(self, key: Any) -> None:
        self._bridge.request("delitem", self, key)

    def __len__(self) -> int:
        return int(self._bridge.request("len", self))

    def __iter__(self) -> Iterator[Any]:
        return iter(self._bridge.request("items", self))

    def __contains__(self, item: Any) -> bool:
        return bool(self._bridge.request("contains", self, item))

    def __repr__(self) -> str:
        return str(self._bridge.request("repr", self))

    def __bool__(self) -> bool:
        return True


SNAPSHOT = 64  # a live view of at most this many items comes with them: read without a message until the next one


class _Live(Proxy):
    """A container of the judge's, lent to kata code as a live view. It comes with its items as they were when
    lent; until the next message either way (the only time the judge's code runs, and could change it) they
    are read here. `d[key] -= step` on a tensor then costs no message at all: the tensor changes in place (it
    reaches the judge with the next message), and storing back the very same object changes nothing."""

    def _items(self) -> Any:
        now = self._now
        return now[1] if now is not None and now[0] == self._bridge.exchanges else None

    def __getitem__(self, key: Any) -> Any:
        items = self._items()
        return items[key] if items is not None else super().__getitem__(key)

    def __setitem__(self, key: Any, value: Any) -> None:
        items = self._items()
        try:
            unchanged = items is not None and items[key] is value
        except (KeyError, IndexError, TypeError):
            unchanged = False
        if not unchanged:
            super().__setitem__(key, value)

    def __len__(self) -> int:
        items = self._items()
        return len(items) if items is not None else super().__len__()

    def __iter__(self) -> Iterator[Any]:
        items = self._items()
        return iter(list(items)) if items is not None else super().__iter__()

    def __contains__(self, item: Any) -> bool:
        items = self._items()
        return item in items if items is not None else super().__contains__(item)


class LiveDict(_Live, MutableMapping):
    """A dict of the judge's, lent to kata code as a live view. items() and values() taken while its items are
    known are those items: `for key, param in model.params.items()` costs no message however its body crosses."""

    def items(self) -> Any:
        items = self._items()
        return list(items.items()) if items is not None else super().items()

    def values(self) -> Any:
        items = self._items()
        return list(items.values()) if items is not None else super().values()


class LiveList(_Live, MutableSequence):
    """A list of the judge's, lent to kata code as a live view."""

    def insert(self, index: int, value: Any) -> None:
        self._bridge.request("insert", self, index, value)


def snapshot(bridge: Any, value: dict | list) -> Any:
    """A live view's items, in the tagged form, to be sent with its handle (None when there are too many)."""
    if len(value) > SNAPSHOT:
        return None
    return bridge.encode(list(value.items()) if type(value) is dict else list(value))


def keep_snapshot(proxy: Proxy, items: Any, when: int) -> None:
    """Remember a live view's items, decoded, as they were at message number `when`."""
    if isinstance(proxy, LiveDict) and type(items) is list and all(type(i) is tuple and len(i) == 2 for i in items):
        object.__setattr__(proxy, "_now", (when, dict(items)))
    elif isinstance(proxy, LiveList) and type(items) is list:
        object.__setattr__(proxy, "_now", (when, items))


def _getattr(bridge: Any, obj: Any, name: str) -> Any:
    value = getattr(obj, name)
    if bridge.live and type(value) in (dict, list):  # a live view of this end's container, with its items
        found = bridge._lend(value)
        found[3]["as"] = type(value).__name__
        found[3]["now"] = snapshot(bridge, value)
        found[3]["held"] = _plain_attribute(obj, name, value)
        return Lent(found)
    return value


def _plain_attribute(obj: Any, name: str, value: Any) -> bool:
    """Whether obj.name is read from obj's own __dict__, no code of its class running (no property, no
    __getattribute__): read again before the judge's code runs again, it is the same value, so the other end may
    keep it until then."""
    cls = type(obj)
    return (
        cls.__getattribute__ is object.__getattribute__
        and not any(name in vars(c) for c in cls.__mro__)
        and getattr(obj, "__dict__", {}).get(name) is value
    )


def _items(bridge: Any, obj: Any) -> list:
    return list(obj)


GENERIC: dict[str, Callable[..., Any]] = {
    "getattr": _getattr,
    "setattr": lambda bridge, obj, name, value: setattr(obj, name, value),
    "call": lambda bridge, obj, args, kwargs: obj(*args, **kwargs),
    "getitem": lambda bridge, obj, key: obj[key],
    "setitem": lambda bridge, obj, key, value: obj.__setitem__(key, value),
    "delitem": lambda bridge, obj, key: obj.__delitem__(key),
    "insert": lambda bridge, obj, index, value: obj.insert(index, value),
    "len": lambda bridge, obj: len(obj),
    "items": _items,
    "contains": lambda bridge, obj, item: item in obj,
    "repr": lambda bridge, obj: repr(obj),
}
