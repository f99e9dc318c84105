"""A broken tools/manifest.toml is one line naming the file, the line and the field, on every command.

`manifest.load` checks the file's syntax and every [[kata]] entry; the commands (noxfile.py and every
`python -m tools....` entry point) print that one line and exit 2 instead of a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools import manifest
from tools.manifest import ROOT, ManifestError

REAL = (ROOT / "tools" / "manifest.toml").read_text(encoding="utf-8")


def line_of(text: str, after: str = "") -> int:
    """The line of the manifest on which `text` first stands (after the first `after`)."""
    return REAL[: REAL.index(text, REAL.index(after))].count("\n") + 1


def header_of(number: int) -> int:
    """The line of the number-th `[[kata]]`."""
    lines = [n for n, line in enumerate(REAL.splitlines(), start=1) if line.strip() == "[[kata]]"]
    return lines[number - 1]


def changed(old: str, new: str, after: str = "") -> str:
    """The real manifest with its first `old` (after the first `after`) replaced by `new`."""
    at = REAL.index(old, REAL.index(after))
    return REAL[:at] + new + REAL[at + len(old) :]


SUMMARY_3 = REAL[REAL.index('summary = "sigmoid_forward') :].split("\n", 1)[0] + "\n"
NAME_3, NAMES_4, MODULE_2 = 'name = "sigmoid"', 'names = ["l2_loss"]', 'module = "relu"'
NEEDS_7 = line_of("needs = [", after='name = "model"')
FORMAT_LINE = line_of("format = 1")
CASES = {
    "a key without '='": (
        changed('name = "sigmoid"', 'name "sigmoid"'),
        f"line {line_of(NAME_3)}, column 6: Expected '=' after a key in a key/value pair",
    ),
    "a value cut off at the end": (REAL + "[[kata]]\nname = ", "at the end of the file: Invalid value"),
    "an unclosed table header": (changed("[[kata]]", "[[kata]", after="relu"), "Expected ']]'"),
    "a missing field": (
        changed(SUMMARY_3, ""),
        f'line {header_of(3)}: kata 3 (sigmoid): field "summary" is missing (one line for the README',
    ),
    "a missing name": (
        changed('name = "sigmoid"\n', ""),
        f'line {header_of(3)}: kata 3: field "name" is missing (the kata\'s public name',
    ),
    "names that are a string": (
        changed('names = ["l2_loss"]', 'names = "l2_loss"'),
        f'line {line_of(NAMES_4)}: kata 4 (l2): field "names" must be a list of Python names, '
        'such as ["l2_loss"]; got "l2_loss"',
    ),
    "points that are a string": (
        changed('module = "relu"\n', 'module = "relu"\npoints = "two"\n'),
        f'line {line_of(MODULE_2) + 1}: kata 2 (relu): field "points" must be a whole number of 1 or more; got "two"',
    ),
    "points that are a truth value": (
        changed('module = "relu"\n', 'module = "relu"\npoints = true\n'),
        'kata 2 (relu): field "points" must be a whole number of 1 or more; got true',
    ),
    "points below 1": (
        changed('module = "relu"\n', 'module = "relu"\npoints = -3\n'),
        'kata 2 (relu): field "points" must be a whole number of 1 or more; got -3',
    ),
    "no points for a required kata": (
        changed('module = "relu"\n', 'module = "relu"\npoints = 0\n'),
        'kata 2 (relu): field "points" must be a whole number of 1 or more; got 0',
    ),
    "a bonus that is not a truth value": (
        changed('module = "relu"\n', 'module = "relu"\nbonus = "yes"\n'),
        f'line {line_of(MODULE_2) + 1}: kata 2 (relu): field "bonus" must be true or false; got "yes"',
    ),
    "points of false for a bonus kata": (
        changed('module = "relu"\n', 'module = "relu"\nbonus = true\npoints = false\n'),
        'kata 2 (relu): field "points" must be a whole number of 1 or more; got false',
    ),
    "a need that names no kata": (
        changed('"init"]', '"inti"]', after='name = "model"'),
        f'line {NEEDS_7}: kata 7 (model): field "needs": "inti" is not the '
        "name of an earlier kata (the earlier ones: affine, relu, sigmoid, l2, accuracy, init)",
    ),
    "a need that names a later kata": (
        changed("needs = []", 'needs = ["model"]'),
        'kata 1 (affine): field "needs": "model" is kata 7, which comes later: a kata builds only on earlier ones',
    ),
    "needs that are not a list": (
        changed("needs = []", "needs = 3"),
        'kata 1 (affine): field "needs" must be a list of names of earlier katas, such as ["affine", "relu"]; got 3',
    ),
    "a name used twice": (
        changed('name = "relu"', 'name = "affine"'),
        'kata 2 (affine): field "name": "affine" is already the name of kata 1; each kata needs its own',
    ),
    "a module used twice": (
        changed('module = "relu"', 'module = "affine"'),
        'kata 2 (relu): field "module": "affine" is already the module of kata 1; each kata needs its own',
    ),
    "a module that is no Python name": (
        changed('module = "l2"', 'module = "l-2"'),
        'kata 4 (l2): field "module" must be a Python module name, such as "sigmoid"; got "l-2"',
    ),
    "a misspelt field": (
        changed("summary =", "sumary =", after='name = "l2"'),
        'kata 4 (l2): unknown field "sumary" (the fields are name, module, names, needs, summary, hints, points, '
        "bonus)",
    ),
    "hints that hold a number": (
        changed("hints = [", "hints = [3, ", after='name = "accuracy"'),
        'kata 5 (accuracy): field "hints" must be a list of strings, from a nudge to a walk-through; got [3, ',
    ),
    "no kata at all": ("format = 1\n# nothing yet\n", "there is no [[kata]] entry: each kata is one [[kata]] table"),
    "a key outside the katas": (
        'title = "MNIST"\n' + REAL,
        'line 1: unknown key "title": the file holds only `format = 1` and [[kata]] tables',
    ),
    "kata that is a number": ("format = 1\nkata = 3\n", '"kata" must be [[kata]] tables, one per kata; got 3'),
    "no format version": (
        changed("format = 1\n", ""),
        'manifest.toml: key "format" is missing: this code reads manifest format '
        f"{manifest.FORMAT}; put `format = {manifest.FORMAT}` above the first [[kata]]",
    ),
    "a format version that is a string": (
        changed("format = 1", 'format = "1"'),
        f'line {FORMAT_LINE}: key "format" must be a whole number; got "1" (this code reads manifest format '
        f"{manifest.FORMAT}: `format = {manifest.FORMAT}`)",
    ),
    "a format version that is a fraction": (changed("format = 1", "format = 1.0"), 'key "format" must be a whole'),
    "a newer format version": (
        changed("format = 1", f"format = {manifest.FORMAT + 1}"),
        f'line {FORMAT_LINE}: key "format" is {manifest.FORMAT + 1}, a newer manifest format than this code reads '
        f"({manifest.FORMAT}): update the tools, or write the file in format {manifest.FORMAT}",
    ),
    "an unknown format version": (
        changed("format = 1", "format = 0"),
        f'line {FORMAT_LINE}: key "format" is 0, not a manifest format: this code reads format {manifest.FORMAT}',
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_broken_manifest_is_one_line_naming_the_file_the_line_and_the_field(tmp_path: Path, case: str) -> None:
    text, said = CASES[case]
    path = tmp_path / "manifest.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ManifestError) as raised:
        manifest.load(path)
    message = str(raised.value)
    assert isinstance(raised.value, ValueError)
    assert "\n" not in message and message.startswith(f"{path}: "), message
    assert said in message, message


def test_an_unreadable_manifest_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "manifest.toml"
    with pytest.raises(ManifestError, match=r"manifest\.toml: cannot be read \("):
        manifest.load(path)
    path.write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ManifestError, match=r"manifest\.toml: line 1: not UTF-8 text"):
        manifest.load(path)


def test_a_bonus_kata_is_worth_0_points_unless_set_and_is_counted_apart(tmp_path: Path) -> None:
    path = tmp_path / "manifest.toml"
    path.write_text(changed('module = "relu"\n', 'module = "relu"\nbonus = true\n'), encoding="utf-8")
    relu = manifest.load(path)[1]
    assert (relu.bonus, relu.points) == (True, 0)
    path.write_text(changed('module = "relu"\n', 'module = "relu"\nbonus = true\npoints = 0\n'), encoding="utf-8")
    assert manifest.load(path)[1].points == 0
    path.write_text(changed('module = "relu"\n', 'module = "relu"\nbonus = true\npoints = 3\n'), encoding="utf-8")
    assert manifest.load(path)[1].points == 3
    assert not any(k.bonus for k in manifest.required()) and all(k.bonus for k in manifest.bonus())
    assert len(manifest.required()) + len(manifest.bonus()) == len(manifest.katas())


def test_the_real_manifest_loads_and_is_named_from_the_root() -> None:
    assert manifest.load(ROOT / "tools" / "manifest.toml") == manifest.katas()
    assert manifest.shown(ROOT / "tools" / "manifest.toml") == "tools/manifest.toml"


# -- Every command says it in one line, exit status 2 ---------------------------------------------

FAKE_NOX = '''"""A stand-in for nox that takes whatever noxfile.py asks of it (nox is not in the tools' environment)."""
import sys
from unittest import mock

sys.modules[__name__] = mock.MagicMock()
'''
NOXFILE = ["-c", "import runpy; runpy.run_path('noxfile.py', run_name='noxfile')"]
SYNTAX = changed('name = "sigmoid"', 'name "sigmoid"')
SAID = f"tools/manifest.toml: line {line_of(NAME_3)}, column 6: Expected '=' after a key in a key/value pair\n"
COMMANDS = [
    pytest.param(NOXFILE, id="noxfile (nox -l)"),
    pytest.param(["-m", "tools.learner.hint", "1"], id="hint"),
    pytest.param(["-m", "tools.learner.reset", "1"], id="reset"),
    pytest.param(["-m", "tools.learner.train", "--dataset", "digits", "--epochs", "1"], id="train"),
    pytest.param(["-m", "tools.instructor.release", "--check"], id="release"),
    pytest.param(["-m", "tools.maintainer.generated"], id="generated"),
    pytest.param(["-m", "tools.maintainer.stubs_fail"], id="stubs_fail"),
    pytest.param(["-m", "tools.maintainer.bugzoo", "--list"], id="bugzoo"),
    pytest.param(["-m", "tools.maintainer.watch_timing", "1"], id="watch_timing"),
    pytest.param(["-m", "tools.maintainer.warm_run", "1", "1"], id="warm_run"),
    *(
        pytest.param(["-m", module, *args], id=module)
        for module, args in (
            ("tools.runner", ["--track", "katas", "tests/test_affine.py"]),
            ("tools.maintainer.reference", []),
            ("tools.learner.progress", []),
            ("tools.learner.watch", ["--poll"]),
            ("tools.instructor.grade", []),
        )
    ),
]


@pytest.fixture(scope="module")
def broken_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository's commands (noxfile.py, tools/) whose manifest has a syntax error."""
    tree = tmp_path_factory.mktemp("broken")
    for name in ("noxfile.py", "pyproject.toml", "conftest.py"):
        shutil.copy(ROOT / name, tree / name)
    shutil.copytree(ROOT / "tools", tree / "tools", ignore=shutil.ignore_patterns("__pycache__", "tests"))
    for folder in ("tests", "katas"):  # what a kata run would judge
        shutil.copytree(ROOT / folder, tree / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (tree / "nox-stand-in" / "nox").mkdir(parents=True)
    (tree / "nox-stand-in" / "nox" / "__init__.py").write_text(FAKE_NOX, encoding="utf-8")
    return tree


def run_in(tree: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree / "nox-stand-in"), "KATA_ROOT": str(tree)}
    return subprocess.run(
        [sys.executable, *args], cwd=tree, env=env, capture_output=True, text=True, encoding="utf-8", timeout=120
    )


def test_the_noxfile_loads_with_the_stand_in_for_nox(broken_tree: Path) -> None:
    (broken_tree / "tools" / "manifest.toml").write_text(REAL, encoding="utf-8")
    try:
        done = run_in(broken_tree, NOXFILE)
    finally:
        (broken_tree / "tools" / "manifest.toml").write_text(SYNTAX, encoding="utf-8")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


@pytest.mark.parametrize("args", COMMANDS)
def test_every_command_says_a_broken_manifest_in_one_line(broken_tree: Path, args: list[str]) -> None:
    (broken_tree / "tools" / "manifest.toml").write_text(SYNTAX, encoding="utf-8")
    done = run_in(broken_tree, args)
    assert (done.returncode, done.stderr) == (2, SAID), done.stdout + done.stderr
