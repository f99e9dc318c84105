"""A class folder, made safe to judge: one Submission per student, each with its katas/ or the reason it has none.

    find(class_dir, work) -> Iterator[Submission]

class_dir holds one folder or .zip per student, as `gh classroom clone student-repos` (a repository each), a
Gradescope export (a submission_N folder each) or a Canvas download (a zip each) gives them; katas/ may be under
lone folders (a zip of a repository's folder) or in the one zip a folder holds. Each student's katas/ and tests/
are copied into work/<name>/ (from a zip only after its table of contents passed: no absolute path or `..`, at
most MAX_MEMBERS members declaring MAX_DECLARED bytes: a zip bomb is never unpacked), then fingerprinted (a re-run
re-judges only changed katas), compiled (never run) and compared with this repository's tests/. No fault stops
the class: each is its Submission's `reason`. Nothing here imports torch or runs a student's code.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tools.manifest import ROOT, katas
from tools.seal import SKIPPED, digest

MAX_MEMBERS = 50_000  # a whole repository with .git and a virtual environment stays under this
MAX_DECLARED = 2 << 30  # bytes, the members' declared sizes in all: above it the zip is refused unread
MAX_COPIED = 16 << 20  # bytes copied of katas/ and tests/ (a kata file is a few KB)
DEPTH = 3  # how deep under a student's folder or zip katas/ is looked for
WANTED = ("katas", "tests")
INDEXES = {".yml", ".yaml", ".csv", ".json"}  # a platform's list of the class (Gradescope's submission_metadata.yml)
_ODD = re.compile(r"[\x00-\x1f\x7f]")


class Unjudgeable(Exception):
    """Why one submission cannot be judged, in one line."""


@dataclass(frozen=True)
class TestsDiff:
    """How a student's tests/ differs from this repository's: names relative to tests/. Listed, never used."""

    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True)
class Submission:
    name: str  # the student as the gradebook shows them: the folder's or zip's name, printable
    source: Path  # the folder or zip in the class folder
    root: Path | None  # the folder holding katas/ (a copy under work); None when it cannot be judged
    reason: str = ""  # why it cannot be judged, one line; "" when it can
    fingerprint: str = ""  # SHA-256 over the names and contents of katas/*.py
    tests: TestsDiff | None = None  # None: its tests/ is this repository's, or it sent none
    format_errors: tuple[str, ...] = ()  # kata files that are missing or do not compile: "katas/relu.py:3: ..."
    notes: tuple[str, ...] = ()  # what was left out on the way (odd names, links)

    @property
    def judgeable(self) -> bool:
        return self.root is not None


def find(class_dir: Path, work: Path, release: Path = ROOT) -> Iterator[Submission]:
    """Every student of class_dir in name order, unpacked into work (made, and each student's folder replaced);
    their tests/ compared with release/tests/ (the running copy's)."""
    if not class_dir.is_dir():
        raise NotADirectoryError(f"{class_dir}: not a folder")
    used: set[str] = set()
    for entry in sorted(class_dir.iterdir(), key=lambda p: p.name):
        if _hidden(entry.name) or entry.suffix.lower() in INDEXES or entry.resolve() == work.resolve():
            continue
        name = unique(printable(entry.stem if entry.is_file() else entry.name), used)
        yield submission(name, entry, work / slug(name), release)


def submission(name: str, source: Path, dest: Path, release: Path = ROOT) -> Submission:
    """One student: their katas/ and tests/ copied to dest, checked; any fault is the reason."""
    notes: list[str] = []
    try:
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        if source.is_symlink():
            raise Unjudgeable("a link, not a folder or a zip")
        if source.is_dir():
            inner = [p for p in source.iterdir() if p.suffix.lower() == ".zip" and p.is_file()]
            if not _folder_root(source) and len(inner) == 1:
                source = inner[0]  # a platform's folder holding the zip the student uploaded
        if source.is_file() and source.suffix.lower() == ".zip":
            _unzip(source, dest, notes)
        elif source.is_dir():
            _copy(source, dest, notes)
        else:
            raise Unjudgeable("not a folder or a .zip")
        if not (dest / "katas").is_dir():
            raise Unjudgeable(f"no katas/ folder (looked {DEPTH} folders deep)")
    except Unjudgeable as why:
        return Submission(name, source, None, str(why), notes=tuple(notes))
    except OSError as error:
        return Submission(name, source, None, f"could not be read: {error.strerror or error}", notes=tuple(notes))
    return Submission(
        name, source, dest, "", fingerprint(dest), tests_differ(dest, release), unparsable(dest), tuple(notes)
    )


def _folder_root(folder: Path) -> Path | None:
    """The folder under `folder` that holds katas/: itself, or down through lone subfolders (no links followed)."""
    for _ in range(DEPTH + 1):
        if (folder / "katas").is_dir() and not (folder / "katas").is_symlink():
            return folder
        subs = [p for p in folder.iterdir() if p.is_dir() and not p.is_symlink() and not _hidden(p.name)]
        if len(subs) != 1:
            return None
        folder = subs[0]
    return None


def _copy(source: Path, dest: Path, notes: list[str]) -> None:
    root = _folder_root(source)
    if root is None:
        raise Unjudgeable(f"no katas/ folder (looked {DEPTH} folders deep)")
    budget = [MAX_COPIED]
    for part in WANTED:
        if (root / part).is_symlink():
            notes.append(f"left out {part}/: a link")
            continue
        walked = os.walk(root / part)  # links to folders are not followed
        for path in sorted(Path(top, name) for top, folders, files in walked for name in files):
            if _admitted(path.relative_to(root).as_posix(), path.is_symlink(), notes) and path.is_file():
                _take(budget, path.stat().st_size)
                (dest / path.relative_to(root)).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dest / path.relative_to(root))


def _admitted(relative: str, link: bool, notes: list[str]) -> bool:
    """Whether a file is copied: one of katas/ or tests/, not Python's cache, not a link, not an odd name."""
    parts = relative.split("/")
    if parts[0] not in WANTED or SKIPPED & set(parts):
        return False
    if link or _odd(relative):
        notes.append(f"left out {printable(relative)!r}: {'a link' if link else 'an odd name'}")
        return False
    return True


def _unzip(source: Path, dest: Path, notes: list[str]) -> None:
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                raise Unjudgeable(f"a zip of {len(members):,} members, more than {MAX_MEMBERS:,}: not unpacked")
            declared = sum(m.file_size for m in members)
            if declared > MAX_DECLARED:
                raise Unjudgeable(f"a zip that unpacks to {declared / 2**30:.1f} GiB, too big: not unpacked")
            for m in members:
                parts = re.split(r"[\\/]", m.filename)
                if m.filename.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", m.filename) or ".." in parts:
                    raise Unjudgeable(f"a zip with a member that unpacks outside its folder: {printable(m.filename)!r}")
            prefix = _zip_root([m.filename.replace("\\", "/") for m in members])
            budget = [MAX_COPIED]
            for m in members:
                name = m.filename.replace("\\", "/")
                relative, link = name[len(prefix) :], stat.S_ISLNK(m.external_attr >> 16)
                if name.startswith(prefix) and not m.is_dir() and _admitted(relative, link, notes):
                    _take(budget, m.file_size)
                    (dest / relative).parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(m) as read, open(dest / relative, "wb") as write:
                        shutil.copyfileobj(read, write)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError) as error:
        raise Unjudgeable(f"a zip that cannot be read: {printable(str(error)) or type(error).__name__}") from None
    except UnicodeDecodeError:
        raise Unjudgeable("a zip whose member names are marked UTF-8 and are not") from None


