"""A class folder made safe to judge (tools/instructor/submissions.py): every layout a platform gives is found,
every bad submission gets its reason and never stops the others, and nothing unpacks outside its folder."""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from pathlib import Path

import pytest

from tools.instructor import submissions
from tools.instructor.submissions import Submission, find
from tools.manifest import ROOT, katas


@pytest.fixture(scope="module", autouse=True)
def release(tmp_path_factory) -> Path:
    """This repository's katas/ and tests/ as they are now, the release every submission is compared with."""
    folder = tmp_path_factory.mktemp("release")
    for part in ("katas", "tests"):
        shutil.copytree(ROOT / part, folder / part, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    RELEASE.append(folder)
    return folder


RELEASE: list[Path] = []


def repository(folder: Path, tests: bool = True) -> Path:
    """A student's repository: the release's katas/ (the stubs) and, unless told not to, its tests/."""
    shutil.copytree(RELEASE[-1] / "katas", folder / "katas")
    if tests:
        shutil.copytree(RELEASE[-1] / "tests", folder / "tests")
    return folder


def zipped(folder: Path, zip_path: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + path.relative_to(folder).as_posix())
    return zip_path


def judged(class_dir: Path, work: Path) -> dict[str, Submission]:
    return {s.name: s for s in find(class_dir, work, release=RELEASE[-1])}


def test_each_platform_layout_is_found(tmp_path):
    klass, work = tmp_path / "class", tmp_path / "work"
    repository(klass / "alice")  # gh classroom clone: a repository's folder
    repository(klass / "bob" / "mnist-katas-bob")  # one folder more
    repository(tmp_path / "c")
    zipped(tmp_path / "c", klass / "carol.zip", prefix="mnist-katas-main/")  # GitHub's "Download ZIP"
    repository(tmp_path / "d", tests=False)
    (klass / "submission_123").mkdir()
    zipped(tmp_path / "d", klass / "submission_123" / "upload.zip")  # Gradescope: a folder holding the upload
    (klass / "submission_metadata.yml").write_text("{}\n")  # the platform's index: no student
    zipped(tmp_path / "d", klass / "dotted.zip", prefix="./")  # zip -r of "."
    with zipfile.ZipFile(klass / "windows.zip", "w") as archive:  # a Windows tool's separators
        for path in sorted((tmp_path / "d" / "katas").glob("*.py")):
            archive.write(path, f"repo\\katas\\{path.name}")
    found = judged(klass, work)
    assert sorted(found) == ["alice", "bob", "carol", "dotted", "submission_123", "windows"]
    for name, s in found.items():
        assert s.judgeable and s.reason == "", (name, s.reason)
        assert s.root is not None and s.root.is_relative_to(work) and (s.root / "katas" / "affine.py").is_file()
        assert s.tests is None and s.format_errors == () and s.notes == ()
    assert len({s.fingerprint for s in found.values()}) == 1  # the same stubs
    assert not (found["submission_123"].root / "tests").exists()  # katas/ alone: nothing to compare


def test_bad_submissions_each_get_a_reason_and_the_class_goes_on(tmp_path, monkeypatch):
    klass, work = tmp_path / "class", tmp_path / "work"
    klass.mkdir()
    (klass / "corrupt.zip").write_bytes(b"PK\x03\x04 this is not a zip at all")
    with zipfile.ZipFile(klass / "escape.zip", "w") as archive:
        archive.writestr("katas/affine.py", "x = 1\n")
        archive.writestr("../../evil.py", "print('out')\n")
    with zipfile.ZipFile(klass / "absolute.zip", "w") as archive:
        archive.writestr("katas/affine.py", "x = 1\n")
        archive.writestr("/tmp/evil.py", "print('out')\n")
    with zipfile.ZipFile(klass / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("katas/affine.py", b"\0" * (8 << 20))  # 8 MiB of zeros, a few KB packed
    with zipfile.ZipFile(klass / "many.zip", "w") as archive:
        for i in range(30):
            archive.writestr(f"katas/m{i}.py", "")
    with zipfile.ZipFile(klass / "two.zip", "w") as archive:
        archive.writestr("a/katas/affine.py", "")
        archive.writestr("b/katas/affine.py", "")
    (klass / "nokatas" / "src").mkdir(parents=True)
    (klass / "notes.txt").write_text("hello")
    repository(klass / "zeta")  # after them all, a good one
    monkeypatch.setattr(submissions, "MAX_DECLARED", 1 << 20)
    monkeypatch.setattr(submissions, "MAX_MEMBERS", 20)
    found = judged(klass, work)
    reasons = {name: s.reason for name, s in found.items()}
    assert "cannot be read" in reasons["corrupt"]
    assert "outside its folder" in reasons["escape"] and "../../evil.py" in reasons["escape"]
    assert "outside its folder" in reasons["absolute"]
    assert "too big" in reasons["bomb"] and "8.0" not in reasons["bomb"]
    assert "30 members" in reasons["many"]
    assert "2 katas/ folders" in reasons["two"]
    assert "no katas/" in reasons["nokatas"]
    assert "not a folder or a .zip" in reasons["notes"]
    assert reasons["zeta"] == "" and found["zeta"].judgeable
    assert all(not s.judgeable and s.root is None for name, s in found.items() if name != "zeta")
    assert not list(tmp_path.rglob("evil.py"))  # nothing unpacked outside, nor inside
    assert not (work / "bomb" / "katas").exists()  # the bomb was never unpacked


def test_odd_names_are_shown_printable_and_left_out(tmp_path):
    klass, work = tmp_path / "class", tmp_path / "work"
    klass.mkdir()
    odd = repository(klass / os.fsdecode(b"h\xe9l\x07ne"))  # not UTF-8, and a control character
    (odd / "katas" / "bell\x07.py").write_text("x = 1\n")
    repository(tmp_path / "z")
    with zipfile.ZipFile(klass / "zed.zip", "w") as archive:
        for path in sorted((tmp_path / "z" / "katas").glob("*.py")):
            archive.write(path, f"katas/{path.name}")
        archive.writestr("katas/tab\x01.py", "")
    found = judged(klass, work)
    assert sorted(found) == ["h?l?ne", "zed"]
    helene = found["h?l?ne"]
    assert helene.judgeable and helene.root == work / "h_l_ne"
    assert any("odd name" in note for note in helene.notes)
    assert not (helene.root / "katas" / "bell\x07.py").exists()
    assert found["zed"].judgeable and any("tab?.py" in note for note in found["zed"].notes)


def test_links_never_bring_files_from_outside(tmp_path):
    klass, work = tmp_path / "class", tmp_path / "work"
    student = repository(klass / "linker")
    secret = tmp_path / "secret.py"
    secret.write_text("SECRET = 1\n")
    (student / "katas" / "relu.py").unlink()
    (student / "katas" / "relu.py").symlink_to(secret)
    with zipfile.ZipFile(klass / "zipped-link.zip", "w") as archive:
        for path in sorted((student / "katas").glob("*.py")):
            if not path.is_symlink():
                archive.write(path, f"katas/{path.name}")
        link = zipfile.ZipInfo("katas/relu.py")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, str(secret))  # a link's target, as zip -y stores it
    found = judged(klass, work)
    for s in found.values():
        assert s.judgeable and "left out 'katas/relu.py': a link" in s.notes
        assert not (s.root / "katas" / "relu.py").exists()
        assert "katas/relu.py: missing" in s.format_errors


def test_the_fingerprint_follows_the_katas_and_nothing_else(tmp_path):
    klass, work = tmp_path / "class", tmp_path / "work"
    for name in ("a", "b", "c", "d"):
        repository(klass / name)
    crlf = klass / "b" / "katas" / "affine.py"
    crlf.write_bytes(crlf.read_bytes().replace(b"\n", b"\r\n"))  # git on Windows: the same file
    (klass / "c" / "katas" / "relu.py").write_text("# mine\n", encoding="utf-8")
    (klass / "d" / "README.md").write_text("notes\n")  # outside katas/: not judged, not counted
    found = judged(klass, work)
    assert found["a"].fingerprint == found["b"].fingerprint == found["d"].fingerprint != found["c"].fingerprint
    again = judged(klass, work)  # a re-run: the same fingerprints, so nothing to judge again
    assert {n: s.fingerprint for n, s in again.items()} == {n: s.fingerprint for n, s in found.items()}


def test_kata_files_that_do_not_compile_are_format_errors(tmp_path):
    klass, work = tmp_path / "class", tmp_path / "work"
    student = repository(klass / "typo")
    (student / "katas" / "relu.py").write_text("def relu_forward(x):\n    return x +\n", encoding="utf-8")
    (student / "katas" / "sigmoid.py").write_bytes(b"x = 1\0\n")
    (student / "katas" / "l2.py").write_text("import os\nos._exit(3)\n")  # compiles; never run here
    s = judged(klass, work)["typo"]
    assert s.judgeable  # the judge says the rest; a platform that wants it may refuse to grade
    assert [e.split(":")[0] for e in s.format_errors] == ["katas/relu.py", "katas/sigmoid.py"]
    assert s.format_errors[0].startswith("katas/relu.py:2: ")


def test_edited_tests_are_listed_never_used(tmp_path):
    klass, work = tmp_path / "class", tmp_path / "work"
    student = repository(klass / "editor")
    first = katas()[0]
    (student / first.test_file).write_text("def test_pass():\n    pass\n")
    (student / "tests" / "test_extra.py").write_text("")
    (student / "tests" / "__init__.py").unlink()
    repository(klass / "honest")
    crlf = klass / "honest" / first.test_file
    crlf.write_bytes(crlf.read_bytes().replace(b"\n", b"\r\n"))
    found = judged(klass, work)
    diff = found["editor"].tests
    assert diff is not None
    assert diff.changed == (Path(first.test_file).name,) and diff.added == ("test_extra.py",)
    assert diff.removed == ("__init__.py",)
    assert found["honest"].tests is None


def test_a_class_folder_that_is_not_one_is_said_in_one_line(tmp_path):
    with pytest.raises(NotADirectoryError, match="not a folder"):
        list(find(tmp_path / "missing", tmp_path / "work"))
