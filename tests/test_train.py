"""Kata 8: flatten_images and train_model (uses your katas 4, 5 and 7)."""

import math

import torch

from tests import judge, train_spy
from tools import data

mod = judge.load("train")


# ---------------------------------------------------------------------------------------------
# flatten_images


def check_flatten(images):
    saved = images.clone()
    n = images.shape[0]
    explain = {r"\b784\b": "train/assumes-784"}
    got = judge.call(mod.flatten_images, images, explain=explain)
    pixels = images[0].numel()
    judge.tensor("the flat images", got, shape=(n, pixels))
    if not got.is_floating_point():
        # The input's own integer pixels, flattened right but never converted: named only when that is all it is.
        kept = got.dtype == images.dtype and torch.equal(got, images.reshape(n, -1))
        raise judge.fail(
            f"flatten_images returned {got.dtype}; expected floating point (use .float()).",
            judge.cause("train/flatten-not-float", dtype=str(got.dtype).removeprefix("torch.")) if kept else None,
        )
    want = torch.stack([torch.tensor([float(v) for v in img.flatten().tolist()]) for img in images])
    judge.close(
        "the flat images",
        got,
        want,
        compare_dtype=False,
        diagnoses={"train/column-major": lambda: images.transpose(-1, -2).reshape(n, -1).float()},
    )
    judge.unchanged("images", saved, images)


def test_flatten_mnist_shaped_uint8_images():
    g = torch.Generator().manual_seed(11)
    check_flatten(torch.randint(0, 256, (3, 28, 28), generator=g, dtype=torch.uint8))


def test_flatten_any_size_with_a_channel_dimension_and_a_batch_of_one():
    g = torch.Generator().manual_seed(12)
    check_flatten(torch.rand(4, 1, 5, 7, generator=g))
    check_flatten(torch.rand(1, 6, 3, generator=g))


# ---------------------------------------------------------------------------------------------
# train_model, watched through a model that records everything it is asked to do (tests/train_spy.py)


def train(net, n=20, n_epochs=2, learning_rate=0.1, batch_size=6, seed=0):
    x, labels = train_spy.make_data(n, seed=seed)
    vx, vlabels = train_spy.make_data(7, seed=seed + 1)
    judge.seed(seed)
    args = (net, x, labels, vx, vlabels, n_epochs, learning_rate, batch_size)
    history = judge.call(mod.train_model, *args)
    return history, x, labels, vx, vlabels


def test_every_row_once_per_epoch_in_batches_of_batch_size():
    net = train_spy.SpyNet(3, 4, 3)
    n, n_epochs, batch_size = 20, 3, 6
    train(net, n=n, n_epochs=n_epochs, batch_size=batch_size)
    per_epoch = math.ceil(n / batch_size)
    sizes = sorted((len(b[0]) for b in net.batches), reverse=True)
    full = n // batch_size
    # Each cause only when the batch sizes are the ones it makes, not the count alone.
    causes = {
        "train/one-batch-per-epoch": [batch_size] * n_epochs,
        "train/skips-a-batch": [batch_size] * (n_epochs * (full - 1)) + [n % batch_size] * n_epochs,
        "train/drops-last-batch": [batch_size] * (n_epochs * full),
    }
    cause = next((mistake for mistake, makes in causes.items() if sizes == makes), None)
    judge.value(
        f"model.backward calls for {n} rows, batch_size={batch_size}, n_epochs={n_epochs}",
        len(net.batches),
        n_epochs * per_epoch,
        f"One update per batch: {per_epoch} batches per epoch (the last one smaller) times {n_epochs} epochs.",
        judge.cause(cause)
        if cause
        else train_spy.epoch_count_cause(train_spy.epochs_run(net, n, batch_size), n_epochs),
    )
    for epoch in range(n_epochs):
        batches = net.batches[epoch * per_epoch : (epoch + 1) * per_epoch]
        sizes = sorted((len(b[0]) for b in batches), reverse=True)
        judge.value(f"the batch sizes in epoch {epoch + 1}", sizes, [6, 6, 6, 2])
        rows = sorted(round(float(v) * n) for b in batches for v in b[0][:, 0])
        judge.value(f"the rows used in epoch {epoch + 1}", rows, list(range(n)), "Each row exactly once per epoch.")


