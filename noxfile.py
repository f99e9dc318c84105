"""The menu. `nox -l` lists every session; `nox` alone shows your progress.

All sessions share one environment, .nox/shared (torch is about 5 GB: one copy is plenty).
It is created on first use and brought up to date whenever the dependencies listed in
pyproject.toml change; otherwise a session starts straight away and installs nothing.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from tools.environment import shared_env  # noqa: E402  # .nox/shared, made once, updated when needed
from tools.manifest import ManifestError, katas, parse_number  # noqa: E402

try:  # every session (and `nox -l`) is made from the manifest: a broken one is its one line, not a traceback
    katas()
except ManifestError as _error:
    print(_error, file=sys.stderr)
    sys.exit(2)

nox.options.sessions = ["progress"]
# Every session runs in .nox/shared and never uses uv, so nox's "uv binary not found." is only noise.
logging.getLogger("nox").addFilter(lambda record: record.getMessage() != "uv binary not found.")
nox.options.default_venv_backend = "none"


def pytest(session: nox.Session, track: str, files: list[str], *options: str) -> None:
    """pytest under the supervisor (tools/runner.py): time limits, abnormal ends and blame."""
    session.run(shared_env(session), "-m", "tools.runner", "--track", track, *options, *files, *session.posargs)


def tool(session: nox.Session, module: str, *args: str) -> None:
    session.run(shared_env(session), "-m", f"tools.{module}", *args)


def kata_number(session: nox.Session, what: str) -> int:
    """The kata number given after `--`, or a one-line error listing the valid ones."""
    valid = ", ".join(f"{k.number} ({k.name})" for k in katas())
    if not session.posargs:
        session.error(f"{what} needs a kata number: `nox -s {session.name} -- N` with N one of {valid}")
    try:
        return parse_number(session.posargs[0]).number
    except ValueError as error:
        session.error(str(error))


HAS_REFERENCE = (ROOT / "solutions").is_dir()  # False in a student copy (`nox -s release`)
REFERENCE_ONLY: list[str] = []  # the sessions such a copy leaves out; asked for, they say why (end of file)


def reference_session(name: str | None = None) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register a session that needs solutions/, or, in a student copy, only remember its name."""

    def register(func: Callable[..., None]) -> Callable[..., None]:
        if HAS_REFERENCE:
            return nox.session(name=name or func.__name__)(func)
        REFERENCE_ONLY.append(name or func.__name__)
        return func

    return register


# -- The learner's sessions, one per kata, generated from tools/manifest.toml -------------------

for _kata in katas():

    def _learner(session: nox.Session, kata=_kata) -> None:
        pytest(session, "katas", [kata.test_file], "--remember")

    _learner.__doc__ = f"Test your kata {_kata.number} ({_kata.path()}): {_kata.summary}."
    nox.session(name=f"kata-{_kata.number}")(_learner)

for _kata in katas():

    def _reference(session: nox.Session, kata=_kata) -> None:
        pytest(session, "solutions", [kata.test_file])

    _reference.__doc__ = f"Test the reference for kata {_kata.number} ({_kata.path('solutions')})."
    reference_session(f"solution-{_kata.number}")(_reference)


@nox.session
def setup(session: nox.Session) -> None:
    """Build the shared environment (torch, the test tools) and do nothing else: Codespaces and CI run it once."""
    shared_env(session)


@nox.session
def progress(session: nox.Session) -> None:
    """Show which katas you have done, and what to do next (`-- OPTIONS` go to pytest)."""
    tool(session, "learner.progress", *session.posargs)


@nox.session
def watch(session: nox.Session) -> None:
    """Watch katas/: each save re-runs your current kata's tests; pass, and the next one starts (-- --poll)."""
    tool(session, "learner.watch", *session.posargs)


@nox.session
def hint(session: nox.Session) -> None:
    """Show a hint: `nox -s hint -- 3` for kata 3, `-- 3 2` for its next level."""
    kata_number(session, "hint")
    session.run(sys.executable, "-m", "tools.learner.hint", *session.posargs)


