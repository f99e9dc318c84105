"""Loading and calling the learner's code: every test goes through these.

    mod = judge.load("affine")                  # the module under test, from the chosen track
    out, cache = judge.call(mod.affine_forward, x, W, b)

The kata's code runs in the kata process (tools/judge/sealed.py); a call is described for a sentence
(`describe_call`), its crash or stub blamed (tools/judge/blame.py), and what it returned remembered, so
that a check's message names the call that made a value (`origin`).
"""

from __future__ import annotations

import inspect
import re
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from torch import Tensor

from tools.judge import references, sealed
from tools.judge.blame import check_world, crash, frame, not_started, process_ended
from tools.judge.context import current, session, test
from tools.judge.errors import KataError, fail
from tools.judge.limits import Stopped, TimedOut
from tools.manifest import Kata, by_module
from tools.mistakes import Cause, as_cause


class _Lazy:
    """A kata module imported on first use, inside a test: a file that does not import then fails
    each test with a one-paragraph message, instead of stopping pytest's collection of every file."""

    def __init__(self, module: str) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # pytest and hypothesis look for their own markers at collection
            raise AttributeError(name)
        kata = by_module(self._module)
        assert kata is not None, f"{self._module} is not a kata module"
        return import_kata(kata, name)


def load(module: str) -> Any:
    """The learner's <track>.<module>, imported when a test first uses it."""
    return _Lazy(module)


def import_kata(kata: Kata, name: str | None = None) -> Any:
    """The kata module (or its attribute `name`), imported in the kata process with each kata it builds on (none
    may change torch's settings), as a handle; a failure names the kata whose file could not be used."""
    try:
        return session().kata.load(kata.module, name)
    except (TimedOut, Stopped):
        raise
    except sealed.Ended as ended:
        raise process_ended(ended, f"importing {kata.path(session().track)}") from None
    except BaseException as error:  # SyntaxError, NameError at import time, sys.exit() ...
        record = getattr(error, "record", {})
        if record.get("missing"):
            raise KataError(
                frame(
                    kata,
                    f"{kata.path(session().track)} has no `{name}`: the file is empty, or `{name}` was renamed "
                    f"or deleted. Put back the definition the stub starts with (`nox -s reset -- {kata.number}` "
                    "restores the whole stub and backs up your file first)",
                ),
                blame=kata.number,
                about_inputs=False,
            ) from None
        need = by_module(str(record.get("kata", ""))) or kata
        if record.get("unusable"):
            raise KataError(frame(need, str(error)), blame=need.number, about_inputs=False) from None
        crashed = crash(error, str(record.get("doing", f"importing {need.path(session().track)}")), need)
        crashed.about_inputs = False
        raise crashed from None


def stand_in(name: str, *args: Any) -> Any:
    """An object of tests/stand_ins.py, made in the kata process (where kata code's autograd can follow it)."""
    return session().kata.stand_in(name, *args)


def is_a(value: Any, cls: type) -> bool:
    """isinstance, for a value here or an object of the kata process (by the names of its classes)."""
    if sealed.is_remote(value):
        return cls.__name__ in value._meta.get("ancestors", [])
    return isinstance(value, cls)


def kind(value: Any) -> str:
    """'None', 'a list', 'a Tensor': what a value is, for a sentence."""
    if sealed.is_remote(value):
        return f"a {value._meta.get('type', 'object')}"
    return "None" if value is None else f"a {type(value).__name__}"


def shape_of(value: Any) -> str:
    if isinstance(value, Tensor):
        return "(" + ", ".join(str(s) for s in value.shape) + ("," if value.dim() == 1 else "") + ")"
    if isinstance(value, (bool, int, float)):
        return repr(value)
    return type(value).__name__


