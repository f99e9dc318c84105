"""Kata 9: TwoLayerPytorch, KEY_MAP, to_pytorch, autograd_grads and sgd_step (uses katas 4, 6 and 7)."""

import torch
from torch import nn

from tests import backward_walk, judge
from tests.stand_ins import reference

mod = judge.load("autograd_bridge")
KEYS = ("W1", "b1", "W2", "b2")
WANT_MAP = {"W1": "linear_1.weight", "b1": "linear_1.bias", "W2": "linear_2.weight", "b2": "linear_2.bias"}
# load_state_dict says "size mismatch for NAME: copying a param with shape torch.Size([a, b]) from checkpoint, the shape
# in current model is torch.Size([c, d])" for each entry that does not fit.
_MISMATCH = (
    r"size mismatch for [\w.]+: copying a param with shape torch\.Size\(\[{}\]\) from checkpoint, "
    r"the shape in current model is torch\.Size\(\[{}\]\)"
)
_NOT = r"(?![\s\S]*{})"  # no such line anywhere
# Every entry that does not fit is a weight whose rows and columns are swapped, and none is anything else: W.T loaded.
WEIGHTS_TRANSPOSED = (
    r"^(?=[\s\S]*size mismatch)"
    + _NOT.format(_MISMATCH.format(r"(\d+), (\d+)", r"(?!\2, \1\]\))[\d, ]*"))  # 2-d, but not the transpose
    + _NOT.format(_MISMATCH.format(r"\d*", r"[\d, ]*"))  # a bias (or a 0-d entry)
    + _NOT.format(_MISMATCH.format(r"\d+, \d+, [\d, ]+", r"[\d, ]*"))  # more than 2-d
)


def load_crash():
    """Causes for to_pytorch's crash in load_state_dict: the weights transposed; else KEY_MAP when it is wrong; else
    the sizes the module was built with (KEY_MAP is right, so each tensor went to its own layer)."""
    got = dict(mod.KEY_MAP)
    misplaced = [key for key, name in WANT_MAP.items() if got.get(key) != name and got.get(key) in WANT_MAP.values()]
    if misplaced:
        key = misplaced[0]
        wrong = judge.cause("autograd_bridge/key-map-misplaced", key=key, name=repr(got[key]))
    else:
        wrong = "autograd_bridge/module-sizes" if got == WANT_MAP else None
    return {WEIGHTS_TRANSPOSED: "autograd_bridge/weight-transposed", **({r"size mismatch": wrong} if wrong else {})}


def l2(out, labels):
    return ((out - nn.functional.one_hot(labels, out.shape[1]).to(out.dtype)) ** 2).sum() / out.shape[0]