def _zip_root(names: list[str]) -> str:
    """The prefix ('' or 'repo/') of the shallowest katas/ in the zip; Unjudgeable when there is none or two."""
    found = {m[1] for m in (re.match(r"((?:[^/]*/)*?)katas/", n) for n in names) if m}
    found = {
        p for p in found if p.count("/") <= DEPTH and not any(_hidden(s) for s in p.split("/") if s not in ("", "."))
    }
    if not found:
        raise Unjudgeable(f"no katas/ folder in the zip (looked {DEPTH} folders deep)")
    shallowest = min(p.count("/") for p in found)
    top = sorted(p for p in found if p.count("/") == shallowest)
    if len(top) > 1:
        raise Unjudgeable(f"a zip with {len(top)} katas/ folders: {', '.join(printable(p) + 'katas/' for p in top)}")
    return top[0]


def _take(budget: list[int], size: int) -> None:
    budget[0] -= size
    if budget[0] < 0:
        raise Unjudgeable(f"katas/ and tests/ hold more than {MAX_COPIED >> 20} MiB")


def _hidden(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"


def _odd(relative: str) -> bool:
    """A name that is not plain text: control characters, or bytes that were not UTF-8 (surrogate escapes)."""
    return bool(_ODD.search(relative)) or any(0xDC80 <= ord(c) <= 0xDCFF for c in relative)


def printable(text: str) -> str:
    """The text with bytes that were not UTF-8 and control characters shown as '?'."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return _ODD.sub("?", text.replace("\ufffd", "?")).strip() or "?"


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "_"


def unique(name: str, used: set[str]) -> str:
    """name, or name-2, name-3 ... when two entries show the same (their folder names differed in odd bytes);
    compared as slugs too, so that no two students share a work folder."""
    candidate, n = name, 1
    while candidate in used or slug(candidate) in used:
        n += 1
        candidate = f"{name}-{n}"
    used.update({candidate, slug(candidate)})
    return candidate


def fingerprint(root: Path) -> str:
    """SHA-256 over the names and contents (line ends as Unix's) of root/katas/*.py, in name order."""
    total = hashlib.sha256()
    for path in sorted((root / "katas").glob("*.py")):
        total.update(f"{path.name}\0{digest(path)}\n".encode("utf-8", "surrogateescape"))
    return total.hexdigest()


def _tests(root: Path) -> dict[str, str]:
    folder = root / "tests"
    return {
        p.relative_to(folder).as_posix(): digest(p)
        for p in folder.rglob("*")
        if p.is_file() and not SKIPPED & set(p.relative_to(folder).parts)
    }


def tests_differ(root: Path, release: Path = ROOT) -> TestsDiff | None:
    """How root/tests/ differs from the release's; None when it is the same or root has no tests/ (katas/ alone)."""
    if not (root / "tests").is_dir():
        return None
    theirs, ours = _tests(root), _tests(release)
    diff = TestsDiff(
        added=tuple(sorted(printable(n) for n in theirs.keys() - ours.keys())),
        changed=tuple(sorted(n for n in theirs.keys() & ours.keys() if theirs[n] != ours[n])),
        removed=tuple(sorted(ours.keys() - theirs.keys())),
    )
    return diff if diff.added or diff.changed or diff.removed else None


def unparsable(root: Path) -> tuple[str, ...]:
    """Each kata file (tools/manifest.toml) that is missing or does not compile, as 'katas/relu.py:3: why'.
    Compiled only: no line of it runs."""
    errors = []
    for kata in katas():
        path = root / kata.path()
        if not path.is_file():
            errors.append(f"{kata.path()}: missing")
            continue
        try:
            compile(path.read_bytes(), kata.path(), "exec", dont_inherit=True)
        except SyntaxError as error:
            errors.append(f"{kata.path()}:{error.lineno or 1}: {error.msg}")
        except (ValueError, RecursionError, MemoryError) as error:  # null bytes; nesting the compiler cannot take
            errors.append(f"{kata.path()}: {printable(str(error)) or type(error).__name__}")
    return tuple(errors)
