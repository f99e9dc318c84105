"""Kata 7: TwoLayerNet (uses your katas 1, 2, 3 and 6)."""

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from tests import backward_walk, judge

mod = judge.load("model")
KEYS = ("W1", "b1", "W2", "b2")


def reference(x, W1, b1, W2, b2):
    hidden = (x @ W1.T + b1).clamp(min=0)
    return torch.sigmoid(hidden @ W2.T + b2)


STARTED: dict[int, tuple] = {}  # id(net) -> (net, copies of the params TwoLayerNet made), for the last net built


def build(inp, hidden, out, params=None):
    net = judge.call(mod.TwoLayerNet, inp, hidden, out)
    started = getattr(net, "params", None)  # read once: each read of a kata object's attribute is a message
    if not isinstance(started, dict) or set(started) != set(KEYS):
        raise judge.fail(f"TwoLayerNet(...).params should be a dict with keys {set(KEYS)}.")
    if params is not None:
        made = {key: p.clone() for key, p in started.items() if isinstance(p, torch.Tensor)}
        STARTED.clear()
        STARTED[id(net)] = (net, made)
        net.params = dict(params)
    return net


def forward_diagnoses(x, p):
    affine1 = x @ p["W1"].T + p["b1"]
    return {
        "model/no-relu": lambda: torch.sigmoid(affine1 @ p["W2"].T + p["b2"]),
        "model/no-sigmoid": lambda: affine1.clamp(min=0) @ p["W2"].T + p["b2"],
        "model/relu-after-second": lambda: torch.sigmoid((affine1 @ p["W2"].T + p["b2"]).clamp(min=0)),
    }


def check(x, params, dout, rtol=1e-5, atol=1e-6):
    hidden, inp = params["W1"].shape
    net = build(inp, hidden, params["W2"].shape[0], params)
    kept = {key: (param, param.clone()) for key, param in params.items()}
    saved_x, saved_dout = x.clone(), dout.clone()
    forward = net.forward
    out, cache = judge.unpack(judge.call(forward, x), ("out", "cache"))
    want_out = reference(x.double(), *(params[k].double() for k in KEYS)).to(x.dtype)
    judge.close("out", out, want_out, forward_diagnoses(x, params), rtol=rtol, atol=atol)
    judge.unchanged("x", saved_x, x)
    grads, after = backward(net, dout, cache)
    params = {key: copy for key, (_, copy) in kept.items()}  # as they were, whatever backward did to them
    want = dict(zip(KEYS, judge.autograd(lambda *p: reference(x.double(), *p), [params[k] for k in KEYS], dout)))
    # From the loss back (W2, b2, then W1, b1): the first wrong gradient is said with the walk's cause, the first
    # layer whose gradients are wrong and the mistake that explains all four, when one does.
    cause = backward_walk.walk(x, params, dout, grads, rtol, atol)
    for key in backward_walk.ORDER:
        said = {cause: grads[key]} if cause else None
        judge.close(f"grads['{key}']", grads[key], want[key].to(x.dtype), said, rtol, atol, nonfinite=cause)
    for key, (original, copy) in kept.items():
        now = after.get(key)
        if now is original and torch.equal(original, copy):
            continue
        if isinstance(now, torch.Tensor) and now.shape == copy.shape and torch.equal(now, copy):  # same values
            raise judge.fail(
                f"backward replaced params['{key}'] with another tensor of the same values: it should leave "
                "net.params as forward used them, and only fill net.grads."
            )
        raise judge.fail(f"backward changed params['{key}'].", judge.cause("model/backward-updates"))
    judge.unchanged("x", saved_x, x)
    judge.unchanged("dout", saved_dout, dout)
    # Again with x and the parameters requiring grad, as kata 9 runs the net: out must stay in autograd's graph.
    # Connected only: katas 1-3 judge each layer's gradients (and a correct sigmoid may have NaN ones where exp
    # overflows in the branch torch.where discards, as the tutorial's large scores make it).
    tracked = {key: param.detach().clone().requires_grad_(True) for key, param in params.items()}
    net.params = tracked
    judge.in_graph(forward, (x,), ("out", "cache"), others={f"params['{key}']": tracked[key] for key in KEYS})


