"""Whether a result stays in autograd's graph, as torch.autograd needs it (kata 9 runs the layers so).

The learner's function is called again in the kata process on inputs that require grad (a probe):
the answer says whether the result has a grad_fn and which gradients autograd gives each input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import Tensor

from tools.judge.calls import asked_probe, call, describe_call, leaves_of, parameter_names
from tools.judge.checks import close, listed, tensor, unpack
from tools.judge.errors import KataError, fail
from tools.judge.sandbox import reference_dout
from tools.mistakes import cause


def in_graph(
    fn: Callable,
    args: tuple,
    names: tuple[str, ...],
    reference: Callable[..., Tensor] | None = None,
    explain: Mapping[str, str] | None = None,
    rtol: float = 1e-4,
    atol: float = 1e-6,
    others: Mapping[str, Tensor] | None = None,
) -> None:
    """Fail, in words, unless fn's result stays in autograd's graph when its inputs require grad.

    fn is called again on copies of args whose floating-point tensors require grad, as torch.autograd
    calls a layer (kata 9 runs the learner's layers, loss and net so); names are the returned tuple's,
    the first being the result that must be differentiable. `others` names tensors that already
    require grad and that fn reads from elsewhere (a net's parameters). Each input that requires grad
    must be reached from that result by autograd and, given reference (a torch function of args and
    then the others), receive the gradient reference's gives it. A forward that passes its values
    through NumPy, Python numbers, .detach() or torch.no_grad() has the right numbers but not this.
    """
    asked = None if others else asked_probe(fn, args)  # asked with the call before (judge.call(..., graph=True))
    leaves = leaves_of(args) if asked is None else asked[0]
    params = parameter_names(fn, len(args))
    inputs = [(params[i], a) for i, a in enumerate(leaves) if isinstance(a, Tensor) and a.requires_grad]
    inputs += list((others or {}).items())
    if not inputs:
        return
    # Run in the kata process, where its autograd graph lives: the result, and the gradients autograd gives.
    found = call(fn, *leaves, explain=explain, probe=list((others or {}).values()), answered=asked and asked[1])
    got = tensor(names[0], unpack(found.get("result"), names)[0])
    named = listed([n for n, _ in inputs])
    subject = f"{names[0]} from {describe_call(fn, leaves)}"
    if not found.get("grad_fn") and not found.get("is_input"):
        state = (
            "is a new leaf (it requires grad, but has no grad_fn that leads back to them)"
            if found.get("requires_grad")
            else "does not (it has no grad_fn)"
        )
        raise fail(
            f"{subject} is not connected to its inputs' autograd graph: {named} "
            f"{'requires' if len(inputs) == 1 else 'require'} grad here and {names[0]} {state}. Every torch "
            "operation on a tensor that requires grad records itself in the graph and returns a tensor that "
            "requires grad; a result that does not, although an input does, was computed where autograd could not "
            "follow, and torch.autograd (kata 9 runs your layers, loss and net under it) cannot differentiate it.",
            cause("any/left-torch"),
        )
    dout = reference_dout(got)
    grads = list(found.get("grads") or [None] * len(inputs))
    unreached = [name for (name, _), grad in zip(inputs, grads) if grad is None]
    if unreached:
        cut = listed(unreached)
        reached = [name for name, _ in inputs if name not in unreached]
        raise fail(
            f"{subject} is not connected to {cut} in autograd's graph: its values depend on {cut}, but autograd "
            f"finds no path from {names[0]} back to {cut} (the gradient comes out None)"
            + (f", while {listed(reached)} {'is' if len(reached) == 1 else 'are'} reached" if reached else "")
            + ". A tensor cut out of the graph keeps its values but not the record of where they came from, so "
            f"torch.autograd (kata 9) would leave {cut} untrained.",
            cause("any/input-detached", cut=cut, itself="itself" if len(unreached) == 1 else "themselves"),
        )
    if reference is None:
        return
    doubles = [
        a.detach().double().requires_grad_(True) if isinstance(a, Tensor) and a.requires_grad else a for a in leaves
    ]
    extra = [t.detach().double().requires_grad_(True) for t in (others or {}).values()]
    wrt = [d for d in doubles if isinstance(d, Tensor) and d.requires_grad] + extra
    with torch.enable_grad():
        expected = torch.autograd.grad(reference(*doubles, *extra), wrt, grad_outputs=dout.double(), allow_unused=True)
    for (name, leaf), grad, want in zip(inputs, grads, expected):
        try:
            expected_grad = torch.zeros_like(leaf) if want is None else want.to(leaf.dtype)
            close(f"autograd's gradient for {name}", grad, expected_grad, rtol=rtol, atol=atol)
        except KataError as error:
            said = cause(
                "any/unused-branch-overflow" if not bool(torch.isfinite(grad).all()) else "any/values-apart-from-graph",
                result=names[0],
            )
            raise fail(
                f"{subject} has the right values, but autograd differentiates it wrongly: {error.problem}", said
            ) from None
