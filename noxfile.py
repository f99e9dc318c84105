"""The menu. `nox -l` lists every session; `nox` alone shows your progress.

All sessions share one environment, .nox/shared (torch is about 5 GB: one copy is plenty).
It is created on first use and brought up to date whenever pyproject.toml changes; otherwise
a session starts straight away and installs nothing.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from tools.manifest import katas, parse_number  # noqa: E402

ENV = ROOT / ".nox" / "shared"
PYTHON = ENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = ENV / "pyproject.sha256"

nox.options.sessions = ["progress"]
nox.options.default_venv_backend = "none"


def shared_env(session: nox.Session) -> str:
    """The shared environment's python, (re)installed only when pyproject.toml has changed."""
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == want:
        return str(PYTHON)
    if not PYTHON.exists():
        session.log(f"Creating the shared environment in {ENV} (once; torch takes a few minutes).")
        session.run(sys.executable, "-m", "venv", str(ENV))
    pyproject = nox.project.load_toml(ROOT / "pyproject.toml")
    requirements = [*pyproject["project"]["dependencies"], *nox.project.dependency_groups(pyproject, "dev")]
    session.run(str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", *requirements)
    STAMP.write_text(want)
    return str(PYTHON)


def pytest(session: nox.Session, track: str, files: list[str], *options: str) -> None:
    session.run(shared_env(session), "-m", "pytest", "--track", track, *options, *files, *session.posargs)


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


# -- The learner's sessions, one per kata, generated from tools/manifest.toml -------------------

for _kata in katas():

    def _learner(session: nox.Session, kata=_kata) -> None:
        pytest(session, "katas", [kata.test_file], "-rN")

    _learner.__doc__ = f"Test your kata {_kata.number} ({_kata.path()}): {_kata.summary}."
    nox.session(name=f"kata-{_kata.number}")(_learner)

for _kata in katas():

    def _reference(session: nox.Session, kata=_kata) -> None:
        pytest(session, "solutions", [kata.test_file])

    _reference.__doc__ = f"Test the reference for kata {_kata.number} ({_kata.path('solutions')})."
    nox.session(name=f"solution-{_kata.number}")(_reference)


@nox.session
def progress(session: nox.Session) -> None:
    """Show which of the nine katas you have done, and what to do next."""
    tool(session, "progress")


@nox.session
def hint(session: nox.Session) -> None:
    """Show a hint: `nox -s hint -- 3` for kata 3, `-- 3 2` for its next level."""
    kata_number(session, "hint")
    session.run(sys.executable, "-m", "tools.hints", *session.posargs)


@nox.session
def reset(session: nox.Session) -> None:
    """Put one kata back to its starting stub: `nox -s reset -- 3` (your file is backed up first)."""
    kata_number(session, "reset")
    session.run(sys.executable, "-m", "tools.reset", *session.posargs)


# -- Sessions for instructors and for this repository's CI --------------------------------------


@nox.session
def solutions(session: nox.Session) -> None:
    """Run every test against the reference in solutions/ (must pass)."""
    pytest(session, "solutions", ["tests"])


@nox.session
def stubs(session: nox.Session) -> None:
    """Prove the tests discriminate: each kata's tests all fail on its pristine stub, blamed on it."""
    tool(session, "check_stubs")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and format check."""
    python = shared_env(session)
    session.run(python, "-m", "ruff", "check", ".")
    session.run(python, "-m", "ruff", "format", "--check", ".")


@nox.session
def generated(session: nox.Session) -> None:
    """Check katas/ is what tools/stubs.py makes from solutions/; hints and README table match the manifest."""
    session.run(sys.executable, "-m", "tools.stubs", "--check")
    session.run(sys.executable, "-m", "tools.hints", "--check")
    session.run(sys.executable, "-m", "tools.readme", "--check")


@nox.session
def ci(session: nox.Session) -> None:
    """What this repository's CI runs: generated, lint, solutions, stubs."""
    for check in (generated, lint, solutions, stubs):
        session.log(f"--- {check.__name__}: {check.__doc__.splitlines()[0]}")
        check(session)