@nox.session
def reset(session: nox.Session) -> None:
    """Put kata 3 back to its stub: `nox -s reset -- 3` (backed up first); `-- 3 --undo` puts your file back."""
    if session.posargs != ["--judge"]:  # --judge: the release's tests and tools (tools/seal.py)
        kata_number(session, "reset")
    session.run(sys.executable, "-m", "tools.learner.reset", *session.posargs)


@nox.session
def train(session: nox.Session) -> None:
    """Train your TwoLayerNet on real digits (`-- --help` for the options; `-- --reference` for ours)."""
    tool(session, "learner.train", *session.posargs)


@nox.session
def notebook(session: nox.Session) -> None:
    """Open notebooks/explore.ipynb in JupyterLab: your net trained on real digits and drawn; check(N) in a cell."""
    python = shared_env(session, "notebook")
    # The whole repository in JupyterLab's file browser (katas/ included), the notebook opened in it.
    as_root = ["--allow-root"] if getattr(os, "geteuid", lambda: 1)() == 0 else []  # containers, Colab-like boxes
    lab = [f"--ServerApp.root_dir={ROOT}", *as_root, "notebooks/explore.ipynb", *session.posargs]
    session.run(python, "-m", "jupyterlab", *lab)


@reference_session()
def bench(session: nox.Session) -> None:
    """Time one epoch: hand-written backward against torch.autograd and the bare matrix products."""
    tool(session, "maintainer.bench", *session.posargs)


@reference_session()
def bugzoo(session: nox.Session) -> None:
    """Inject each known mistake into the reference: do the tests catch it, and name it?"""
    tool(session, "maintainer.bugzoo", *session.posargs)


# -- Sessions for instructors and for this repository's CI --------------------------------------


@nox.session
def grade(session: nox.Session) -> None:
    """Grade every kata: reports/grade.json, grade.xml (JUnit), grade.md; `-- --class DIR`: a whole class."""
    whole_class = any(a == "--class" or a.startswith("--class=") for a in session.posargs)
    tool(session, "instructor.classroom" if whole_class else "instructor.grade", *session.posargs)


@reference_session()
def release(session: nox.Session) -> None:
    """Write a student copy without solutions into a new folder: `nox -s release -- ../course-katas`."""
    session.run(sys.executable, "-m", "tools.instructor.release", *session.posargs)


@reference_session()
def gradescope(session: nox.Session) -> None:
    """Write a Gradescope autograder (setup.sh, run_autograder, a student copy): `nox -s gradescope -- OUT.zip`."""
    session.run(sys.executable, "-m", "tools.instructor.gradescope", *session.posargs)


@reference_session()
def solutions(session: nox.Session) -> None:
    """Run every kata test against the reference in solutions/ (must pass); check the manifest's `needs`."""
    tool(session, "maintainer.reference", *session.posargs)


@reference_session()
def tooling(session: nox.Session) -> None:
    """Test the tools themselves (tools/tests): generator, runner, supervision, train, bench."""
    # Two xdist workers: most of these tests wait (on time limits, on watches), so two halve the wait.
    session.run(shared_env(session), "-m", "pytest", "-n", "2", "tools/tests", *session.posargs)


@reference_session()
def stubs(session: nox.Session) -> None:
    """Prove the tests discriminate: each kata's tests all fail on its pristine stub, blamed on it."""
    tool(session, "maintainer.stubs_fail")