def test_the_rows_are_shuffled_anew_every_epoch():
    net = train_spy.SpyNet(3, 4, 3, seed=4)
    n, n_epochs, batch_size = 24, 3, 5
    train(net, n=n, n_epochs=n_epochs, batch_size=batch_size)
    orders = train_spy.epochs_of(net, n, n_epochs, batch_size)
    for epoch, order in enumerate(orders, start=1):
        judge.value(f"the rows used in epoch {epoch}, sorted", sorted(order), list(range(n)), "Each row once.")
        if order == list(range(n)):
            raise judge.fail(
                f"epoch {epoch} visited the rows in their stored order 0, 1, 2, ...",
                judge.cause("train/never-shuffled"),
            )
    batches = [train_spy.row_ids(b, n) for b in net.batches]
    if all(rows == list(range(rows[0], rows[0] + len(rows))) for rows in batches):
        raise judge.fail(
            "every batch holds a run of neighbouring rows (the batches come in a new order, but each is "
            "rows i, i+1, ... of the data).",
            judge.cause("train/batches-shuffled"),
        )
    if all(order == orders[0] for order in orders):
        raise judge.fail(
            f"all {n_epochs} epochs visited the rows in the same shuffled order.", judge.cause("train/shuffled-once")
        )


def test_each_step_moves_the_parameters_against_the_gradient_by_the_learning_rate():
    net = train_spy.SpyNet(3, 4, 3, seed=1)
    learning_rate, n_epochs = 0.37, 2
    train(net, n=12, n_epochs=n_epochs, learning_rate=learning_rate, batch_size=5)
    cause = train_spy.update_cause(net, learning_rate, n_epochs) if net.batches else None
    after = [b[3] for b in net.batches[1:]] + [net.params]
    for step, (batch, params_after) in enumerate(zip(net.batches, after), start=1):
        before, grads = batch[3], batch[4]
        for key in train_spy.KEYS:
            judge.close(
                f"params['{key}'] after update {step}",
                params_after[key],
                before[key] - learning_rate * grads[key],
                {cause: params_after[key]} if cause else None,
            )


def test_the_gradient_comes_from_l2_loss_of_the_batch():
    net = train_spy.SpyNet(3, 4, 3, seed=2)
    _, _, labels, _, _ = train(net, n=10, n_epochs=1, batch_size=4)
    for x_batch, out, dout, _, _ in net.batches:
        rows = (x_batch[:, 0] * 10).round().long()
        onehot = torch.nn.functional.one_hot(labels[rows], 3).double()
        judge.close(
            "the dout passed to model.backward",
            dout,
            2 * (out - onehot) / len(rows),
            diagnoses={
                "train/labels-out-of-step": lambda out=out, dout=dout, rows=rows: other_labels(out, dout, labels[rows])
            },
        )


def other_labels(out, dout, right):
    """dout itself when it is l2_loss's gradient for some labels other than the right ones; else None."""
    target = out - dout * len(right) / 2
    onehot = target.round()
    is_onehot = torch.allclose(target, onehot, atol=1e-6) and bool((onehot.sum(1) == 1).all())
    return dout if is_onehot and not torch.equal(onehot.argmax(1), right) else None


def check_history(history, n_epochs, ran=None):
    """The history is a dict of three lists of n_epochs Python floats. ran: the whole epochs the spy saw, when
    known: a history as long as them, not n_epochs, is a loop over the epochs that runs another number of times."""
    if not isinstance(history, dict):
        raise judge.fail(f"train_model returned {judge.kind(history)}; expected the history dict.")
    judge.value("the keys of the history", set(history), {"train_loss", "train_accuracy", "validation_accuracy"})
    for key, values in history.items():
        if not isinstance(values, list):
            raise judge.fail(f"history['{key}'] is {judge.kind(values)}; expected a list with one float per epoch.")
        judge.value(
            f"len(history['{key}'])",
            len(values),
            n_epochs,
            "One entry per epoch.",
            train_spy.epoch_count_cause(ran, n_epochs) if len(values) == ran else None,
        )
        if not all(isinstance(v, float) for v in values):
            odd = next(v for v in values if not isinstance(v, float))
            raise judge.fail(
                f"history['{key}'] should hold Python floats, one per epoch; it holds {judge.kind(odd)} "
                f"such as {odd!r}.",
                judge.cause("train/history-tensor" if isinstance(odd, torch.Tensor) else "train/history-not-float"),
            )


