"""The shared environment every nox session runs in, .nox/shared: made once, updated only when needed.

`shared_env` returns its python, creating it on first use (reusing the torch and torchvision of the
Python running nox when they match pyproject.toml) and reinstalling only when the dependencies listed
there change (their hash is kept in the environment). `heartbeat` prints a sign of life while pip runs.
Only noxfile.py imports this module, so it may import nox, which the environment itself does not hold.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent.parent
ENV = ROOT / ".nox" / "shared"
PYTHON = ENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = ENV / "pyproject.sha256"


def shared_env(session: nox.Session, *extra: str) -> str:
    """The shared environment's python, (re)installed only when the dependencies in pyproject.toml change.

    `extra` names more dependency groups (`notebook`) installed into the same environment, each once,
    with its own stamp: sessions that do not ask for a group never pay for it, nor undo it."""
    pyproject = nox.project.load_toml(ROOT / "pyproject.toml")
    for group in extra:
        group_requirements = nox.project.dependency_groups(pyproject, group)
        group_stamp = ENV / f"group-{group}.sha256"
        group_want = hashlib.sha256("\n".join(group_requirements).encode()).hexdigest()
        if not (group_stamp.exists() and group_stamp.read_text() == group_want):
            python = shared_env(session)
            session.log(f"Installing the `{group}` dependency group into the shared environment, once.")
            install = ["-m", "pip", "install", "--disable-pip-version-check", *group_requirements]
            with heartbeat(session, "pip is installing"):
                session.run(python, *install, silent=True)
            group_stamp.write_text(group_want)
    requirements = [*pyproject["project"]["dependencies"], *nox.project.dependency_groups(pyproject, "dev")]
    want = hashlib.sha256("\n".join(requirements).encode()).hexdigest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == want:
        return str(PYTHON)
    if not PYTHON.exists():
        reused, where = installed_torch(pyproject["project"]["dependencies"])
        if reused:
            session.log(f"Creating the shared environment {ENV}; reusing {reused} from {where} (no download).")
        else:
            session.log(f"Creating the shared environment {ENV}: torch and torchvision, a few minutes, once.")
        session.run(sys.executable, "-m", "venv", str(ENV), silent=True)
        for stale in ENV.glob("group-*.sha256"):  # a new environment holds no extra group yet
            stale.unlink()
        if reused:  # the folder that holds torch joins the environment's path, after its own packages
            site = session.run(str(PYTHON), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", silent=True)
            (Path(str(site).strip()) / "reuse-installed-torch.pth").write_text(f"{where}\n", encoding="utf-8")
    else:
        session.log("The dependencies in pyproject.toml changed: updating the shared environment.")
    with heartbeat(session, "pip is installing"):
        # Quiet unless it fails (nox then prints pip's whole output) or `nox -v` asks for it.
        session.run(str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", *requirements, silent=True)
    STAMP.write_text(want)
    session.log("The shared environment is ready.")
    return str(PYTHON)


def installed_torch(dependencies: list[str]) -> tuple[str, str]:
    """('torch 2.14.1 and torchvision 0.29.1', the folder holding them) when the Python running nox has both
    in one folder, as pyproject.toml asks; ('', '') otherwise."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement

    found, folders = [], set()
    for text in dependencies:
        requirement = Requirement(text)
        if requirement.name not in ("torch", "torchvision"):
            continue
        try:
            installed = distribution(requirement.name)
        except PackageNotFoundError:
            return "", ""
        if not requirement.specifier.contains(installed.version, prereleases=True):
            return "", ""
        found.append(f"{requirement.name} {installed.version}")
        folders.add(str(Path(str(installed.locate_file(""))).resolve()))
    return (" and ".join(found), folders.pop()) if len(folders) == 1 and found else ("", "")


@contextlib.contextmanager
def heartbeat(session: nox.Session, doing: str, every: float = 20.0) -> Iterator[None]:
    """A line every `every` seconds while a long, silent command runs: a sign of life."""
    done, start = threading.Event(), time.monotonic()

    def beat() -> None:
        while not done.wait(every):
            session.log(f"{doing} ({time.monotonic() - start:.0f} s) ...")

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
