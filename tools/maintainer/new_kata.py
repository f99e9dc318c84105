"""`nox -s new-kata -- NAME`: append kata N+1, in every place a kata is registered, ready to fill in.

    python -m tools.maintainer.new_kata NAME

Writes solutions/NAME.py (the reference: a docstring to fill in with the math and the shapes, and
NAME_forward with its `# >>> kata` region, a placeholder that doubles its input), tests/test_NAME.py
(one worked example, which passes on the reference and fails on the stub), the manifest entry with
three hint placeholders, then regenerates what is derived (katas/, the name tables, the README's
table and counts; tools/maintainer/generated.py). It refuses, in one line with exit status 2, a name
that is a kata's already, is not a Python identifier, or would shadow a module `import NAME` finds.
"""

from __future__ import annotations

import importlib.util
import keyword
import sys

from tools import manifest, mistakes, stubs
from tools.maintainer import generated
from tools.manifest import MANIFEST, ROOT, command, katas

USAGE = "usage: nox -s new-kata -- NAME   (NAME: the new kata's module, a Python identifier such as tanh)"


def refusal(name: str) -> str | None:
    """Why NAME cannot be a new kata's name (one line), or None when it can."""
    said = f"new-kata: {name!r}"
    if not manifest._IDENTIFIER.fullmatch(name):
        return f"{said} is not a Python identifier (letters, digits and _, not first a digit): it names katas/NAME.py"
    if keyword.iskeyword(name):
        return f"{said} is a Python keyword: `import katas.{name}` could not be written"
    for kata in katas():
        if name in (kata.name, kata.module):
            return f"{said} is already the name of {kata.label}"
        if name in kata.names or f"{name}_forward" in kata.names:
            return f"{said}: {kata.label} already gives a name {name!r} or {name + '_forward'!r} (katas/__init__.py)"
    for path in (stubs.SOLUTIONS / f"{name}.py", stubs.KATAS / f"{name}.py", ROOT / f"tests/test_{name}.py"):
        if path.exists():
            return f"{said}: {path.relative_to(ROOT).as_posix()} is already there"
    where = shadowed(name)
    if where:
        return f"{said} would shadow {where} for code that imports it; choose another name"
    return None


def shadowed(name: str) -> str | None:
    """The module `import name` finds already (Python's own, an installed one, or this repository's), if any."""
    if name in sys.stdlib_module_names or name in sys.builtin_module_names:
        return f"the module {name} of Python's standard library"
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    found = spec.origin or next(iter(spec.submodule_search_locations or []), "?")
    return f"the module {name} that Python finds at {found}"


def solution(name: str, number: int) -> str:
    return f'''"""Kata {number}: {name}. TODO: what the learner builds, and why it matters, in a sentence or two.

    out = 2 x        TODO: the math; here a placeholder that doubles every entry

Shapes: x is (N, D), any N and D; out has the shape and dtype of x. TODO: the shape of every input and
output, the gradient if the kata has a backward, and the classic mistakes to avoid (the hints and the
tests' diagnoses name them too).
"""

import torch
from torch import Tensor


def {name}_forward(x: Tensor) -> Tensor:
    """Return out = 2 x, of x's shape. TODO: the kata's function, its math and its shapes."""
    # >>> kata
    out = torch.mul(x, 2)
    return out
    # <<< kata
'''


def test_file(name: str, number: int) -> str:
    return f'''"""Kata {number}: {name}_forward.

TODO: what the tests check. tests/test_relu.py is a complete kata's: the tutorial's inputs, torch's own
operations and autograd, central differences, properties over many shapes, and diagnoses.
"""

from tests import judge

mod = judge.load("{name}")


def diagnoses(x):
    """Classic mistakes (ids of tests/mistakes.toml), each as the result it gives: a failure whose result matches
    one names it."""
    return {{
        "{name}/identity": x,  # its words: tests/mistakes.toml
    }}


def test_a_worked_example():
    """The tutorial's deterministic inputs. TODO: more tests: against torch, central differences, properties."""
    x = judge.linspace((5, 10))
    saved = x.clone()
    out = judge.call(mod.{name}_forward, x)
    judge.close("out", out, saved + saved, diagnoses(saved))
    judge.unchanged("x", saved, x)
'''


def mistakes_entry(name: str) -> str:
    return f"""
# {"-" * 100}

[{name}.identity]
says = "out is x itself: TODO, say the classic mistake in words and what to do instead."
"""


def manifest_entry(name: str) -> str:
    return f'''
[[kata]]
name = "{name}"
module = "{name}"
names = ["{name}_forward"]
needs = []
summary = "{name}_forward: TODO, one line for the README and `nox -s progress`"
hints = [
    "TODO: a nudge, what to look at first (the shapes, the formula). Never the code.",
    "TODO: a closer look, the step where learners go wrong.",
    "TODO: a walk-through of the shapes, with the classic mistake named.",
]
'''


def scaffold(name: str) -> list[str]:
    """Write kata N+1 called name; return the files written by hand here (the generated ones come after)."""
    number = len(katas()) + 1
    written = {
        stubs.SOLUTIONS / f"{name}.py": solution(name, number),
        ROOT / "tests" / f"test_{name}.py": test_file(name, number),
    }
    for path, text in written.items():
        path.write_text(text, encoding="utf-8", newline="\n")
    for path, entry in ((MANIFEST, manifest_entry(name)), (mistakes.CATALOGUE, mistakes_entry(name))):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.rstrip("\n") + "\n" + entry, encoding="utf-8", newline="\n")
    mistakes.catalogue.cache_clear()
    manifest.katas.cache_clear()
    manifest.kata_of_test.cache_clear()
    katas()  # the manifest with the new entry loads, or this stops with its one line
    generated.write()
    return [*(p.relative_to(ROOT).as_posix() for p in written), "tools/manifest.toml", "tests/mistakes.toml"]


@command
def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(USAGE, file=sys.stderr)
        return 2
    name = argv[0]
    problem = refusal(name)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    files = scaffold(name)
    kata = katas()[-1]
    print(f"\n{kata.label} added: {', '.join(files)}, and what is generated from them.")
    print("Now fill in, in this order (README.md, 'Adding a kata', says what each part is):")
    print(f"  {kata.path('solutions')}: the docstring (math, shapes), the names, the code in the kata region")
    print(f"  {kata.test_file}: the tests and their diagnoses, worded in tests/mistakes.toml")
    print("  tools/manifest.toml: summary, hints, needs")
    print("  tools/maintainer/bugzoo.toml: the kata's classic mistakes; then `nox -s generated -- --write`")
    print(f"Check: `nox -s solution-{kata.number}`, `nox -s kata-{kata.number}` (fails: the stub), `nox -s generated`.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
