"""One wording of each sentence about a process that kata code ended, paused, or kept waiting.

Said by the judge when the kata process ends (tools/judge/sealed.py) and by the supervisor when a
worker does (tools/run/). Torch-free: the supervisor imports it.
"""

from __future__ import annotations


def where(function: str, path: str, line: int | str) -> str:
    """' in relu_backward, at katas/relu.py:12', or ' at the top level of the file (...)' for an import."""
    if function == "<module>":
        return f" at the top level of the file (outside any function), at {path}:{line}"
    return f" in {function}, at {path}:{line}"


def stopped_from_outside(at: str) -> str:
    return (
        f"this test did not finish in time and was stopped from outside{at}: it was waiting inside one call (a "
        "sleep, a lock, or a computation far too large) where no time limit can reach. Look for that call, or an "
        "endless loop around it"
    )


def stopped_again(function: str, path: str) -> str:
    if function == "<module>":
        return (
            f"importing {path} was stopped from outside in an earlier test: the code at the top level of the file "
            "runs on import, and it does not end"
        )
    return f"{function} was stopped from outside in an earlier test, so it is not run again"


def ended(at: str, how: str) -> str:
    return (
        f"the test process ended while this test ran{at} ({how}). Your code must return its result, not end the "
        "program (sys.exit, os._exit, os.kill) or crash it"
    )


def ended_again(function: str, path: str, how: str) -> str:
    if function == "<module>":
        return f"importing {path} ended the test process ({how}) in an earlier test"
    return f"{function} ended the test process ({how}) in an earlier test, so it is not run again"


def paused(at: str, how: str) -> str:
    return (
        f"the test process was paused while this test ran{at} ({how}), so it was ended. Your code must return its "
        "result, not pause or end its own process (os.kill, signal.raise_signal)"
    )


def out_of_memory(ceiling_gb: float | None) -> str:
    """What to say when kata code ran out of memory, or went over the ceiling (None: the OS said it ran out)."""
    used = f"used more than {ceiling_gb:g} GB" if ceiling_gb else "ran out"
    return (
        f"your code {used} of memory (the limit of a test's process). The katas' tensors are small: look for a "
        "tensor far larger than the inputs (a product of the wrong shapes, a batch dimension squared) or a list "
        "that grows without end"
    )


# Where kata code raised an error that no caller sees (pytest reports these after the test, as warnings).
UNREPORTED = {
    "thread": "a thread your code started (where no caller sees its errors)",
    "del": "a `__del__` method of your code (run when Python frees an object, where no caller sees its errors)",
}