def parameter_names(fn: Callable, count: int) -> list[str]:
    meta = getattr(fn, "_meta", None) if sealed.is_remote(fn) else None
    if meta is not None:
        names = list(meta.get("parameters", [])) if meta.get("kind") in ("function", "class") else ["x"]
    elif inspect.isfunction(fn) or inspect.ismethod(fn) or inspect.isclass(fn):
        try:
            names = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            names = []
    else:
        names = ["x"]  # a module called on its input
    return names + [f"arg{i}" for i in range(len(names), count)]


def describe_call(fn: Callable, args: tuple) -> str:
    """'relu_forward(x (2, 3))', 'TwoLayerNet(5, 4, 3)', 'TwoLayerPytorch module(x (3, 6))'."""
    meta = getattr(fn, "_meta", {}) if sealed.is_remote(fn) else {}
    is_class = meta.get("kind") == "class" if meta else inspect.isclass(fn)
    if meta.get("kind") in ("function", "class"):
        name = str(meta.get("name"))
    elif meta:
        name = f"{meta.get('type')} module"
    elif inspect.isfunction(fn) or inspect.ismethod(fn) or inspect.isclass(fn):
        name = fn.__qualname__
    else:
        name = f"{type(fn).__name__} module"
    names = parameter_names(fn, len(args))
    parts = []
    for pname, value in zip(names, args):
        if isinstance(value, Tensor):
            parts.append(f"{pname} {shape_of(value)}")
        elif isinstance(value, (bool, int, float)):
            parts.append(repr(value) if is_class else f"{pname}={value!r}")
        else:
            parts.append(pname)
    return f"{name}({', '.join(parts)})"


# Crashes whose torch message a learner cannot be expected to decode: a pattern -> the mistake's id.
COMMON_CRASHES = {
    r"could not infer output dtype.*Bool": "any/bool-mean",
    r"mat1 and mat2 shapes cannot be multiplied|size mismatch|must match the size": "any/shapes-do-not-fit",
    r"expected (scalar type|m1 and m2 to have the same dtype)|found dtype .* but expected": "any/two-dtypes",
    r"Boolean value of Tensor with more than one value is ambiguous": "any/tensor-as-truth-value",
    r"one_hot is only applicable to index tensor": "any/labels-not-long",
    r"leaf Variable that requires grad is being used in an in-place operation": "any/in-place-on-leaf",
    r"Can't call numpy\(\) on Tensor that requires grad": "any/numpy-of-grad-tensor",
    r"does not require grad and does not have a grad_fn": "any/backward-without-grad",
    r"'tuple' object has no attribute": "any/pair-as-tensor",
    r"object is not subscriptable|cannot unpack non-iterable|object is not iterable": "any/wrong-kind-returned",
}


def call(
    fn: Callable,
    *args: Any,
    explain: Mapping[str, str | Cause] | None = None,
    probe: list | None = None,
    graph: bool = False,
    answered: Any = None,
) -> Any:
    """Call the learner's fn; NotImplementedError and crashes become KataErrors that say who to blame.

    fn is a handle on the kata process (a kata's function, class or object): the call runs there, and its
    result comes back by value. probe: call it as `in_graph` does instead (these tensors being the others);
    answered: that probe's answer (or error), already asked with an earlier call.

    graph: the test will then ask `judge.in_graph(fn, args, ...)` of the same fn and args. Its probe (fn again,
    on copies of args that require grad) is asked with this call, in the same message; in_graph takes its
    answer, and says what it finds there, as it would have.

    `explain` maps a regular expression to a likely cause (a mistake's id, or a judge.cause): a crash whose
    message matches it is explained with that cause (before the common torch crashes in COMMON_CRASHES).
    """
    described = describe_call(fn, args)
    state = test()
    state.last_call = described
    shapes = [(i, a, a.shape, a.dtype) for i, a in enumerate(args) if isinstance(a, Tensor)]
    try:
        if probe is not None:
            result = session().kata.probe(fn, args, probe) if answered is None else _given(answered)
        elif graph:
            leaves = leaves_of(args)
            result, answer = session().kata.call_and_probe(fn, args, leaves)
            state.probes[id(fn)] = (fn, args, leaves, answer)
        else:
            result = fn(*args)
    except (KataError, TimedOut, Stopped):
        raise
    except NotImplementedError as error:
        raise not_started(error) from None
    except sealed.Ended as ended:
        raise process_ended(ended, f"calling {described}") from None
    except BaseException as error:  # a crash; SystemExit, KeyboardInterrupt and os._exit included
        crashed = crash(error, f"calling {described}", None)
        explained = {**(explain or {}), **COMMON_CRASHES}
        said = as_cause(next((c for pattern, c in explained.items() if re.search(pattern, str(error))), None))
        if said:
            crashed = KataError(f"{crashed}{said}", blame=crashed.blame, mistakes=said.ids)
        raise crashed from None
    check_world(described, current())
    for i, arg, shape, dtype in shapes:
        if arg.shape != shape or arg.dtype != dtype:
            name = parameter_names(fn, len(args))[i]
            raise fail(
                f"{described} changed its input {name} in place: it was {tuple(shape)} {dtype} and is now "
                f"{tuple(arg.shape)} {arg.dtype}. Methods ending in `_` (unsqueeze_, t_, resize_) change the tensor "
                "they are called on: use the plain method, which makes a new tensor, and leave your inputs alone."
            )
    _remember(result if probe is None else result.get("result"), described)
    return result


