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

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._bridge.request("getattr", self, name)

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


class LiveDict(Proxy, MutableMapping):
    """A dict of the judge's, lent to kata code as a live view."""


class LiveList(Proxy, MutableSequence):
    """A list of the judge's, lent to kata code as a live view."""

    def insert(self, index: int, value: Any) -> None:
        self._bridge.request("insert", self, index, value)


def _getattr(bridge: Any, obj: Any, name: str) -> Any:
    value = getattr(obj, name)
    if bridge.live and type(value) in (dict, list):  # a live view of this end's container
        found = bridge._lend(value)
        found[3]["as"] = type(value).__name__
        return Lent(found)
    return value


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
