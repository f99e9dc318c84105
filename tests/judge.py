"""The judge, as the tests name it: `judge.call`, `judge.close`, `judge.tensor`... Re-exports only.

The judge's code is in tools/judge/, one module per job (its __init__.py has the map):

    mod = judge.load("affine")                  # calls.py: the module under test, from the chosen track
    out, cache = judge.call(mod.affine_forward, x, W, b)
    judge.close("out", out, expected, diagnoses={"affine/no-bias": x @ W.T})   # checks.py

A failure raises `KataError` (errors.py), whose message is written for the learner and blamed on the
kata at fault (blame.py); the plugin (tools/plugin/) prints it instead of a traceback.
"""

from tools.judge.blame import needs_message, not_started, out_of_memory  # noqa: F401
from tools.judge.calls import (  # noqa: F401  # noqa: F401
    COMMON_CRASHES,
    call,
    describe_call,
    import_kata,
    is_a,
    kind,
    load,
    numerical_grad,
    origin,
    shape_of,
    stand_in,
)
from tools.judge.checks import close, diagnose, tensor, unchanged, unpack, value  # noqa: F401
from tools.judge.context import Session, Test, current, session, start_session, start_test, test  # noqa: F401
from tools.judge.errors import OUTCOMES, KataError, NotStarted, fail  # noqa: F401
from tools.judge.graph import in_graph  # noqa: F401
from tools.judge.limits import (  # noqa: F401  # noqa: F401
    WALL_FACTOR,
    Clock,
    ProgramExit,
    Stopped,
    TimedOut,
    changes,
    restore,
    single_threaded,
    time_limit,
    world,
)
from tools.judge.references import autograd, linspace, rand, seed  # noqa: F401
from tools.mistakes import Cause, as_cause, cause  # noqa: F401
