"""Kata 7: the two-layer network, assembled from your own layers.

    x (N, inp_dim) -> affine W1, b1 -> (N, hidden_dim) -> ReLU -> affine W2, b2 -> (N, out_dim)
                   -> sigmoid -> out (N, out_dim), every score in (0, 1)

`forward` runs the four layers in that order and returns (out, cache), where the cache is the
tuple of the four layer caches. `backward` gets dout = dL/dout (N, out_dim) and runs the four
backward functions in the opposite order, each feeding its dx to the layer before it:

    sigmoid_backward -> affine_backward (gives dW2, db2) -> relu_backward
                     -> affine_backward (gives dW1, db1; pass need_dx=False: x is the data)

It stores the four parameter gradients in `self.grads` under the parameters' own keys
(grads["W1"] belongs to params["W1"] and has its shape) and changes nothing else: updating
the parameters is the training loop's job (kata 8).

Kata 9 differentiates forward with torch.autograd, so it stays in torch operations (no .detach(),
.numpy() or torch.no_grad()): the tests check that out stays in autograd's graph when the
parameters require grad.
"""

from torch import Tensor

from .affine import affine_backward, affine_forward
from .init import init_params
from .relu import relu_backward, relu_forward
from .sigmoid import sigmoid_backward, sigmoid_forward


class TwoLayerNet:
    """affine -> ReLU -> affine -> sigmoid, with parameters in `params` and gradients in `grads`."""

    def __init__(self, inp_dim: int, hidden_dim: int, out_dim: int) -> None:
        """Create `self.params` with init_params and `self.grads` with zeros of the same shapes."""
        # >>> kata
        self.params = init_params(inp_dim, hidden_dim, out_dim)
        self.grads = {key: param.new_zeros(param.shape) for key, param in self.params.items()}
        # <<< kata

    def forward(self, x: Tensor) -> tuple[Tensor, tuple]:
        """Return (out, cache) for x (N, inp_dim): out (N, out_dim), cache the four layer caches."""
        # >>> kata
        p = self.params
        h, affine1_cache = affine_forward(x, p["W1"], p["b1"])
        a, relu_cache = relu_forward(h)
        z, affine2_cache = affine_forward(a, p["W2"], p["b2"])
        out, sigmoid_cache = sigmoid_forward(z)
        return out, (affine1_cache, relu_cache, affine2_cache, sigmoid_cache)
        # <<< kata

    def backward(self, dout: Tensor, cache: tuple) -> None:
        """Fill self.grads["W1"], ["b1"], ["W2"], ["b2"] from dout (N, out_dim) and the cache."""
        # >>> kata
        affine1_cache, relu_cache, affine2_cache, sigmoid_cache = cache
        dz = sigmoid_backward(dout, sigmoid_cache)
        da, dW2, db2 = affine_backward(dz, affine2_cache)
        assert da is not None  # need_dx is True here: the hidden layer needs its gradient
        dh = relu_backward(da, relu_cache)
        _, dW1, db1 = affine_backward(dh, affine1_cache, need_dx=False)
        self.grads.update(W1=dW1, b1=db1, W2=dW2, b2=db2)
        # <<< kata
