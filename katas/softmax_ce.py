"""Kata 10 (a bonus): softmax and the cross-entropy loss, the pair that nearly every classifier ends with.

The nine katas score a prediction with the L2 loss. Classifiers are usually trained otherwise: softmax
turns each row of scores into probabilities, and cross-entropy charges -log of the probability given to
the right class. With scores of shape (N, C), N rows of C classes, and labels of shape (N,), class
indices as in kata 4:

    p[n, c] = exp(s[n, c]) / sum_k exp(s[n, k])              softmax, each row on its own: (N, C)
    loss    = -(1 / N) * sum_n log p[n, labels[n]]             a 0-dim tensor
    dscores = (p - onehot) / N                                 shape (N, C), like scores

Every row of p is positive and sums to 1. Adding the same number to every score of a row changes
nothing: the factor exp(number) is in the numerator and in the sum. Use that: subtract each row's own
maximum first, m[n] = max_k s[n, k], so that exp never sees a number above 0. Without it, exp(1e4)
is inf and the row becomes inf / inf = NaN; with the batch's maximum instead of each row's, a row far
below the batch's largest score has exps that are all 0, and 0 / 0 is NaN too. Keep m of shape (N, 1)
(keepdim=True), so that it lines up with the rows and not with the columns; the same for the sums.

For the loss, do not take the log of p: a probability below about 1e-45 in float32 (1e-323 in
float64) is stored as p = 0, and log 0 = -inf. Take the log of the fraction first (the log-sum-exp
form):

    log p[n, c] = (s[n, c] - m[n]) - log sum_k exp(s[n, k] - m[n])

The sum inside the log is at least 1 (its largest term is exp(0)), so every log p is finite, even
for scores of 1e4. The loss is a mean over the batch (divide by N, not by N * C), and so is the
gradient: each row contributes (p[n] - onehot[n]) / N. As in kata 4, the one-hot rows are as wide as
scores (C = scores.shape[1]), in scores' dtype.

Results keep the dtype of scores (float32 or float64). Stay in torch operations (no .item(), .numpy()
or .detach()): the tests check that p and the loss stay in autograd's graph when scores requires grad.
dscores is computed by hand and need not.
"""

import torch
from torch import Tensor


def softmax(scores: Tensor) -> Tensor:
    """Return p, of scores' shape (N, C): each row's exponentials divided by their sum, without overflow."""
    raise NotImplementedError("kata-10 (softmax_ce): softmax is not written yet; write it in katas/softmax_ce.py")


def cross_entropy_loss(scores: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """Return (loss, dscores): the batch mean of -log softmax(scores)[n, labels[n]], and (p - onehot) / N."""
    raise NotImplementedError(
        "kata-10 (softmax_ce): cross_entropy_loss is not written yet; write it in katas/softmax_ce.py"
    )
