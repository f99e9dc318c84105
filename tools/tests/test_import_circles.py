"""No import circle among the repository's modules: `nox -s lint` runs import-linter's contracts (pyproject.toml's
[tool.importlinter]); a new circle, within a package or across packages, breaks one, naming the import to remove."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.manifest import ROOT

LINT_IMPORTS = Path(sys.executable).parent / ("lint-imports.exe" if os.name == "nt" else "lint-imports")
PACKAGES = ("katas", "solutions", "tests", "tools")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"COLUMNS": "120"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the repository's packages and pyproject.toml, where a circle can be made."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed (the lint group)")


def test_lint_runs_the_import_contracts() -> None:
    noxfile = (ROOT / "noxfile.py").read_text(encoding="utf-8")
    lint = noxfile[noxfile.index("def lint(") : noxfile.index("\n\n\n", noxfile.index("def lint("))]
    assert '"lint-imports' in lint, lint


def test_the_repository_keeps_its_import_contracts(tree: Path) -> None:
    done = lint_imports(tree)
    assert done.returncode == 0 and "0 broken" in done.stdout, done.stdout + done.stderr


def test_a_new_circle_within_a_package_breaks_lint_naming_the_import(tree: Path) -> None:
    (tree / "tools" / "circle_a.py").write_text("from tools import circle_b  # noqa: F401\n", encoding="utf-8")
    (tree / "tools" / "circle_b.py").write_text("from tools import circle_a  # noqa: F401\n", encoding="utf-8")
    done = lint_imports(tree)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "No cycles are allowed in tools." in done.stdout, done.stdout
    assert ".circle_b -> .circle_a (1 import)" in done.stdout or ".circle_a -> .circle_b (1 import)" in done.stdout


def test_a_new_circle_across_packages_breaks_lint_naming_the_import(tree: Path) -> None:
    (tree / "tests" / "circle_x.py").write_text("from tools import circle_y  # noqa: F401\n", encoding="utf-8")
    (tree / "tools" / "circle_y.py").write_text("from tests import circle_x  # noqa: F401\n", encoding="utf-8")
    done = lint_imports(tree)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "tools is not allowed to import tests:" in done.stdout, done.stdout
    assert "- tools.circle_y -> tests.circle_x (l.1)" in done.stdout, done.stdout
