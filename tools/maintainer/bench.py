"""How fast is the hand-written network? One epoch three ways, side by side, on random data.

    python -m tools.maintainer.bench                      CPU, and CUDA when there is one
    python -m tools.maintainer.bench --device cpu --json bench.json
    python -m tools.maintainer.bench --quick              a small N, for tests

    hand      the reference solutions.train.train_model(n_epochs=1): shuffle, gather each
              batch, forward, l2_loss, backward, SGD update, then its end-of-epoch bookkeeping
              (mean loss, accuracy on all training rows and on the validation rows)
    autograd  the same net as torch.nn modules (Linear, ReLU, Linear, Sigmoid), the same L2 loss,
              torch.autograd and torch.optim.SGD, the same initial weights and the same batches
              in the same order, and the same end-of-epoch bookkeeping
    matmul    the floor: only the matrix products of that epoch, 5 per batch (2 forward:
              x W1^T, h W2^T; 3 backward: dz^T h, dz W2, dh^T x) and the 2 forward products of
              the evaluation, on batches that are already contiguous

All three include the evaluation that train_model does at the end of the epoch: it is part of
what one call costs. After one untimed warm-up of each, the three are timed round after round
(--pairs rounds, 7 by default, the order rotating each round), so that each ratio compares runs
made side by side: the table shows the median of the per-round ratios and their spread, which a
drifting, shared machine cannot tilt towards whichever ran in a quiet moment.

torch runs on one CPU thread unless --threads says otherwise: at hidden 64 the products are too
small to gain much from splitting, and with two or more threads the timings swing tenfold as
soon as anything else runs on the machine (the threads wait on each other).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

INPUTS, HIDDEN, CLASSES = 784, 64, 10
BATCH_SIZES = (16, 256)
LEARNING_RATE = 0.1
SEED = 0


def make_data(n: int, device: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Random training rows (n, 784) and n // 6 validation rows, labels in 0..9."""
    generator = torch.Generator().manual_seed(SEED)
    n_val = max(1, n // 6)
    x = torch.randn(n + n_val, INPUTS, generator=generator)
    y = torch.randint(0, CLASSES, (n + n_val,), generator=generator)
    x, y = x.to(device), y.to(device)
    return x[:n], y[:n], x[n:], y[n:]


def fresh_net(device: str):
    from solutions import TwoLayerNet

    torch.manual_seed(SEED)
    net = TwoLayerNet(INPUTS, HIDDEN, CLASSES)
    net.params = {key: param.to(device) for key, param in net.params.items()}
    net.grads = {key: grad.to(device) for key, grad in net.grads.items()}
    return net


def hand_epoch(data: tuple, batch_size: int) -> Callable[[], object]:
    from solutions import train_model

    net = fresh_net(data[0].device.type)

    def run() -> object:
        torch.manual_seed(SEED + 1)  # the shuffle
        train_model(net, *data, n_epochs=1, learning_rate=LEARNING_RATE, batch_size=batch_size)
        return net

    return run


class TwoLayerModule(nn.Sequential):
    def __init__(self) -> None:
        super().__init__(nn.Linear(INPUTS, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, CLASSES), nn.Sigmoid())


def autograd_epoch(data: tuple, batch_size: int) -> Callable[[], object]:
    x, y, x_val, y_val = data
    net = fresh_net(x.device.type)
    module = TwoLayerModule().to(x.device)
    with torch.no_grad():
        for layer, (w, b) in ((module[0], ("W1", "b1")), (module[2], ("W2", "b2"))):
            layer.weight.copy_(net.params[w])  # type: ignore[operator]
            layer.bias.copy_(net.params[b])  # type: ignore[operator]
    optimizer = torch.optim.SGD(module.parameters(), lr=LEARNING_RATE)

    def run() -> object:
        torch.manual_seed(SEED + 1)  # the shuffle: the same batches in the same order as hand
        order = torch.randperm(len(x), device=x.device)
        losses = []
        for start in range(0, len(x), batch_size):
            rows = order[start : start + batch_size]
            optimizer.zero_grad()
            out = module(x[rows])
            onehot = nn.functional.one_hot(y[rows], CLASSES).to(out.dtype)
            loss = (out - onehot).pow(2).sum() / len(rows)
            loss.backward()
            optimizer.step()
            losses.append(loss.detach())
        with torch.no_grad():
            history = {
                "train_loss": torch.stack(losses).mean().item(),
                "train_accuracy": (module(x).argmax(-1) == y).float().mean().item(),
                "validation_accuracy": (module(x_val).argmax(-1) == y_val).float().mean().item(),
            }
        return module, history

    return run


def matmul_epoch(data: tuple, batch_size: int) -> Callable[[], object]:
    x, _, x_val, _ = data
    net = fresh_net(x.device.type)
    W1, W2 = net.params["W1"], net.params["W2"]

    def run() -> object:
        for start in range(0, len(x), batch_size):
            xb = x[start : start + batch_size]
            h = xb @ W1.T
            z = h @ W2.T
            dW2 = z.T @ h
            dh = z @ W2
            dW1 = dh.T @ xb
        for rows in (x, x_val):
            out = (rows @ W1.T) @ W2.T
        return dW1, dW2, out

    return run


def timed(run: Callable[[], object], device: str) -> float:
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    run()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def paired_times(makers: Mapping[str, Callable[[], Callable[[], object]]], device: str, rounds: int) -> dict:
    """{name: [seconds per round]}: every maker's run once per round, in an order that rotates each round,
    after one untimed warm-up of each. Each run gets a fresh set-up (not timed)."""
    names = list(makers)
    for name in names:
        makers[name]()()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(timed(makers[name](), device))
    return times


def spread(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"median": round(statistics.median(ordered), 4), "low": round(ordered[0], 4), "high": round(ordered[-1], 4)}


def max_difference(data: tuple, batch_size: int) -> float:
    """Largest |hand - autograd| over the parameters after one epoch: both must train the same net."""
    net: Any = hand_epoch(data, batch_size)()
    trained: Any = autograd_epoch(data, batch_size)()
    module = trained[0]
    pairs = zip(("W1", "b1", "W2", "b2"), (module[0].weight, module[0].bias, module[2].weight, module[2].bias))
    return max((net.params[key] - param).abs().max().item() for key, param in pairs)


def bench(device: str, n: int, rounds: int) -> list[dict]:
    data = make_data(n, device)
    rows = []
    for batch_size in BATCH_SIZES:
        makers = {
            name: (lambda f=factory, b=batch_size: f(data, b))
            for name, factory in (("hand", hand_epoch), ("autograd", autograd_epoch), ("matmul", matmul_epoch))
        }
        times = paired_times(makers, device, rounds)
        seconds = {name: statistics.median(values) for name, values in times.items()}
        versus = {
            other: spread([h / o for h, o in zip(times["hand"], times[other])]) for other in ("autograd", "matmul")
        }
        rows.append(
            {
                "device": device,
                "batch_size": batch_size,
                "n": n,
                "rounds": rounds,
                **{f"{name}_s": round(s, 4) for name, s in seconds.items()},
                **{f"{name}_samples_per_s": round(n / s) for name, s in seconds.items()},
                "hand_over_autograd": versus["autograd"]["median"],
                "hand_over_autograd_range": [versus["autograd"]["low"], versus["autograd"]["high"]],
                "hand_over_matmul": versus["matmul"]["median"],
                "hand_over_matmul_range": [versus["matmul"]["low"], versus["matmul"]["high"]],
                "max_param_difference": max_difference(data, batch_size),
            }
        )
    return rows


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def print_table(rows: list[dict]) -> None:
    print(
        f"{'device':<6} {'batch':>5} | {'hand s':>7} {'samples/s':>10} | {'autograd s':>10} {'samples/s':>10} | "
        f"{'matmul s':>8} {'samples/s':>10} | {'hand/autograd':>13} {'hand/matmul':>11}"
    )
    for r in rows:
        print(
            f"{r['device']:<6} {r['batch_size']:>5} | {r['hand_s']:>7.3f} {r['hand_samples_per_s']:>10,} | "
            f"{r['autograd_s']:>10.3f} {r['autograd_samples_per_s']:>10,} | "
            f"{r['matmul_s']:>8.3f} {r['matmul_samples_per_s']:>10,} | "
            f"{r['hand_over_autograd']:>13.2f} {r['hand_over_matmul']:>11.2f}"
        )
        low, high = r["hand_over_autograd_range"]
        print(
            f"{'':<6} {'':>5}   medians of {r['rounds']} rounds; hand/autograd per round from {low:.2f} to "
            f"{high:.2f}, hand/matmul from {r['hand_over_matmul_range'][0]:.2f} to {r['hand_over_matmul_range'][1]:.2f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.maintainer.bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--json", type=Path, default=Path("reports/bench.json"), help="where to write the results (reports/bench.json)"
    )
    parser.add_argument("--device", choices=("cpu", "cuda", "all"), default="all", help="default: all there are")
    parser.add_argument("--quick", action="store_true", help="N = 2,000 and one timed run: seconds, for tests")
    parser.add_argument("--pairs", type=int, default=7, help="rounds of side-by-side runs (default 7)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1, see above)")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device here")
    if args.pairs < 1 or args.threads < 1:
        parser.error("--pairs and --threads must be at least 1")
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    devices = [d for d in devices if d == "cpu" or torch.cuda.is_available()]
    n, rounds = (2_000, 1) if args.quick else (60_000, args.pairs)

    torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    info = {
        "torch": torch.__version__,
        "cpu": cpu_model(),
        "threads": threads,
        "cuda": torch.cuda.get_device_name() if "cuda" in devices else None,
        "n": n,
        "hidden": HIDDEN,
        "rounds": rounds,
        "included": "one epoch incl. shuffle, batch gather, update and train_model's end-of-epoch "
        "evaluation (accuracy on the n training and n // 6 validation rows); matmul: the products only",
    }
    print(
        f"one epoch of TwoLayerNet(784, {HIDDEN}, 10) on {n:,} random rows (+ {n // 6:,} validation), "
        f"torch {torch.__version__}, {threads} CPU threads ({info['cpu']})"
        + (f", {info['cuda']}" if info["cuda"] else "")
    )
    rows = [row for device in devices for row in bench(device, n, rounds)]
    print_table(rows)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({**info, "results": rows}, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
