"""`nox -s generated`: everything derived from solutions/ and tools/manifest.toml is what they make.

    python -m tools.maintainer.generated            check (exit 1 and say what to run when stale)
    python -m tools.maintainer.generated --write    regenerate katas/ (changed files backed up first),
                                                    the README's kata table and the packages' name table

Checked: katas/ is solutions/ with every kata region stubbed; the `_EXPORTS` table of the package
`__init__.py` is the manifest's `names` (and each module defines them); every kata has three hints or
more and none quotes the solution; the README's kata table is the manifest's; the counts the README
states in prose (katas, bug-zoo mistakes) are the real ones.
"""

from __future__ import annotations

import ast
import difflib
import re
import sys

from tools import stubs
from tools.manifest import ROOT, bonus, command, katas, required

README = ROOT / "README.md"
TABLE_BEGIN, TABLE_END = "<!-- katas: generated from tools/manifest.toml -->", "<!-- /katas -->"
EXPORTS_BEGIN, EXPORTS_END = "_EXPORTS = {\n", "}\n"
WORDS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen".split()  # noqa: SIM905

# The counts the README states, each found by a pattern whose first group is the number (digits or a word), with
# what it counts. `--write` puts the real numbers in; any other "N katas", "N tests", ... is a count written by
# hand, which the check names so that it is derived here or reworded. "katas" are all of them, "required" those
# that are not a bonus (what "all done" and the grade's "N of M katas done" count), "bonus" the optional ones.
COUNTS = (
    (r"\b(\w+) short katas\b", "required"),
    (r"\b(\w+) bonus katas?\b", "bonus"),
    (r"\bthe (\w+) katas\b", "required"),
    (r"`stubs` \((\d+) trees\)", "katas"),
    (r"on the stubs: 0 of (\d+) katas\b", "required"),
    (r"on the stubs: 0 of \d+ katas, 0 of (\d+) tests\b", "tests"),
    (r"on the reference: (\d+) of \d+ katas\b", "required"),
    (r"on the reference: \d+ of (\d+) katas\b", "required"),
    (r"each of the (\d+) mistakes\b", "mistakes"),
    (r"today: all (\d+)\b", "mistakes"),
    (r"`bugzoo` \((\d+) trees\)", "mistakes"),
)
COUNTED = r"\b(?:\d[\d,]*|" + "|".join(WORDS) + r") (?:katas|tests|points|mistakes|trees)\b"


def katas_differences() -> list[str]:
    """Unified diff lines between katas/ and what the stub maker makes; empty when they agree."""
    diff: list[str] = []
    expected = stubs.render()
    actual = {p.name for p in stubs.KATAS.glob("*.py")}
    for name in sorted(actual | set(expected)):
        path = stubs.KATAS / name
        have = path.read_text(encoding="utf-8").splitlines(keepends=True) if path.exists() else []
        want = expected.get(name, "").splitlines(keepends=True)
        diff += difflib.unified_diff(have, want, f"katas/{name}", f"generated/{name}")
    return diff


def exports_table() -> str:
    rows = [f'    "{name}": "{k.module}",\n' for k in katas() for name in k.names]
    return EXPORTS_BEGIN + "".join(rows) + EXPORTS_END


def with_exports(text: str) -> str:
    """A package __init__.py with its `_EXPORTS = {...}` table made from the manifest."""
    head, rest = text.split(EXPORTS_BEGIN, 1)
    _, tail = rest.split(EXPORTS_END, 1)
    return head + exports_table() + tail


def exports_problems() -> list[str]:
    """solutions/__init__.py's table is the manifest's, and each kata module defines the names it gives."""
    init = stubs.SOLUTIONS / "__init__.py"
    problems = (
        []
        if with_exports(init.read_text(encoding="utf-8")) == init.read_text(encoding="utf-8")
        else ["solutions/__init__.py: its _EXPORTS table is not the manifest's `names`"]
    )
    for kata in katas():
        tree = ast.parse((stubs.SOLUTIONS / f"{kata.module}.py").read_text(encoding="utf-8"))
        defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        targets = [t for n in tree.body if isinstance(n, ast.Assign) for t in n.targets]
        targets += [n.target for n in tree.body if isinstance(n, ast.AnnAssign)]
        defined |= {t.id for t in targets if isinstance(t, ast.Name)}
        problems += [
            f"{kata.path('solutions')} does not define {n}, which the manifest says it gives"
            for n in kata.names
            if n not in defined
        ]
    return problems


def hint_problems() -> list[str]:
    """Every kata has three hints or more, and none quotes a line of the solution's code."""
    problems = []
    for kata in katas():
        if len(kata.hints) < 3:
            problems.append(f"{kata.label} has {len(kata.hints)} hint(s); it needs at least 3")
        code = [line for line in stubs.solution_lines(kata.module) if len(line) > 24]
        for hint in kata.hints:
            problems += [f"{kata.label}: a hint quotes the solution: {c!r}" for c in code if c in hint]
    return problems


def readme_table() -> str:
    rows = ["| # | kata | file | what you build |", "|---|---|---|---|"]
    rows += [
        f"| {k.number} | `{k.name}` | `{k.path()}` | {'bonus, optional: ' if k.bonus else ''}{k.summary} |"
        for k in katas()
    ]
    return "\n".join(rows)


