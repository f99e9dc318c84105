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
from tools.manifest import kata_of_test, katas

SEAL = "tools/judging.sha256"
JUDGING = ("tests", "tools", "conftest.py", "noxfile.py", "pyproject.toml", ".github/workflows")
# pytest's configuration files that outrank pyproject.toml: a release has none, and a copy must not gain one.
FOREIGN = ("pytest.toml", ".pytest.toml", "pytest.ini", ".pytest.ini", "tox.ini", "setup.cfg")
# What Python imports from a folder on sys.path. The repository's root is one (`python -m`): a module or a
# package there (json.py, nox.py, pytest/) would stand in for the library of that name.
MODULES = (".py", ".pyc", ".pyw", ".so", ".pyd")
OWN = {"katas", "tests", "tools"}  # the root's packages: the learner's, and the sealed ones
SKIPPED = {"__pycache__", ".pytest_cache", ".hypothesis"}
RESTORE = "`nox -s reset -- --judge` brings it back"


def protected() -> list[str]:
    """The judging files as GitHub Classroom's "protected file paths" take them (glob patterns)."""
    return [f"{name}/**" if "." not in Path(name).name else name for name in (*JUDGING, *FOREIGN)]


def files(root: Path) -> list[str]:
    """The judging files under root, as posix paths relative to it, sorted; the seal itself left out: those
    of JUDGING, pytest's configuration files, and every module or package at the root but katas/."""
    found = set()
    for name in (*JUDGING, *FOREIGN):
        path = root / name
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in candidates:
            relative = file.relative_to(root)
            if not SKIPPED & set(relative.parts) and relative.as_posix() != SEAL:
                found.add(relative.as_posix())
    for entry in root.iterdir() if root.is_dir() else ():
        if entry.suffix in MODULES and entry.is_file():
            found.add(entry.name)
        elif entry.is_dir() and entry.name not in OWN:
            found.update(f"{entry.name}/__init__{s}" for s in MODULES if (entry / f"__init__{s}").is_file())
    return sorted(found)


def compiled(root: Path) -> list[str]:
    """The hash-based .pyc files in the __pycache__ folders of the code that judges: Python runs one of those
    instead of its source without looking at the source's time. Python itself writes timestamp-based ones,
    which it checks against the source; a hash-based one in a copy was put there."""
    found = []
    for folder in ("tests", "tools", "."):
        for path in sorted((root / folder).glob("**/__pycache__/*.pyc" if folder != "." else "__pycache__/*.pyc")):
            try:
                with open(path, "rb") as file:
                    flags = int.from_bytes(file.read(8)[4:8], "little")
            except OSError:
                continue
            if flags & 1:
                found.append(path.relative_to(root).as_posix())
    return found


def digest(path: Path) -> str:
    """SHA-256 of the file's bytes, with Windows line ends read as Unix ones (git may convert them)."""
    return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()


def write(root: Path) -> Path:
    """Seal the judging files of the copy at root."""
    seal = root / SEAL
    seal.write_text("".join(f"{digest(root / name)}  {name}\n" for name in files(root)), encoding="utf-8", newline="\n")
    return seal


def sealed(root: Path) -> dict[str, str] | None:
    """The seal of the copy at root, {file: digest}; None when it has none: this repository, which has the
    reference (a copy without it and without a seal lost its seal: {}, as for an unreadable one)."""
    try:
        if (root / SEAL).is_symlink():
            return {}
        text = (root / SEAL).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None if (root / "solutions").is_dir() else {}
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
        return {SEAL: f"{SEAL}, which lists the files that judge, is missing, empty or not a file; {RESTORE}"}
    found = {}
    for name, value in seal.items():
        path = root / name
        if not path.is_file():
            found[name] = f"{name} is missing from the release's files; {RESTORE}"
        elif digest(path) != value:
            found[name] = f"{name} differs from the release; {RESTORE}"
    for name in set(files(root)) - set(seal):
        found[name] = f"{name} is not one of the release's files and takes part in judging: remove it"
    for name in compiled(root):
        found[name] = f"{name} is compiled code that Python would run in place of its source: remove it"
    return dict(sorted(found.items()))


def judged_by(name: str) -> set[int] | None:
    """The katas a judging file judges: its kata for tests/test_<module>.py, every kata (None) otherwise."""
    kata = kata_of_test(name)
    return {kata.number} if kata else None


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
    commit = _release_commit(root)
    if commit is None:
        return [
            "Files that judge differ from the release, and git cannot tell which commit the release is here: "
            f"download them again from your assignment's template: {', '.join(broken(root))}"
        ]
    said = [] if sealed(root) else [_bring_back(root, commit, SEAL)]  # the list of files first, when it is gone
    said += [_bring_back(root, commit, name) for name in broken(root)]
    return said or ["Every file that judges is as the release made it; nothing to do."]


def _bring_back(root: Path, commit: str, name: str) -> str:
    path = root / name
    kept = f" (yours is kept in {stubs.backup(path).relative_to(root).as_posix()})" if path.is_file() else ""
    try:
        content = _git(root, "show", f"{commit}:{name}")
    except subprocess.CalledProcessError:  # the release has no such file: it was added since
        path.unlink(missing_ok=True)
        return f"{name}: taken out, as the release has no such file{kept}"
    if path.is_symlink():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return f"{name}: brought back{kept}"


def _release_commit(root: Path) -> str | None:
    """The newest commit whose seal is the one in the copy: the release the copy started from; when the copy's
    seal is gone or broken, the newest commit that has one."""
    try:
        current = (root / SEAL).read_bytes().replace(b"\r\n", b"\n") if sealed(root) else None
        for commit in _git(root, "log", "--format=%H", "--", SEAL).decode().split():
            try:
                theirs = _git(root, "show", f"{commit}:{SEAL}").replace(b"\r\n", b"\n")
            except subprocess.CalledProcessError:  # the commit that removed it
                continue
            if current is None or theirs == current:
                return commit
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        pass
    return None


def _git(root: Path, *args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, check=True, timeout=30).stdout
