"""Kata code judged under supervision: every nox session that judges kata code runs pytest this way.

The learner's code is untrusted: it may loop forever inside one C call, end the process, or crash
it. So pytest runs in a worker process (worker.py), and tools/plugin/ reports to the supervisor
(supervisor.py, following each worker with follow.py), as JSON lines, when each test starts and
ends, its verdict, and the deadline of the block running now. When a deadline passes by more than
settings.GRACE seconds the worker is killed; when the worker ends before its last test (os._exit, a
crash, a kill), the test it was running fails, blamed on the kata whose code was running (ended.py,
from the traceback faulthandler dumped), and a new worker goes on with the tests that are left. A
function that ran past its time limit is not run again in the same session: its later calls fail at
once with the same message. Nothing outlives a run (reaping.py); on Linux a warm process may fork
the workers (warm.py). advice.py says what the learner does next.

    python -m tools.runner [--track katas|solutions] [--remember] [pytest arguments]

is the command line (tools/runner.py); `supervisor.run(jobs)` is the same for tools: progress, stubs
and bugzoo. A Job (job.py) is some kata test files against one tree.
"""