def test_init_follows_the_tutorial():
    judge.seed(0)
    net = build(100, 50, 40)
    params = net.params
    for key, shape, std in (("W1", (50, 100), 0.1414213562373095), ("W2", (40, 50), 0.14907119849998599)):
        judge.tensor(f"params['{key}']", params[key], shape=shape)
        got = params[key].std().item()
        if abs(got - std) / std > 7e-2:
            raise judge.fail(f"params['{key}'] has std {got:.4f}; expected {std:.4f}. Use init_params (kata 6).")
    for key in ("b1", "b2"):
        if params[key].any():
            raise judge.fail(f"params['{key}'] should start at zero.")
    grads = getattr(net, "grads", None)
    if not isinstance(grads, dict) or set(grads) != set(KEYS):
        raise judge.fail("a new TwoLayerNet should have .grads with the keys W1, b1, W2, b2 (zeros).")
    for key in KEYS:
        judge.tensor(f"grads['{key}']", grads[key], shape=tuple(params[key].shape))
        if grads[key].any():
            same = grads[key] is params[key] or torch.equal(grads[key], params[key])
            raise judge.fail(
                f"a new TwoLayerNet's grads['{key}'] should be all zeros; it is not.",
                judge.cause("model/grads-are-params", key=key) if same else None,
            )


def read(net, name):
    """net.<name> when it is a dict, else {}."""
    found = getattr(net, name, None)
    return found if isinstance(found, dict) else {}


def backward(net, dout, cache):
    """net.backward(dout, cache), then: are the gradients new tensors of their own, neither the parameters nor the
    old gradient tensors written into? Returns net.grads (as it is) and net.params (a dict, {} when it is not one)
    as backward left them; fails unless net.grads is a dict of the four keys."""
    old = read(net, "grads")
    held = {key: g.clone() for key, g in old.items() if isinstance(g, torch.Tensor)}
    before = {key: p.clone() for key, p in read(net, "params").items() if isinstance(p, torch.Tensor)}
    judge.call(net.backward, dout, cache)
    grads = getattr(net, "grads", None)
    params = read(net, "params")
    made = STARTED.get(id(net), (None, {}))[1]
    for key, grad in grads.items() if isinstance(grads, dict) else ():
        param = params.get(key)
        if not isinstance(grad, torch.Tensor) or not isinstance(param, torch.Tensor):
            continue
        # The gradient is the parameter's own tensor: writing it (copy_, [...] =) overwrote the parameter.
        moved = key in before and before[key].shape == param.shape and not torch.equal(before[key], param)
        if grad is param or (moved and grad.shape == param.shape and torch.equal(grad, param)):
            raise judge.fail(
                f"after backward, params['{key}'] holds exactly what grads['{key}'] holds: backward wrote the "
                f"gradient into the parameter itself.",
                judge.cause("model/grads-alias-params", key=key),
            )
        if moved:
            raise judge.fail(f"backward changed params['{key}'].", judge.cause("model/backward-updates"))
        if grad is old.get(key) and grad.dtype != param.dtype:
            was, start = held.get(key), made.get(key)
            started_as_param = (  # grads['key'] was the parameter TwoLayerNet made
                was is not None
                and start is not None
                and was.shape == start.shape
                and bool(was.any())
                and torch.equal(was, start.to(was.dtype))
            )
            if started_as_param:
                raise judge.fail(
                    f"grads['{key}'] was the tensor TwoLayerNet made for params['{key}'], and backward wrote the "
                    "gradient into it: the parameter the net started with was overwritten.",
                    judge.cause("model/grads-alias-params", key=key),
                )
            if not bool(grad.any()):
                raise judge.fail(
                    f"backward left grads['{key}'] as the net started it (all zeros): it did not store a gradient "
                    "for it.",
                    judge.cause("model/grad-not-stored", key=key),
                )
            raise judge.fail(
                f"backward wrote grads['{key}'] into the tensor the net started with, in place, instead of storing "
                f"a new gradient: it still is that old tensor ({grad.dtype}; this test made params['{key}'] "
                f"{param.dtype}).",
                judge.cause("model/grad-written-in-place", key=key),
            )
    if not isinstance(grads, dict) or set(grads) != set(KEYS):
        got = sorted(grads) if isinstance(grads, dict) else type(grads).__name__
        raise judge.fail(f"after backward, net.grads should have the keys W1, b1, W2, b2; it has {got}.")
    return grads, params


def tutorial_params(inp=100, hidden=50, out=40):
    shapes = {"W1": (hidden, inp), "b1": (hidden,), "W2": (out, hidden), "b2": (out,)}
    return {key: judge.linspace(shape, -2.0, 2.0) for key, shape in shapes.items()}


def test_forward_and_backward_on_the_tutorial_inputs():
    x = judge.linspace((5, 100), -2.0, 2.0)
    dout = judge.linspace((5, 40), -2.0, 2.0)
    check(x, tutorial_params(), dout, rtol=1e-4, atol=1e-5)


