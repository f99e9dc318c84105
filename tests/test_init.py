"""Kata 6: init_params."""

import math

import torch

from tests import judge

mod = judge.load("init")
KEYS = {"W1", "b1", "W2", "b2"}


def make(inp, hidden, out, seed=0):
    judge.seed(seed)
    params = judge.call(mod.init_params, inp, hidden, out)
    if not isinstance(params, dict):
        raise judge.fail(f"init_params returned {judge.kind(params)}; expected a dict of four tensors.")
    judge.value("the keys of init_params(...)", set(params), KEYS, "Name them W1, b1, W2 and b2.")
    return params


def check_shapes(params, inp, hidden, out):
    want = {"W1": (hidden, inp), "b1": (hidden,), "W2": (out, hidden), "b2": (out,)}
    for key, shape in want.items():
        got = judge.tensor(key, params[key])
        if tuple(got.shape) != shape:
            if tuple(got.shape) == shape[::-1]:
                cause = judge.cause("init/transposed", key=key)
            elif len(shape) == 1 and tuple(got.shape) == (*shape, 1):
                cause = judge.cause("init/bias-column", key=key, n=shape[0])
            else:
                cause = None
            raise judge.fail(
                f"init_params({inp}, {hidden}, {out}) gave {key} of shape {tuple(got.shape)}; expected {shape}.",
                cause,
            )
        if got.dtype != torch.get_default_dtype():
            # float64 weights that two calls after the same torch.manual_seed do not repeat: NumPy's generator.
            again = make(inp, hidden, out) if key.startswith("W") and got.dtype == torch.float64 else None
            numpy = again is not None and isinstance(again.get(key), torch.Tensor) and not torch.equal(again[key], got)
            raise judge.fail(
                f"{key} is {got.dtype}; expected the default float dtype {torch.get_default_dtype()}.",
                judge.cause("init/numpy-rng", key=key) if numpy else None,
            )


def check_std(key, W, fan, name, also=None):
    """W's standard deviation must be sqrt(2 / fan), written sqrt(2 / name); `also`: {mistake's id: wrong std}."""
    want, got = math.sqrt(2 / fan), W.std().item()
    if abs(got / want - 1) < 0.04:
        return
    causes = [
        (judge.cause("init/variance-as-std", name=name), 2 / fan),
        (judge.cause("init/no-factor-2", name=name), math.sqrt(1 / fan)),
        (judge.cause("init/unscaled"), 1.0),
        (judge.cause("init/uniform-std"), math.sqrt(1 / 12)),
        (judge.cause("init/uniform-std"), want * math.sqrt(1 / 12)),
        *((judge.cause(mistake), s) for mistake, s in (also or {}).items()),
    ]
    raise judge.fail(
        f"{key} has standard deviation {got:.4f}; expected {want:.4f} = sqrt(2 / {name}), {name} = {fan}.",
        next((cause for cause, s in causes if abs(got / s - 1) < 0.04), None),
    )


def check_zero_biases(params):
    for key in ("b1", "b2"):
        b = params[key]
        if b.any():
            how = "drawn at random" if b.unique().numel() > 1 else f"filled with {b[0].item():g}"
            raise judge.fail(
                f"{key} is not all zeros (it holds {b.tolist()}).", judge.cause("init/bias-not-zero", key=key, how=how)
            )


def scales(inp, hidden, out):
    """check_std's arguments for W1 and W2, with the scale mistakes specific to each."""
    return [
        (
            "W1",
            inp,
            "inp_dim",
            {"init/fan-out": math.sqrt(2 / hidden), "init/xavier-for-he": math.sqrt(2 / (inp + hidden))},
        ),
        ("W2", hidden + out, "(hidden_dim + out_dim)", {"init/he-for-xavier": math.sqrt(2 / hidden)}),
    ]


def test_keys_shapes_and_zero_biases():
    params = make(7, 5, 3)
    check_shapes(params, 7, 5, 3)
    check_zero_biases(params)


def test_the_tutorial_check():
    params = make(100, 50, 40)
    check_shapes(params, 100, 50, 40)
    for key, fan, name, also in scales(100, 50, 40):
        check_std(key, params[key], fan, name, also)


def test_he_and_xavier_scales_on_large_layers():
    params = make(400, 300, 200, seed=1)
    for key, fan, name, also in scales(400, 300, 200):
        check_std(key, params[key], fan, name, also)


def test_weights_are_normal_with_mean_zero():
    params = make(500, 400, 10, seed=2)
    for key in ("W1", "W2"):
        W = params[key]
        mean, std = W.mean().item(), W.std().item()
        if abs(mean) > 0.05 * std:
            raise judge.fail(
                f"{key} has mean {mean:.4f}; weights are centred on 0 (mean 0, sign random).",
                judge.cause("init/uniform-mean") if bool((W >= 0).all()) else None,
            )
        inside = ((W - mean).abs() < std).double().mean().item()  # 68.3 % for a normal, 57.7 % uniform
        if abs(inside - 0.683) > 0.02:
            raise judge.fail(
                f"{inside:.1%} of {key} lies within one standard deviation; a normal distribution has 68.3 %. "
                "Draw the weights with torch.randn."
            )


def test_repeatable_under_manual_seed_and_different_across_seeds():
    first, again, other = make(20, 10, 5, seed=3), make(20, 10, 5, seed=3), make(20, 10, 5, seed=4)
    for key in ("W1", "W2"):
        if not torch.equal(first[key], again[key]):
            raise judge.fail(
                f"{key} differs between two calls after torch.manual_seed(3): use torch's generator.",
                judge.cause("init/other-generator", key=key),
            )
        if torch.equal(first[key], other[key]):
            raise judge.fail(f"{key} is the same under two different seeds: draw it at random.")
    if torch.equal(first["W1"][0], first["W1"][1]):
        raise judge.fail("the rows of W1 are all equal: each hidden unit needs its own random weights.")