def with_readme_table(text: str) -> str:
    head, rest = text.split(TABLE_BEGIN, 1)
    _, tail = rest.split(TABLE_END, 1)
    return f"{head}{TABLE_BEGIN}\n{readme_table()}\n{TABLE_END}{tail}"


def test_count() -> int:
    """How many tests the katas have, read from tests/test_*.py without importing them (no torch): each
    top-level `def test_...`, times the length of each `pytest.mark.parametrize` list on it.
    tools/tests/test_new_kata.py holds it to what pytest collects."""
    count = 0
    for kata in katas():
        tree = ast.parse((ROOT / kata.test_file).read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                cases = 1
                for decorator in node.decorator_list:
                    if isinstance(decorator, ast.Call) and ast.unparse(decorator.func).endswith("parametrize"):
                        values = decorator.args[1] if len(decorator.args) > 1 else None
                        if not isinstance(values, (ast.List, ast.Tuple)):
                            raise ValueError(f"{kata.test_file}: {node.name} is parametrized by something not a list")
                        cases *= len(values.elts)
                count += cases
    return count


def real_counts() -> dict[str, int]:
    from tools.maintainer.bugzoo import load

    return {
        "katas": len(katas()),
        "required": len(required()),
        "bonus": len(bonus()),
        "tests": test_count(),
        "mistakes": len(load()),
    }


def _number(said: str) -> int | None:
    said = said.lower().replace(",", "")
    return int(said) if said.isdecimal() else WORDS.index(said) if said in WORDS else None


def _said_as(real: int, said: str) -> str:
    """real, written as `said` was: digits, or a word (capitalised like it)."""
    if said.isdecimal() or real >= len(WORDS):
        return str(real)
    word = WORDS[real]
    return word.capitalize() if said[:1].isupper() else word


def stale_counts(text: str) -> list[str]:
    """The counts in the README that are not the real ones, and those no rule of COUNTS derives, in the order
    they stand, each with its line (README.md:LINE: ...)."""
    real = real_counts()
    found: list[tuple[int, str]] = []
    derived: set[int] = set()
    for pattern, what in COUNTS:
        for match in re.finditer(pattern, text, flags=re.IGNORECASE):
            said = _number(match.group(1))
            if said is None:  # "the first katas": not a count
                continue
            derived.update(range(match.start(), match.end()))
            if said != real[what]:
                found.append((match.start(), f"says {match.group(0)!r} where there are {real[what]} {what}"))
    for match in re.finditer(COUNTED, text, flags=re.IGNORECASE):
        if match.start() not in derived:
            why = "is a count written by hand: reword it, or derive it (tools/maintainer/generated.py, COUNTS)"
            found.append((match.start(), f"{match.group(0)!r} {why}"))
    return [f"README.md:{text[:start].count(chr(10)) + 1}: {said}" for start, said in sorted(found)]


def with_counts(text: str) -> str:
    """The README with every count of COUNTS made the real one."""
    real = real_counts()
    for pattern, what in COUNTS:

        def right(match: re.Match[str], what: str = what) -> str:
            if _number(match.group(1)) is None:
                return match.group(0)
            start, end = match.span(1)
            whole = match.group(0)
            offset = match.start()
            return whole[: start - offset] + _said_as(real[what], match.group(1)) + whole[end - offset :]

        text = re.sub(pattern, right, text, flags=re.IGNORECASE)
    return text


def check() -> int:
    readme = README.read_text(encoding="utf-8")
    problems = [*exports_problems(), *hint_problems(), *stale_counts(readme)]
    if with_readme_table(readme) != readme:
        problems.append("README.md's kata table is not the manifest's")
    diff = katas_differences()
    if diff:
        sys.stdout.writelines(diff)
        problems.append("katas/ is not what solutions/ makes")
    if problems:
        print("\n".join(problems))
        print("Fix the source (solutions/, tools/manifest.toml), then `python -m tools.maintainer.generated --write`.")
        return 1
    print(f"generated: katas/ ({len(stubs.render())} files), name tables, hints and README match their sources.")
    return 0


def write() -> int:
    init = stubs.SOLUTIONS / "__init__.py"
    init.write_text(with_exports(init.read_text(encoding="utf-8")), encoding="utf-8", newline="\n")
    readme = with_counts(with_readme_table(README.read_text(encoding="utf-8")))
    README.write_text(readme, encoding="utf-8", newline="\n")
    stubs.KATAS.mkdir(exist_ok=True)
    for name, text in stubs.render().items():
        path = stubs.KATAS / name
        if path.exists() and path.read_text(encoding="utf-8") != text:
            print(f"backed up {path.relative_to(ROOT).as_posix()} to {stubs.backup(path).relative_to(ROOT).as_posix()}")
        path.write_text(text, encoding="utf-8", newline="\n")
    files = len(stubs.render())
    print(f"wrote katas/ from solutions/ ({files} files), the name table, the README's kata table and counts.")
    return 0


@command
def main(argv: list[str]) -> int:
    if argv not in ([], ["--write"]):
        print("usage: python -m tools.maintainer.generated [--write]")
        return 2
    return write() if argv else check()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