def random_params(inp, hidden, out, seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    shapes = {"W1": (hidden, inp), "b1": (hidden,), "W2": (out, hidden), "b2": (out,)}
    return {key: torch.randn(*shape, generator=g, dtype=dtype) for key, shape in shapes.items()}


def test_the_module_has_the_four_layers_in_order():
    module = judge.call(mod.TwoLayerPytorch, 6, 5, 4)
    for name, kind in (
        ("linear_1", nn.Linear),
        ("relu", nn.ReLU),
        ("linear_2", nn.Linear),
        ("sigmoid", nn.Sigmoid),
    ):
        layer = getattr(module, name, None)
        if not judge.is_a(layer, kind):
            raise judge.fail(f"TwoLayerPytorch(6, 5, 4).{name} should be an nn.{kind.__name__}; it is {layer!r}.")
    judge.value(
        "linear_2's (in_features, out_features)",
        (module.linear_2.in_features, module.linear_2.out_features),
        (5, 4),
    )
    params = {
        key: p.detach()
        for key, p in zip(
            KEYS, (module.linear_1.weight, module.linear_1.bias, module.linear_2.weight, module.linear_2.bias)
        )
    }
    x = torch.randn(3, 6, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        got = judge.call(module, x)
    judge.close(
        "the output",
        got,
        reference(x, *params.values()),
        diagnoses={
            "autograd_bridge/no-sigmoid": lambda: (
                torch.relu(x @ params["W1"].T + params["b1"]) @ params["W2"].T + params["b2"]
            ),
        },
    )


def test_key_map_names_the_state_dict_entries():
    got = dict(mod.KEY_MAP)
    if not got:
        raise judge.NotStarted(f"{judge.current().label}: KEY_MAP is still empty; fill it in katas/autograd_bridge.py.")
    misplaced = [key for key, name in WANT_MAP.items() if got.get(key) != name and got.get(key) in WANT_MAP.values()]
    judge.value(
        "KEY_MAP",
        got,
        WANT_MAP,
        "Each TwoLayerNet key maps to the TwoLayerPytorch state_dict key holding the same numbers.",
        judge.cause("autograd_bridge/key-map-misplaced", key=misplaced[0], name=repr(got[misplaced[0]]))
        if misplaced
        else None,
    )


def test_to_pytorch_copies_a_trained_net():
    for dtype in (torch.float64, torch.float32):
        params = random_params(7, 5, 3, seed=1, dtype=dtype)
        net = judge.stand_in("OracleNet", params)  # a TwoLayerNet's stand-in, in the kata's process
        module = judge.call(mod.to_pytorch, net, explain=load_crash())
        if not judge.is_a(module, nn.Module):
            raise judge.fail(f"to_pytorch returned {judge.kind(module)}; expected a TwoLayerPytorch.")
        state = module.state_dict()
        kinds = {(t.dtype, t.device) for t in state.values()}
        if kinds != {(dtype, params["W1"].device)}:
            raise judge.fail(
                f"to_pytorch(net) for a {dtype} net holds parameters of {sorted(str(d) for d, _ in kinds)}.",
                judge.cause("autograd_bridge/float32-module"),
            )
        if not any(same_values(state.get(name), params[key]) for key, name in WANT_MAP.items()):
            raise judge.fail(
                "to_pytorch(net) returned a module that holds none of the net's parameters.",
                judge.cause("autograd_bridge/values-not-loaded"),
            )
        for key, name in WANT_MAP.items():
            transposed = {"autograd_bridge/weight-transposed": params[key].T} if key.startswith("W") else None
            judge.close(f"to_pytorch(net).state_dict()['{name}']", state.get(name), params[key], transposed)
        x = torch.randn(4, 7, generator=torch.Generator().manual_seed(2), dtype=dtype)
        with torch.no_grad():
            judge.close("the output of to_pytorch(net)", judge.call(module, x), net.forward(x)[0])
        kept = {key: p.clone() for key, p in net.params.items()}
        with torch.no_grad():
            for parameter in module.parameters():
                parameter.add_(1.0)
        shared = [key for key in KEYS if not torch.equal(net.params[key], kept[key])]
        if shared:
            raise judge.fail(
                f"to_pytorch(net) returned a module that shares memory with the net: changing the module's "
                f"parameters (as an optimizer step does) changed net.params['{shared[0]}'] too.",
                judge.cause("autograd_bridge/shares-memory"),
            )


def same_values(got, want):
    return isinstance(got, torch.Tensor) and got.shape == want.shape and torch.allclose(got.double(), want.double())


def scaled_cause(got, want, n, classes):
    """A cause when every one of autograd_grads' gradients is the right one times the same meaningful factor: the
    loss it differentiated is l2_loss scaled (F.mse_loss's mean over N * C entries gives 1/C, a sum over the rows
    N, a second division by N 1/N); None when no factor fits them all."""
    factors = {
        "autograd_bridge/loss-mean-over-all": 1 / classes,
        "autograd_bridge/loss-summed-over-rows": n,
        "autograd_bridge/loss-divided-by-N-twice": 1 / n,
        "autograd_bridge/loss-doubled": 2,
        "autograd_bridge/loss-negated": -1,
    }
    if not all(isinstance(got.get(key), torch.Tensor) and got[key].shape == want[key].shape for key in KEYS):
        return None
    for mistake, factor in factors.items():
        if all(
            torch.allclose(got[key].detach().double(), factor * want[key].double(), rtol=1e-4, atol=1e-7)
            for key in KEYS
        ):
            return judge.cause(mistake, n=n, classes=classes)
    return None


def grads_of(got):
    """autograd_grads must return a dict with the four keys."""
    if not isinstance(got, dict) or set(got) != set(KEYS):
        what = f"a dict with keys {sorted(got)}" if isinstance(got, dict) else judge.kind(got)
        raise judge.fail(f"autograd_grads returned {what}; expected a dict with keys W1, b1, W2, b2.")
    return got


def test_autograd_grads_are_torch_autograds_and_leave_the_net_alone():
    params = random_params(6, 4, 3, seed=3)
    net = judge.stand_in("OracleNet", params)
    originals = {key: (p, p.clone()) for key, p in net.params.items()}
    grads_before = {key: g.clone() for key, g in net.grads.items()}
    x = torch.randn(5, 6, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    labels = torch.tensor([0, 2, 1, 1, 0])
    got = grads_of(judge.call(mod.autograd_grads, net, x, labels))
    leaves = [params[k].clone().requires_grad_(True) for k in KEYS]
    want = torch.autograd.grad(l2(reference(x, *leaves), labels), leaves)
    scaled = scaled_cause(got, dict(zip(KEYS, want)), len(x), params["W2"].shape[0])
    for key, expected in zip(KEYS, want):
        judge.close(f"autograd_grads(...)['{key}']", got[key], expected, {scaled: got[key]} if scaled else None)
    for key, (original, copy) in originals.items():
        causes = {
            "autograd_bridge/params-not-restored": net.params[key] is not original,
            "autograd_bridge/wrote-into-net": not torch.equal(original, copy),
            "autograd_bridge/requires-grad-on-net": original.requires_grad,
        }
        cause = next((mistake for mistake, found in causes.items() if found), None)
        if cause:
            raise judge.fail(
                f"autograd_grads changed net.params['{key}']; work on detached copies and restore the net.",
                judge.cause(cause),
            )
    for key, grad in grads_before.items():
        if not torch.equal(net.grads[key], grad):
            raise judge.fail(f"autograd_grads changed net.grads['{key}']; it should only return its gradients.")


def test_your_backward_agrees_with_autograd():
    model_mod = judge.load("model")
    judge.seed(5)
    net = judge.call(model_mod.TwoLayerNet, 8, 6, 4)
    # Non-zero biases: no pre-activation lands exactly on 0, where autograd's |x| has slope 0.
    net.params = {**net.params, "b1": 0.1 * torch.randn(6), "b2": 0.1 * torch.randn(4)}
    x = torch.randn(16, 8)
    labels = torch.randint(0, 4, (16,))
    got = grads_of(judge.call(mod.autograd_grads, net, x, labels))
    l2_mod = judge.load("l2")
    with torch.no_grad():
        out, cache = judge.call(net.forward, x)
        _, dout = judge.call(l2_mod.l2_loss, out, labels)
        judge.call(net.backward, dout, cache)
    grads = net.grads
    # From the loss back, as kata 7 walks it: where your backward (kata 7) first goes wrong, and how; None when
    # it is right (then autograd_grads is the one that differs).
    cause = backward_walk.walk(x, net.params, dout, grads, rtol=1e-4, atol=1e-6)
    if cause is None:  # your backward is right: autograd_grads differs, by one factor for all four, perhaps
        cause = scaled_cause(got, grads, len(x), out.shape[1])
    for key in backward_walk.ORDER:
        judge.close(
            f"autograd's gradient of {key} against your backward's",
            got[key],
            grads[key],
            {cause: got[key]} if cause else None,
            rtol=1e-4,
            atol=1e-6,
            nonfinite=cause,
        )


def test_sgd_step_matches_the_hand_written_update():
    params = random_params(5, 4, 3, seed=6, dtype=torch.float32)
    module = judge.call(mod.TwoLayerPytorch, 5, 4, 3)
    module.load_state_dict({WANT_MAP[k]: v for k, v in params.items()})
    x = torch.randn(6, 5, generator=torch.Generator().manual_seed(7))
    labels = torch.tensor([0, 1, 2, 2, 1, 0])
    lr = 0.3
    leaves = [params[k].clone().requires_grad_(True) for k in KEYS]
    loss = l2(reference(x, *leaves), labels)
    grads = torch.autograd.grad(loss, leaves)
    # Gradients left over from an earlier step, as a previous backward leaves them: the step must not add them.
    stale = {key: torch.full_like(params[key], 0.5) for key in KEYS}
    judge.stand_in("with_grads", module, {name: stale[key] for key, name in WANT_MAP.items()})
    got_loss = judge.call(mod.sgd_step, module, x, labels, lr)
    with torch.no_grad():
        after = {k: params[k] - lr * g for k, g in zip(KEYS, grads)}
        loss_after = l2(reference(x, *(after[k] for k in KEYS)), labels)
    judge.close(
        "the loss",
        got_loss,
        loss.detach(),
        {"autograd_bridge/loss-after-step": loss_after},
        compare_dtype=False,
    )
    state = module.state_dict()
    for key, grad in zip(KEYS, grads):
        judge.close(
            f"{WANT_MAP[key]} after sgd_step",
            state[WANT_MAP[key]],
            params[key] - lr * grad,
            diagnoses={
                "autograd_bridge/no-step": params[key],
                "autograd_bridge/wrong-learning-rate": lambda g=grad, k=key: params[k] - g,
                "autograd_bridge/grads-not-zeroed": params[key] - lr * (grad + stale[key]),
            },
            rtol=1e-5,
            atol=1e-6,
        )
