"""A two-layer MNIST classifier written by hand, one kata per module (see README.md).

The public names are importable from the package itself (`from katas import TwoLayerNet`).
They load lazily, module by module, so that an unfinished or broken kata only affects the
katas that use it.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "affine_forward": "affine",
    "affine_backward": "affine",
    "relu_forward": "relu",
    "relu_backward": "relu",
    "sigmoid_forward": "sigmoid",
    "sigmoid_backward": "sigmoid",
    "l2_loss": "l2",
    "calculate_accuracy": "accuracy",
    "init_params": "init",
    "TwoLayerNet": "model",
    "flatten_images": "train",
    "train_model": "train",
    "KEY_MAP": "autograd_bridge",
    "TwoLayerPytorch": "autograd_bridge",
    "to_pytorch": "autograd_bridge",
    "autograd_grads": "autograd_bridge",
    "sgd_step": "autograd_bridge",
    "softmax": "softmax_ce",
    "cross_entropy_loss": "softmax_ce",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