@reference_session()
def lint(session: nox.Session) -> None:
    """ruff, mypy, import circles (import-linter); the GitHub workflows' schema and zizmor, here and in a release."""
    python = shared_env(session, "workflows")
    session.run(python, "-m", "ruff", "check", ".")
    session.run(python, "-m", "ruff", "format", "--check", ".")
    session.run(python, "-m", "mypy")
    # import-linter: the contracts in pyproject.toml's [tool.importlinter]; a new import circle breaks one.
    lint_imports = str(Path(python).parent / ("lint-imports.exe" if os.name == "nt" else "lint-imports"))
    session.run(lint_imports, "--no-logo", "--no-cache", env={"COLUMNS": "120"})  # its report, a line a contract
    with tempfile.TemporaryDirectory() as tmp:  # the workflow a release writes, checked as the repository's are
        course = Path(tmp) / "course"
        session.run(sys.executable, "-m", "tools.instructor.release", str(course), silent=True)
        workflows = [
            *sorted((ROOT / ".github" / "workflows").glob("*.yml")),
            *(course / ".github" / "workflows").glob("*.yml"),
        ]
        session.run(
            python, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, workflows)
        )
        # zizmor, GitHub Actions' static analyser, offline: nothing of medium severity or above may remain.
        zizmor = str(Path(python).parent / ("zizmor.exe" if os.name == "nt" else "zizmor"))
        session.run(zizmor, "--offline", "--min-severity", "medium", *map(str, workflows))


@reference_session("notebook-run")
def notebook_run(session: nox.Session) -> None:
    """Execute notebooks/explore.ipynb headless on the reference, offline: every cell must run, within 2 min."""
    session.run(shared_env(session, "notebook-run"), "-m", "tools.maintainer.notebook_run", *session.posargs)


@reference_session()
def generated(session: nox.Session) -> None:
    """Check what is derived from solutions/ and the manifest: katas/, name tables, hints, README (-- --write)."""
    session.run(sys.executable, "-m", "tools.maintainer.generated", *session.posargs)


@reference_session("new-kata")
def new_kata(session: nox.Session) -> None:
    """Add kata N+1: `nox -s new-kata -- NAME` writes its reference, stub, test, hints and manifest entry."""
    # Run as a plain process: a refused name is the tool's one line and exit status 2, not nox's three lines.
    command = [shared_env(session), "-m", "tools.maintainer.new_kata", *session.posargs]
    done = subprocess.run(command, cwd=ROOT, check=False)
    if done.returncode:
        sys.exit(done.returncode)


def release_check(session: nox.Session) -> None:
    """A student copy made in a temporary folder holds no line of any solution, and every kata as its stub."""
    session.run(sys.executable, "-m", "tools.instructor.release", "--check")


@reference_session()
def ci(session: nox.Session) -> None:
    """What this repository's CI runs: generated, lint, release --check, solutions, tooling, stubs, bugzoo, notebook."""
    for check in (generated, lint, release_check, solutions, tooling, stubs, bugzoo, notebook_run):
        session.log(f"--- {check.__name__}: {(check.__doc__ or '').splitlines()[0]}")
        check(session)


def _requested_sessions(argv: list[str]) -> list[str]:
    """The session names given with -s/--session/-e on nox's command line (before any `--`)."""
    argv = argv[: argv.index("--")] if "--" in argv else argv
    names, taking = [], False
    for arg in argv:
        if arg in ("-s", "-e", "--session", "--sessions"):
            taking = True
        elif arg.startswith(("--session=", "--sessions=")):
            names += arg.split("=", 1)[1].split(",")
        elif arg.startswith("-"):
            taking = False
        elif taking:
            names.append(arg)
    return names


# An unknown session (`nox -s kata-12`) gets one line listing the valid ones, not nox's bare "not found".
_unknown = [name for name in _requested_sessions(sys.argv[1:]) if name not in nox.registry.get()]
if _unknown and _unknown[0] in REFERENCE_ONLY:
    print(f"nox: `nox -s {_unknown[0]}` needs the reference solutions, and this student copy has none.")
    sys.exit(2)
if _unknown:
    _others = [name for name in nox.registry.get() if not name.startswith(("kata-", "solution-"))]
    _last = len(katas())
    _solutions = f"solution-1 ... solution-{_last}, " if HAS_REFERENCE else ""
    _choose = f"kata-1 ... kata-{_last}, {_solutions}or {', '.join(_others)}"
    print(f"nox: there is no session {_unknown[0]!r}. Choose {_choose}.")
    sys.exit(2)
