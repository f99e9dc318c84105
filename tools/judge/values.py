"""Tensors by value: how a tensor crosses (dtype, shape, bytes), how a change made in place is seen, and
the judge's table of the tensors it still holds."""

from __future__ import annotations

import weakref
from collections.abc import Iterator, MutableMapping

import torch


class Forgetful(MutableMapping):
    """The judge's table of tensors: key -> tensor while the judge holds it. The keys of those it let go are
    collected in `dropped` (a weak reference's callback only appends: it may run in the middle of anything)
    and taken out of the table by `take_dropped`, to tell the kata process with the next request."""

    def __init__(self) -> None:
        self.refs: dict[tuple[str, int], weakref.ref] = {}
        self.dropped: list[tuple[str, int]] = []

    def __getitem__(self, key: tuple[str, int]) -> torch.Tensor:
        found = self.refs[key]()
        if found is None:
            raise KeyError(key)
        return found

    def __setitem__(self, key: tuple[str, int], tensor: torch.Tensor) -> None:
        dropped = self.dropped
        self.refs[key] = weakref.ref(tensor, lambda _, key=key: dropped.append(key))  # type: ignore[misc]

    def __delitem__(self, key: tuple[str, int]) -> None:
        del self.refs[key]

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return iter([key for key, ref in list(self.refs.items()) if ref() is not None])

    def __len__(self) -> int:
        return len(self.refs)

    def live(self) -> list[tuple[tuple[str, int], torch.Tensor]]:
        """(key, tensor) for each tensor still held: what `items()` gives, without a lookup per key."""
        return [(key, tensor) for key, ref in list(self.refs.items()) if (tensor := ref()) is not None]

    def take_dropped(self) -> list[tuple[str, int]]:
        """The keys of tensors let go since the last call, now out of the table."""
        count = len(self.dropped)  # (one appended meanwhile stays for the next call)
        taken = self.dropped[:count]
        del self.dropped[:count]
        for key in taken:
            ref = self.refs.get(key)
            if ref is not None and ref() is None:
                del self.refs[key]
        return taken


def tensor_data(tensor: torch.Tensor) -> tuple:
    plain = tensor.detach().to("cpu").contiguous().reshape(-1)
    raw = plain.view(torch.uint8).numpy().tobytes() if plain.numel() else b""
    return (str(tensor.dtype).removeprefix("torch."), [int(s) for s in tensor.shape], bool(tensor.requires_grad), raw)


def tensor_value(data: tuple) -> torch.Tensor:
    name, shape, requires_grad, raw = data
    dtype = getattr(torch, str(name), None)
    if not isinstance(dtype, torch.dtype) or type(shape) is not list or type(raw) is not bytes:
        raise ValueError("a tensor in the wrong form")
    size = torch.Size([int(s) for s in shape])
    value = torch.frombuffer(bytearray(raw), dtype=dtype).reshape(size) if raw else torch.empty(size, dtype=dtype)
    if requires_grad and (value.is_floating_point() or value.is_complex()):
        value.requires_grad_(True)
    return value


def signature(tensor: torch.Tensor) -> tuple:
    """What changes when a tensor is changed in place, by an operation or by assigning its .data."""
    return (tensor._version, tensor.requires_grad, tensor.data_ptr(), tensor.shape, tensor.dtype)


def overwrite(tensor: torch.Tensor, value: torch.Tensor) -> None:
    """Give a tensor the values, shape, dtype and requires_grad its twin on the other end now has."""
    with torch.no_grad():
        if tensor.shape == value.shape and tensor.dtype == value.dtype:
            if not torch.equal(tensor.detach(), value):
                tensor.copy_(value)
        else:
            tensor.data = value.detach()
    if tensor.requires_grad != value.requires_grad and tensor.is_leaf:
        tensor.requires_grad_(value.requires_grad)
