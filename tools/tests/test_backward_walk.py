"""tests/backward_walk.py names each miswired backward below at its layer, and its mistake.

Each mistake is made in the reference TwoLayerNet (one text replacement, as in the bug zoo), which then runs
forward and backward on the tutorial's inputs and on a small random batch; the walk must name the expected
first layer and, among the mistakes that fit, the one made.
"""

import types

import pytest
import torch

from tests import backward_walk
from tools.mistakes import Cause, catalogue, cause
from tools.stubs import SOLUTIONS

SIGMOID = "dz = sigmoid_backward(dout, sigmoid_cache)"
RELU = "dh = relu_backward(da, relu_cache)"
STORE = "W1=dW1, b1=db1, W2=dW2, b2=db2"
EXPECTED = {  # name -> (old, new, the layer, the mistake)
    "no-sigmoid-backward": (SIGMOID, "dz = dout", "model/walk-from-sigmoid", "model/sigmoid-backward-skipped"),
    "sigmoid-cache-is-input": (
        "return out, (affine1_cache, relu_cache, affine2_cache, sigmoid_cache)",
        "return out, (affine1_cache, relu_cache, affine2_cache, z)",
        "model/walk-from-sigmoid",
        "model/sigmoid-backward-uses-input",
    ),
    "grads-divided-by-N": (SIGMOID, SIGMOID + " / len(dout)", "model/walk-from-sigmoid", "model/grad-divided-by-N"),
    # Right gradients under the wrong keys: no step went wrong, so no layer is said, only the mistake.
    "grads-swapped": (STORE, "W1=dW2, b1=db2, W2=dW1, b2=db1", None, "model/grads-swapped"),
    "W2-holds-dW1": (STORE, "W1=dW1, b1=db1, W2=dW1, b2=db2", None, "model/grad-holds-other"),
    "no-relu-backward": (RELU, "dh = da", "model/walk-from-relu", "model/relu-backward-skipped"),
    "relu-mask-from-gradient": (
        RELU,
        "dh = relu_backward(da, da)",
        "model/walk-from-relu",
        "model/relu-mask-from-gradient",
    ),
    "relu-mask-inverted": (
        RELU,
        "dh = da - relu_backward(da, relu_cache)",
        "model/walk-from-relu",
        "model/relu-mask-inverted",
    ),
    "dh-from-dout": (
        RELU,
        "dh = relu_backward(affine_backward(dout, affine2_cache)[0], relu_cache)",
        "model/walk-from-relu",
        "model/dh-from-dout",
    ),
    "grads-not-stored": (STORE, "b1=db1, W2=dW2, b2=db2", "model/walk-at-W1", "model/grad-never-stored"),
}


def net_class(source: str) -> type:
    module = types.ModuleType("solutions.miswired")
    module.__package__ = "solutions"
    exec(compile(source, "miswired model.py", "exec"), module.__dict__)  # the reference, one change made
    return module.TwoLayerNet


def batches():
    def linspace(*shape):
        return torch.linspace(-2.0, 2.0, int(torch.tensor(shape).prod())).reshape(shape)

    params = {"W1": linspace(50, 100), "b1": linspace(50), "W2": linspace(40, 50), "b2": linspace(40)}
    yield linspace(5, 100), params, linspace(5, 40)
    g = torch.Generator().manual_seed(11)
    shapes = {"W1": (4, 5), "b1": (4,), "W2": (2, 4), "b2": (2,)}
    params = {key: torch.randn(*shape, generator=g, dtype=torch.float64) for key, shape in shapes.items()}
    yield (
        torch.randn(3, 5, generator=g, dtype=torch.float64),
        params,
        torch.randn(3, 2, generator=g, dtype=torch.float64),
    )


def said(source: str) -> list[Cause | None]:
    said = []
    for x, params, dout in batches():
        net = net_class(source)(x.shape[1], params["W1"].shape[0], params["W2"].shape[0])
        net.params = dict(params)
        _, cache = net.forward(x)
        net.backward(dout, cache)
        said.append(backward_walk.walk(x, params, dout, net.grads, rtol=1e-5, atol=1e-6))
    return said


def test_the_reference_is_not_diagnosed():
    assert said((SOLUTIONS / "model.py").read_text(encoding="utf-8")) == [None] * 2


@pytest.mark.parametrize("mistake", EXPECTED)
def test_each_miswired_backward_is_named_at_its_layer(mistake):
    old, new, layer, name = EXPECTED[mistake]
    source = (SOLUTIONS / "model.py").read_text(encoding="utf-8")
    assert source.count(old) == 1, old
    for found in said(source.replace(old, new)):
        assert found is not None
        if layer is None:
            assert found.ids == (name,) and "walking back" not in found.text, found.text
            continue
        assert found.ids[:1] == (layer,) and name in found.ids[1:], found.text
        assert found.text.startswith(cause(layer).text), found.text
        assert all(catalogue()[i].says.split("{")[0] in found.text for i in found.ids), found.text
