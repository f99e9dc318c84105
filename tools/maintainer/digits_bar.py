"""Where the bar of kata 8's real-digits test comes from: the reference and broken updates, over seeds.

    python -m tools.maintainer.digits_bar [--seeds 20]

Trains TwoLayerNet(64, 64, 10) exactly as tests/test_train.py's
test_your_pipeline_learns_real_handwritten_digits does (tools/data.DIGITS_RUN; the 1,437
first of scikit-learn's digits, judged on the last 360), once with the reference and once with
each broken variant of solutions/train.py below, for seeds 0 to N-1, and prints the held-out
accuracy of each: lowest, highest, and with seed 0 (the test's). The bar (DIGITS_BAR in the test)
must sit well under the reference's lowest and over the broken updates' highest.
"""

from __future__ import annotations

import argparse
import sys
import time
import types
from collections.abc import Callable
from functools import partial
from typing import Any

from tools.learner.train import STATS
from tools.manifest import ROOT

UPDATE = "param -= learning_rate * model.grads[key]"
LABELS = "l2_loss(out, train_labels[rows])"
BATCHES = "for start in range(0, n, batch_size):"

# name -> (what, old text of solutions/train.py, new text)
VARIANTS: dict[str, tuple[str, str, str]] = {
    "never-updates": ("the parameters never change", UPDATE, "param = param - learning_rate * model.grads[key]"),
    "climbs": ("the step adds the gradient", UPDATE, "param += learning_rate * model.grads[key]"),
    "ten-times-the-step": ("the step is 10 x lr x grad", UPDATE, "param -= 10 * learning_rate * model.grads[key]"),
    "a-tenth-of-the-step": ("the step is lr x grad / 10", UPDATE, "param -= learning_rate / 10 * model.grads[key]"),
    "no-learning-rate": ("the step ignores the learning rate", UPDATE, "param -= model.grads[key]"),
    "W1-climbs": (
        "W1 steps up the gradient",
        UPDATE,
        "param -= (1 - 2 * (key == 'W1')) * learning_rate * model.grads[key]",
    ),
    "W2-climbs": (
        "W2 steps up the gradient",
        UPDATE,
        "param -= (1 - 2 * (key == 'W2')) * learning_rate * model.grads[key]",
    ),
    "first-layer-frozen": (
        "W1, b1 never change",
        UPDATE,
        "param -= learning_rate * model.grads[key] * key.endswith('2')",
    ),
    "second-layer-frozen": (
        "W2, b2 never change",
        UPDATE,
        "param -= learning_rate * model.grads[key] * key.endswith('1')",
    ),
    "biases-frozen": ("b1, b2 never change", UPDATE, "param -= learning_rate * model.grads[key] * key.startswith('W')"),
    "sign-only": ("the step is lr x sign(grad)", UPDATE, "param -= learning_rate * model.grads[key].sign()"),
    "label-slice": (
        "labels sliced by position, data shuffled",
        LABELS,
        "l2_loss(out, train_labels[start : start + batch_size])",
    ),
    "labels-own-permutation": (
        "labels shuffled apart from the data",
        LABELS,
        "l2_loss(out, train_labels[torch.randperm(n)[: len(rows)]])",
    ),
    "one-batch": (
        "each epoch trains on its first batch only",
        BATCHES,
        "for start in range(0, batch_size, batch_size):",
    ),
}


def variant(old: str | None = None, new: str = "") -> types.ModuleType:
    """solutions/train.py, with `old` replaced by `new` (exactly once), as a module of the solutions package."""
    import solutions  # noqa: F401  (the package that the module's relative imports resolve in)

    source = (ROOT / "solutions" / "train.py").read_text(encoding="utf-8")
    if old is not None:
        if source.count(old) != 1:
            raise SystemExit(f"digits_bar: {old!r} is not in solutions/train.py exactly once; update VARIANTS")
        source = source.replace(old, new)
    module = types.ModuleType("solutions._digits_bar")
    module.__package__ = "solutions"
    exec(compile(source, str(ROOT / "solutions" / "train.py"), "exec"), module.__dict__)
    return module


def accuracy(train: Any, seed: int) -> float:
    """The held-out accuracy that the kata-8 digits test measures, with this train module and seed."""
    import torch

    from solutions import TwoLayerNet
    from tools.data import DIGITS_RUN, load_digits

    digits = load_digits()
    mean, std = STATS["digits"]
    x, vx = ((train.flatten_images(i) / 255 - mean) / std for i in (digits.train_images, digits.test_images))
    torch.manual_seed(seed)
    net = TwoLayerNet(64, 64, 10)
    history = train.train_model(net, x, digits.train_labels, vx, digits.test_labels, *DIGITS_RUN)
    return float(history["validation_accuracy"][-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.maintainer.digits_bar", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0 to N-1 (default 20)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    import torch

    torch.set_num_threads(1)
    rows: list[tuple[str, str, Callable[[], types.ModuleType]]] = [("reference", "solutions/train.py", variant)]
    rows += [(name, what, partial(variant, old, new)) for name, (what, old, new) in VARIANTS.items()]
    print(f"{'variant':24} {'lowest':>7} {'highest':>7} {'seed 0':>7}  what ({args.seeds} seeds)")
    for name, what, make in rows:
        start, module = time.perf_counter(), make()
        accs = [accuracy(module, seed) for seed in range(args.seeds)]
        print(
            f"{name:24} {min(accs):7.1%} {max(accs):7.1%} {accs[0]:7.1%}  {what} "
            f"({(time.perf_counter() - start) / args.seeds:.2f} s a run)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