@given(
    n=st.integers(1, 4),
    inp=st.integers(1, 5),
    hidden=st.integers(1, 5),
    out=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
@example(n=2, inp=3, hidden=3, out=3, seed=0)  # all square: swapped gradients keep their shapes
@example(n=1, inp=4, hidden=3, out=2, seed=1)
def test_any_size_matches_autograd(n, inp, hidden, out, seed):
    g = torch.Generator().manual_seed(seed)
    shapes = {"W1": (hidden, inp), "b1": (hidden,), "W2": (out, hidden), "b2": (out,)}
    params = {key: judge.rand(*shape, generator=g) for key, shape in shapes.items()}
    check(judge.rand(n, inp, generator=g), params, judge.rand(n, out, generator=g))


def under_other_key(key, right):
    """Diagnoses for grads[key] holding another parameter's right gradient (a key swapped in self.grads[...] = ...):
    its shape is that parameter's, not the transpose of its own."""
    return {
        judge.cause("model/grad-holds-other", key=key, other=other): right[other] for other in right if other != key
    }


def test_backward_uses_the_cache_it_is_given():
    # Two forwards, then backward with the first cache: the gradients must be the first batch's.
    g = torch.Generator().manual_seed(9)
    shapes = {"W1": (4, 3), "b1": (4,), "W2": (2, 4), "b2": (2,)}
    params = {key: judge.rand(*shape, generator=g) for key, shape in shapes.items()}
    net = build(3, 4, 2, params)
    x1, x2, dout = judge.rand(5, 3, generator=g), judge.rand(5, 3, generator=g), judge.rand(5, 2, generator=g)
    _, cache1 = judge.call(net.forward, x1)
    judge.call(net.forward, x2)
    grads, _ = backward(net, dout, cache1)
    want = judge.autograd(lambda *p: reference(x1, *p), [params[k] for k in KEYS], dout)
    last = judge.autograd(lambda *p: reference(x2, *p), [params[k] for k in KEYS], dout)
    for key, expected, of_x2 in zip(KEYS, want, last):
        judge.close(
            f"grads['{key}'] (after forward(x1), forward(x2), backward(dout, cache of x1))",
            grads[key],
            expected,
            {"model/backward-uses-last-forward": of_x2, **under_other_key(key, dict(zip(KEYS, want)))},
        )


def test_a_second_backward_replaces_the_gradients():
    # Training calls backward once per batch: after batch 2, grads must be batch 2's alone.
    g = torch.Generator().manual_seed(12)
    shapes = {"W1": (4, 3), "b1": (4,), "W2": (2, 4), "b2": (2,)}
    params = {key: judge.rand(*shape, generator=g) for key, shape in shapes.items()}
    net = build(3, 4, 2, params)
    batches = [(judge.rand(5, 3, generator=g), judge.rand(5, 2, generator=g)) for _ in range(2)]
    for x, dout in batches:
        _, cache = judge.unpack(judge.call(net.forward, x), ("out", "cache"))
        grads, _ = backward(net, dout, cache)
    first, second = (judge.autograd(lambda *p, x=x: reference(x, *p), [params[k] for k in KEYS], d) for x, d in batches)
    for key, one, two in zip(KEYS, first, second):
        judge.close(
            f"grads['{key}'] after backward on batch 1, then on batch 2",
            grads[key],
            two,
            diagnoses={
                "model/grads-accumulate": one + two,
                "model/grads-unchanged": one,
                **under_other_key(key, dict(zip(KEYS, second))),
            },
        )


def test_grads_match_central_differences_of_your_forward():
    g = torch.Generator().manual_seed(10)
    shapes = {"W1": (3, 2), "b1": (3,), "W2": (2, 3), "b2": (2,)}
    params = {key: judge.rand(*shape, generator=g) for key, shape in shapes.items()}
    net = build(2, 3, 2, params)
    x, dout = judge.rand(4, 2, generator=g), judge.rand(4, 2, generator=g)
    forward = net.forward
    _, cache = judge.call(forward, x)
    grads, after = backward(net, dout, cache)
    right = dict(zip(KEYS, judge.autograd(lambda *p: reference(x, *p), [params[k] for k in KEYS], dout)))
    for key in KEYS:
        numeric = judge.numerical_grad(forward, (x,), after[key], dout)
        judge.close(f"grads['{key}']", grads[key], numeric, under_other_key(key, right), rtol=1e-5, atol=1e-6)
