"""Kata 8's spy net, and what tests/test_train.py reads from its records.

train_model is watched through SpyNet: the two-layer net written with torch ops, which records every
forward, backward and update it is asked to do. The data rows carry their own ids (make_data), so the
spy can tell which rows each batch held. The functions below read the spy's records: the rows of a batch,
the whole epochs a run made, and the mistake in the update that explains every step. They name mistakes
by id, as the tests do.
"""

import math

import torch

from tests import judge

KEYS = ("W1", "b1", "W2", "b2")


class SpyNet:
    """The two-layer net written with torch ops, recording every forward, backward and update."""

    def __init__(self, inp, hidden, out, seed=0):
        g = torch.Generator().manual_seed(seed)
        shapes = {"W1": (hidden, inp), "b1": (hidden,), "W2": (out, hidden), "b2": (out,)}
        self.params = {
            key: 0.5 * torch.randn(*shape, generator=g, dtype=torch.float64) for key, shape in shapes.items()
        }
        self.grads = {key: torch.zeros_like(p) for key, p in self.params.items()}
        self.batches = []  # per backward: (rows of x, out, dout, params before the step, grads)

    def _out(self, x, p):
        return torch.sigmoid(torch.relu(x @ p["W1"].T + p["b1"]) @ p["W2"].T + p["b2"])

    def forward(self, x):
        p = {key: value.clone() for key, value in self.params.items()}
        out = self._out(x, p)
        return out, (x.clone(), out.clone(), p)

    def backward(self, dout, cache):
        x, out, p = cache
        grads = judge.autograd(lambda *q: self._out(x, dict(zip(KEYS, q))), [p[k] for k in KEYS], dout)
        self.grads = dict(zip(KEYS, grads))
        self.batches.append((x, out, dout.clone(), p, {k: g.clone() for k, g in self.grads.items()}))


def make_data(n, inp=3, classes=3, seed=0):
    """Rows whose first column is the row's id, so the spy can tell which rows a batch held."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, inp, generator=g, dtype=torch.float64)
    x[:, 0] = torch.arange(n, dtype=torch.float64) / n
    return x, torch.randint(0, classes, (n,), generator=g)


def row_ids(batch, n):
    return [round(float(v) * n) for v in batch[0][:, 0]]


def epochs_run(net, n, batch_size):
    """How many whole, right epochs the spy saw (each its ceil(n / batch_size) batches of the right sizes, every
    row once); None when the batches are not whole epochs."""
    per_epoch = math.ceil(n / batch_size)
    if not net.batches or len(net.batches) % per_epoch:
        return None
    sizes = sorted([batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else []), reverse=True)
    for e in range(len(net.batches) // per_epoch):
        batches = net.batches[e * per_epoch : (e + 1) * per_epoch]
        if sorted((len(b[0]) for b in batches), reverse=True) != sizes:
            return None
        if sorted(row for b in batches for row in row_ids(b, n)) != list(range(n)):
            return None
    return len(net.batches) // per_epoch


def epoch_count_cause(ran, n_epochs):
    """The loop over the epochs ran whole epochs, but another number of them than n_epochs."""
    if ran is None or ran == n_epochs:
        return None
    return judge.cause("train/epoch-count", ran=ran, asked=n_epochs)


def epochs_of(net, n, n_epochs, batch_size):
    """The row ids each epoch used, in order; a plain failure when the batches do not add up."""
    per_epoch = math.ceil(n / batch_size)
    judge.value(
        f"model.backward calls for {n} rows, batch_size={batch_size}, n_epochs={n_epochs}",
        len(net.batches),
        n_epochs * per_epoch,
        f"One update per batch: {per_epoch} batches per epoch (the last one smaller) times {n_epochs} epochs.",
        epoch_count_cause(epochs_run(net, n, batch_size), n_epochs),
    )
    return [
        [row for batch in net.batches[e * per_epoch : (e + 1) * per_epoch] for row in row_ids(batch, n)]
        for e in range(n_epochs)
    ]


def update_cause(net, learning_rate, n_epochs):
    """The mistake in the update that explains every parameter at every step of the run, from the params each
    forward of a backward saw and the gradients it left (the spy's record), then the params at the end; all of
    them when several do, None when none does. One update compared alone says too little: an update made once
    per epoch leaves the parameters unchanged after most batches."""
    points = [b[3] for b in net.batches] + [net.params]  # the params before each step, and at the end
    grads = [b[4] for b in net.batches]
    steps = len(grads)
    zero = {key: torch.zeros_like(g) for key, g in grads[0].items()} if grads else {}
    per_epoch = steps // n_epochs if n_epochs and steps % n_epochs == 0 else 0
    last_of_epoch = {i for i in range(steps) if per_epoch and (i + 1) % per_epoch == 0}

    def step_of(mistake, i, key):
        """What the update after batch i adds to params[key], when this mistake is made."""
        g = grads[i][key]
        if mistake == "train/params-never-change":
            return torch.zeros_like(g)
        if mistake == "train/step-uphill":
            return learning_rate * g
        if mistake == "train/no-learning-rate":
            return -g
        if mistake == "train/step-once-per-epoch":
            return -learning_rate * g if i in last_of_epoch else torch.zeros_like(g)
        if mistake == "train/step-before-backward":  # the step of batch i uses the gradients of batch i - 1
            return -learning_rate * (grads[i - 1][key] if i else zero[key])
        raise KeyError(mistake)

    mistakes = (
        "train/params-never-change",
        "train/step-uphill",
        "train/no-learning-rate",
        "train/step-once-per-epoch",
        "train/step-before-backward",
    )

    def explains(mistake):
        return all(
            torch.allclose(points[i + 1][key], points[i][key] + step_of(mistake, i, key), rtol=1e-5, atol=1e-7)
            for i in range(steps)
            for key in KEYS
        )

    fitting = [m for m in mistakes if (m != "train/step-once-per-epoch" or per_epoch) and explains(m)]
    if fitting:
        return judge.cause(*fitting)
    # One parameter never moves while the others step right: a key the update leaves out.
    right = {
        key: all(
            torch.allclose(points[i + 1][key], points[i][key] - learning_rate * grads[i][key], rtol=1e-5, atol=1e-7)
            for i in range(steps)
        )
        for key in KEYS
    }
    still = [key for key in KEYS if all(torch.equal(points[i + 1][key], points[i][key]) for i in range(steps))]
    if still and all(right[key] for key in KEYS if key not in still):
        return judge.cause("train/param-left-out", keys=", ".join(f"params['{key}']" for key in still))
    return None