def test_the_history_has_one_entry_per_epoch():
    net = train_spy.SpyNet(3, 4, 3, seed=3)
    n_epochs = 3
    history, x, labels, vx, vlabels = train(net, n=12, n_epochs=n_epochs, batch_size=4)
    check_history(history, n_epochs, train_spy.epochs_run(net, 12, 4))
    per_epoch = 3
    train_spy.epochs_of(net, 12, n_epochs, 4)  # the batches must add up before they can be read epoch by epoch
    starts = [net.batches[e * per_epoch][3] for e in range(1, n_epochs)] + [net.params]
    epoch_losses = []  # each epoch's batch losses, l2_loss of each batch's output against its own rows' labels
    for epoch in range(n_epochs):
        losses = []
        for x_batch, out, _, _, _ in net.batches[epoch * per_epoch : (epoch + 1) * per_epoch]:
            rows = (x_batch[:, 0] * 12).round().long()
            onehot = torch.nn.functional.one_hot(labels[rows], 3).double()
            losses.append(((out - onehot) ** 2).sum().item() / len(rows))
        epoch_losses.append(losses)
    # What train_loss holds, for each mistake, in every epoch: a cause is named when it gives all of them.
    makes = {
        "train/loss-last-batch": [losses[-1] for losses in epoch_losses],
        "train/loss-sum": [sum(losses) for losses in epoch_losses],
        "train/loss-first-batch": [losses[0] for losses in epoch_losses],
    }
    fitting = [
        m for m, values in makes.items() if all(abs(g - v) <= 1e-6 for g, v in zip(history["train_loss"], values))
    ]
    for epoch, (params, losses) in enumerate(zip(starts, epoch_losses)):
        want_loss = sum(losses) / len(losses)
        got_loss = history["train_loss"][epoch]
        if abs(got_loss - want_loss) > 1e-6:
            raise judge.fail(
                f"history['train_loss'][{epoch}] is {got_loss:.6f}; the mean of that epoch's batch losses (l2_loss "
                f"of each batch's output against its own rows' labels) is {want_loss:.6f}.",
                judge.cause(*fitting) if fitting else None,
            )
        for key, inputs, target in (("train_accuracy", x, labels), ("validation_accuracy", vx, vlabels)):
            want = (net._out(inputs, params).argmax(-1) == target).double().mean().item()
            if abs(history[key][epoch] - want) > 1e-6:
                raise judge.fail(
                    f"history['{key}'][{epoch}] is {history[key][epoch]:.4f}; the accuracy after epoch "
                    f"{epoch + 1} is {want:.4f}. Measure it after the epoch's updates, on the whole set."
                )


# The net starts from the judge's parameters (tools/data.separable_start: He's scale, as kata 6's reference draws
# them with seed 0): kata 6 judges init_params, and some starts of a correct init stall this small net on a class
# it never predicts. `python -m tools.maintainer.separable_bar` (20 seeds): the reference passes at every seed from
# this start in 10 epochs; from its own init, at 18 (as it did in the 15 epochs this test once trained). Broken
# updates (never, climbing, ten times the step, W1 or W2 climbing, labels out of step with the rows) fail at seed 0,
# this test's, and pass at 1 seed of 20 at most. Slips that still learn (no learning rate, a frozen layer, one
# batch an epoch) pass here: the tests above catch those.


