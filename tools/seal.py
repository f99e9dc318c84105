"""The files that judge, sealed in a student copy: a test edited to pass earns nothing.

`nox -s release` writes the SHA-256 of every file that takes part in judging (JUDGING) into SEAL,
in the format of `sha256sum`, so `sha256sum -c tools/judging.sha256` checks a copy by hand too.
Before judging, the runner compares a copy's files with its seal (`broken`): a kata judged by a
file that differs gets no verdict and no points, and one line says which file and how to bring it
back (`nox -s reset -- --judge`, from the commit that brought the seal: `restore`). The
repository itself has no seal and checks nothing.

This is a guard against a test edited by mistake or in haste, not a lock: a student can edit the
checking code, or the workflow, too. A grade that must hold is taken from an untouched release
judging the collected katas/ (KATA_ROOT); the README's instructors' part says so.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from tools import stubs
from tools.manifest import by_module, katas

SEAL = "tools/judging.sha256"
JUDGING = ("tests", "tools", "conftest.py", "noxfile.py", "pyproject.toml", ".github/workflows")
# Files a release does not have, which would change how pytest or Python judges if a copy had them.
FOREIGN = ("pytest.ini", ".pytest.ini", "tox.ini", "setup.cfg", "sitecustomize.py", "usercustomize.py")
SKIPPED = {"__pycache__", ".pytest_cache", ".hypothesis"}
RESTORE = "`nox -s reset -- --judge` brings it back"


def protected() -> list[str]:
    """The judging files as GitHub Classroom's "protected file paths" take them (glob patterns)."""
    return [f"{name}/**" if "." not in Path(name).name else name for name in (*JUDGING, *FOREIGN)]


def files(root: Path) -> list[str]:
    """The judging files under root, as posix paths relative to it, sorted; the seal itself left out."""
    found = []
    for name in (*JUDGING, *FOREIGN):
        path = root / name
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in candidates:
            relative = file.relative_to(root)
            if not SKIPPED & set(relative.parts) and file.suffix != ".pyc" and relative.as_posix() != SEAL:
                found.append(relative.as_posix())
    return sorted(found)


def digest(path: Path) -> str:
    """SHA-256 of the file's bytes, with Windows line ends read as Unix ones (git may convert them)."""
    return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()


def write(root: Path) -> Path:
    """Seal the judging files of the copy at root."""
    seal = root / SEAL
    seal.write_text("".join(f"{digest(root / name)}  {name}\n" for name in files(root)), encoding="utf-8", newline="\n")
    return seal


def sealed(root: Path) -> dict[str, str] | None:
    """The seal of the copy at root, {file: digest}; None when it has none (this repository)."""
    try:
        text = (root / SEAL).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return {}  # unreadable: every judging file then differs from it
    entries = (line.split("  ", 1) for line in text.splitlines() if line.strip())
    return {name: value for value, name in (e for e in entries if len(e) == 2)}


def broken(root: Path) -> dict[str, str]:
    """{file: what is wrong} for each judging file that differs from the seal (changed, missing, added, or the
    seal unreadable); empty when all match or there is no seal."""
    seal = sealed(root)
    if seal is None:
        return {}
    if not seal:
        return {SEAL: f"{SEAL} cannot be read; {RESTORE}"}
    found = {}
    for name, value in seal.items():
        path = root / name
        if not path.is_file():
            found[name] = f"{name} is missing from the release's files; {RESTORE}"
        elif digest(path) != value:
            found[name] = f"{name} differs from the release; {RESTORE}"
    for name in set(files(root)) - set(seal):
        found[name] = f"{name} is not one of the release's files and takes part in judging: remove it"
    return dict(sorted(found.items()))


def judged_by(name: str) -> set[int] | None:
    """The katas a judging file judges: its kata for tests/test_<module>.py, every kata (None) otherwise."""
    parts = Path(name).parts
    kata = by_module(Path(name).stem.removeprefix("test_")) if parts[:1] == ("tests",) and len(parts) == 2 else None
    return {kata.number} if kata and Path(name).name == f"test_{kata.module}.py" else None


def blocked(root: Path) -> dict[int, list[str]]:
    """{kata: the lines about the judging files that keep it from a verdict}, for the copy at root."""
    found: dict[int, list[str]] = {}
    for name, line in broken(root).items():
        for number in judged_by(name) or {k.number for k in katas()}:
            found.setdefault(number, []).append(line)
    return found


def restore(root: Path) -> list[str]:
    """Bring back each judging file that differs, as the release's commit holds it (git); one line each. A file
    the release does not have is taken out. Each file replaced or taken out is backed up first."""
    if sealed(root) is None:
        return [f"This is not a student copy ({SEAL} is not here): no file that judges is sealed; nothing to do."]
    wrong = broken(root)
    if not wrong:
        return ["Every file that judges is as the release made it; nothing to do."]
    commit = _release_commit(root)
    if commit is None:
        return [
            "These files differ from the release, and git cannot tell which commit the release is here: download "
            f"them again from your assignment's template: {', '.join(wrong)}"
        ]
    said = []
    for name in wrong:
        path = root / name
        backup = f" (yours is kept in {stubs.backup(path).relative_to(root).as_posix()})" if path.is_file() else ""
        try:
            content: bytes | None = _git(root, "show", f"{commit}:{name}")
        except subprocess.CalledProcessError:  # the release has no such file: it was added since
            content = None
        if content is None:
            path.unlink(missing_ok=True)
            said.append(f"{name}: taken out, as the release has no such file{backup}")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            said.append(f"{name}: brought back{backup}")
    return said


def _release_commit(root: Path) -> str | None:
    """The newest commit whose seal is the one in the copy: the release the copy started from."""
    try:
        current = (root / SEAL).read_bytes()
        for commit in _git(root, "log", "--format=%H", "--", SEAL).decode().split():
            if _git(root, "show", f"{commit}:{SEAL}").replace(b"\r\n", b"\n") == current.replace(b"\r\n", b"\n"):
                return commit
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        pass
    return None


def _git(root: Path, *args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, check=True, timeout=30).stdout