def leaves_of(args: tuple) -> tuple:
    """args as in_graph calls fn with them: copies of the floating-point tensors, requiring grad."""
    return tuple(
        a.detach().clone().requires_grad_(True) if isinstance(a, Tensor) and a.is_floating_point() else a for a in args
    )


def asked_probe(fn: Callable, args: tuple) -> tuple[tuple, Any] | None:
    """(the leaves, the answer) of in_graph's probe of fn on args when an earlier call asked it (graph=True)."""
    kept = test().probes.pop(id(fn), None)
    if kept is None or kept[0] is not fn or len(kept[1]) != len(args) or any(a is not b for a, b in zip(kept[1], args)):
        return None
    return kept[2], kept[3]


def _given(answer: Any) -> Any:
    if isinstance(answer, BaseException):
        raise answer
    return answer


def numerical_grad(fn: Callable, args: tuple, wrt: Tensor, dout: Tensor, h: float = 1e-6) -> Tensor:
    """Central differences of sum(fn(*args)[0] * dout) with respect to wrt (one of args, or a tensor fn reads,
    such as a net's parameter), entry by entry: the gradient the learner's own forward implies. fn runs in the
    kata process, all 2 x wrt.numel() calls in one request (references.nudged); the differences are taken here."""
    results = session().kata.nudged(fn, args, wrt, h)
    return references.central_differences(results, wrt, dout, h)


def _remember(result: Any, described: str) -> None:
    """Note which call produced a value (and the items of a returned tuple or dict), without keeping it alive:
    a test of many calls would otherwise hold every result it got, and each message would sweep them all."""
    origins = test().origins
    items = result.values() if isinstance(result, dict) else result if isinstance(result, tuple) else ()
    for value in (result, *items):
        origins[id(value)] = (_sameness(value), described)


def _sameness(value: Any) -> Callable[[Any], bool]:
    """A test of whether a value is this one that holds it weakly where it can (a tensor; a tuple's items)."""
    try:
        ref = weakref.ref(value)
    except TypeError:
        pass
    else:
        return lambda other: ref() is other
    if isinstance(value, (tuple, list, dict)):
        kind, parts = type(value), [_sameness(v) for v in (value.values() if isinstance(value, dict) else value)]
        return lambda other: (
            type(other) is kind
            and len(other) == len(parts)
            and all(same(v) for same, v in zip(parts, other.values() if isinstance(other, dict) else other))
        )
    return lambda other: other is value  # a number, a string, None: nothing heavy kept


def origin(value: Any) -> str | None:
    """The call that returned value, when a judge.call did; None otherwise."""
    found = test().origins.get(id(value))
    return found[1] if found is not None and found[0](value) else None