def test_your_network_learns_separable_data():
    net_mod = judge.load("model")
    x, labels = data.blobs(300)
    vx, vlabels = data.blobs(150, seed=1)
    net = judge.call(net_mod.TwoLayerNet, 10, 16, 3)
    net.params = data.separable_start(10, 16, 3)
    judge.seed(0)
    run = data.SEPARABLE_RUN
    history = judge.call(mod.train_model, net, x, labels, vx, vlabels, *run)
    check_history(history, run.n_epochs)
    loss, acc = history["train_loss"], history["validation_accuracy"]
    how = (
        f"TwoLayerNet(10, 16, 3), from the test's own starting parameters, trained by your train_model on 300 "
        f"points of three well-separated blobs ({run.n_epochs} epochs, learning_rate {run.learning_rate:g}, "
        f"batch_size {run.batch_size})"
    )
    if not loss[-1] < 0.5 * loss[0]:
        raise judge.fail(
            f"{how}: the training loss went from {loss[0]:.4f} to {loss[-1]:.4f}; it should fall to less than half. "
            "If other tests of kata 8 fail, fix those first; if not, check the update: "
            "params[key] -= learning_rate * grads[key]."
        )
    if not acc[-1] >= 0.9:
        raise judge.fail(f"{how}: {acc[-1]:.1%} of 150 held-out points are right; expected at least 90 %.")


# ---------------------------------------------------------------------------------------------
# Real digits: your whole pipeline on scikit-learn's bundled 8x8 digits (no download)

# TwoLayerNet(64, 64, 10), trained as tools/data.DIGITS_RUN says (10 epochs, lr 0.4, batch 32: 450 steps,
# with the same margins as 900 at lr 0.2 and batch 16, and this test takes 0.23 s instead of 0.36 s for
# the reference, medians of 5) on the first 1,437 digits and judged on the last 360 (other writers).
# `python -m tools.maintainer.digits_bar` (20 seeds): the reference reaches 89.7 to 92.2 % (90.6 % with
# seed 0, this test's). Broken updates stay under the bar at every seed, at most: the parameters never
# change 14.7 %, the step climbs (+) 11.9 %, ten times the step 25.8 %, W1 or W2 climbs 22.2 %, labels
# out of step with the rows 20.8 %, one batch per epoch 63.9 %, the sign of the gradient only 38.1 %.
# Subtler slips (no learning rate, a tenth of the step, a layer or the biases never updated) reach 79 to
# 94 %: the tests above catch those.
DIGITS_BAR = 0.85


def test_your_pipeline_learns_real_handwritten_digits():
    try:
        digits = data.load_digits()
    except data.DataUnavailable as error:  # never a skip: a kata's test passes or fails
        raise judge.fail(
            f"this test needs scikit-learn's bundled digits, and this environment cannot give them ({error}). "
            "Not your code: install the test dependencies (`nox` does) and run it again."
        ) from None
    net_mod = judge.load("model")
    x, vx = (judge.call(mod.flatten_images, images) for images in (digits.train_images, digits.test_images))
    judge.tensor("flatten_images(the 1,437 training digits)", x, shape=(1437, 64))
    from tools.learner.train import STATS

    mean, std = STATS["digits"]
    x, vx = ((flat / 255 - mean) / std for flat in (x, vx))  # as `nox -s train -- --dataset digits` does
    judge.seed(0)
    net = judge.call(net_mod.TwoLayerNet, 64, 64, 10)
    run = data.DIGITS_RUN
    history = judge.call(mod.train_model, net, x, digits.train_labels, vx, digits.test_labels, *run)
    check_history(history, run.n_epochs)
    loss, acc = history["train_loss"], history["validation_accuracy"]
    if not acc[-1] >= DIGITS_BAR:
        raise judge.fail(
            f"TwoLayerNet(64, 64, 10) trained by your train_model on 1,437 real 8x8 digits ({run.n_epochs} epochs, "
            f"learning_rate {run.learning_rate}, batch_size {run.batch_size}) recognises {acc[-1]:.1%} of 360 "
            f"held-out digits; expected at least {DIGITS_BAR:.0%} (the reference: about 91 %). The training loss "
            f"went from {loss[0]:.4f} to {loss[-1]:.4f}.\n  If other tests of kata 8 fail, fix those first. If "
            "not, look at the update: "
            "every parameter, every batch, params[key] -= learning_rate * grads[key], with the labels of the "
            "batch's own rows."
        )
