"""Where kata 8's separable-data test stands: the reference and broken updates, over shuffling seeds.

    python -m tools.maintainer.separable_bar [--seeds 20]

Trains TwoLayerNet(10, 16, 3) on three blobs as tests/test_train.py's
test_your_network_learns_separable_data does (tools/data.SEPARABLE_RUN, from tools/data.separable_start),
with the reference and with each broken variant of solutions/train.py that digits_bar knows, for seeds 0 to
N-1 (the seed the shuffling draws from; the test's is 0). Prints how many seeds pass the test's two bars (the
loss falls to under half, 90 % held out), and the lowest and highest held-out accuracy. One more row: the
reference from its own init at each seed, which is why the test sets the start itself.
The reference must pass at every seed; a broken update should fail at seed 0, and at most seeds.
"""

from __future__ import annotations

import argparse
import sys
import types
from collections.abc import Callable
from functools import partial
from typing import Any

from tools.maintainer.digits_bar import VARIANTS, variant


def run(train: Any, seed: int, own_init: bool = False) -> tuple[bool, float]:
    """(whether the test's bars are met, the held-out accuracy) for this train module and shuffling seed."""
    import torch

    from solutions import TwoLayerNet
    from tools.data import SEPARABLE_RUN, blobs, separable_start

    x, labels = blobs(300)
    vx, vlabels = blobs(150, seed=1)
    torch.manual_seed(seed)
    net = TwoLayerNet(10, 16, 3)
    if not own_init:
        net.params = separable_start(10, 16, 3)
    history = train.train_model(net, x, labels, vx, vlabels, *SEPARABLE_RUN)
    loss, acc = history["train_loss"], float(history["validation_accuracy"][-1])
    return loss[-1] < 0.5 * loss[0] and acc >= 0.9, acc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.maintainer.separable_bar", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0 to N-1 (default 20)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    import torch

    torch.set_num_threads(1)
    rows: list[tuple[str, str, Callable[[], types.ModuleType], bool]] = [
        ("reference", "solutions/train.py", variant, False),
        ("reference, own init", "the net's own init_params at each seed", variant, True),
    ]
    rows += [(name, what, partial(variant, old, new), False) for name, (what, old, new) in VARIANTS.items()]
    print(f"{'variant':24} {'passes':>7} {'seed 0':>7} {'lowest':>7} {'highest':>7}  what ({args.seeds} seeds)")
    for name, what, make, own_init in rows:
        module = make()
        found = [run(module, seed, own_init) for seed in range(args.seeds)]
        accs = [acc for _, acc in found]
        passes = sum(ok for ok, _ in found)
        first = "pass" if found[0][0] else "fail"
        print(f"{name:24} {passes:>7} {first:>7} {min(accs):7.1%} {max(accs):7.1%}  {what}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
