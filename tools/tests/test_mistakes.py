"""The catalogue of mistakes (tests/mistakes.toml) against the tests that name them, the manifest and the zoo.

Every id a test names is in the catalogue, every entry is named by some test, ids are unique, each id's
prefix is a kata module of the manifest (or `any`), each sentence is one paragraph, and each bug-zoo
mistake the catalogue lists exists. `problems` finds all of these; the tests below run it on the repository
and on copies broken on purpose, one way each, so that a check that cannot fail is seen failing.
"""

from __future__ import annotations

import ast
import re
from collections import Counter

import pytest

from tools import mistakes
from tools.manifest import ROOT, katas, tomllib

ID = re.compile(r"([a-z][a-z0-9_]*)/([A-Za-z0-9][A-Za-z0-9_-]*)")
HEADER = re.compile(r"^\[([^\[\]]+)\]\s*$", re.MULTILINE)


def sources() -> dict[str, str]:
    """The test files, by name (tests/*.py), and the judge, by path (tools/judge/*.py: its common crashes)."""
    tests = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "tests").glob("*.py"))}
    judge = sorted((ROOT / "tools" / "judge").glob("*.py"))
    return {**tests, **{p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8") for p in judge}}


def zoo() -> set[str]:
    table = tomllib.loads((ROOT / "tools" / "maintainer" / "bugzoo.toml").read_text(encoding="utf-8"))
    return {f"{module}/{entry['id']}" for module, entries in table.items() for entry in entries}


def modules() -> set[str]:
    return {k.module for k in katas()}


def ids_named(source: str, prefixes: set[str]) -> set[str]:
    """The string constants of a Python source that read as a mistake's id (a known prefix, then /name)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = ID.fullmatch(node.value)
            if match and match.group(1) in prefixes:
                found.add(node.value)
    return found


def problems(catalogue: str, tests: dict[str, str], kata_modules: set[str], zoo_mistakes: set[str]) -> list[str]:
    """One line per thing wrong between a catalogue's text, the test sources, the katas and the zoo."""
    found = []
    headers = Counter(HEADER.findall(catalogue))
    found += [f"{h.replace('.', '/', 1)} is defined {n} times" for h, n in headers.items() if n > 1]
    try:
        table = tomllib.loads(catalogue)
    except tomllib.TOMLDecodeError as error:
        return [*found, f"tests/mistakes.toml does not parse: {error}"]
    entries = {}
    for module, names in table.items():
        if module != mistakes.ANY and module not in kata_modules:
            found.append(f"[{module}.*]: {module} is not a kata module of tools/manifest.toml (nor `any`)")
        for name, entry in names.items():
            if not isinstance(entry, dict) or not ID.fullmatch(f"{module}/{name}"):
                found.append(f"{module}/{name}: not a table [module.short-name]")
                continue
            entries[f"{module}/{name}"] = entry
    for id, entry in entries.items():
        says = entry.get("says")
        if not isinstance(says, str) or not says.strip():
            found.append(f"{id}: no sentence (says)")
        elif "\n" in says or says != says.strip() or "  " in says:
            found.append(f"{id}: its sentence is not one paragraph (a line break, or spaces at an end or doubled)")
        unknown = sorted(set(entry.get("zoo", [])) - zoo_mistakes)
        if unknown:
            found.append(f"{id}: zoo lists {unknown}, which tools/maintainer/bugzoo.toml does not have")
        extra = set(entry) - {"says", "zoo"}
        if extra:
            found.append(f"{id}: unknown fields {sorted(extra)}")
    named: dict[str, str] = {}
    prefixes = kata_modules | {mistakes.ANY} | {i.split("/")[0] for i in entries}
    for file, source in tests.items():
        for id in ids_named(source, prefixes):
            named.setdefault(id, file)
    found += [
        f"{file} names {id}, which tests/mistakes.toml does not have" for id, file in named.items() if id not in entries
    ]
    found += [f"{id} is named by no test (tests/*.py, tools/judge/*.py)" for id in entries if id not in named]
    return found


CATALOGUE = mistakes.CATALOGUE.read_text(encoding="utf-8")


def test_the_catalogue_agrees_with_the_tests_the_manifest_and_the_zoo():
    assert problems(CATALOGUE, sources(), modules(), zoo()) == []


def test_every_zoo_mistake_is_listed_by_some_entry():
    listed = {z for m in mistakes.catalogue().values() for z in m.zoo}
    assert zoo() - listed == set(), "a bug-zoo mistake that no catalogue entry names: add it to an entry's zoo"


def _broken_by(what: str) -> tuple[str, dict[str, str]]:
    """The catalogue and the sources, broken one way."""
    catalogue, tests = CATALOGUE, dict(sources())
    if what == "an id a test names is missing":
        catalogue = catalogue.replace(
            '[affine.no-bias]\nsays = "the bias is missing: add b to every row."\nzoo = ["affine/no-bias"]\n', ""
        )
    elif what == "an entry no test names":
        catalogue += '\n[affine.never-named]\nsays = "nothing names this."\n'
    elif what == "an id defined twice":
        catalogue += '\n[relu.identity]\nsays = "again."\n'
    elif what == "a prefix that is no kata module":
        catalogue = catalogue.replace("[affine.no-bias]", "[afine.no-bias]")
        tests["test_affine.py"] = tests["test_affine.py"].replace('"affine/no-bias"', '"afine/no-bias"')
    elif what == "a sentence of two paragraphs":
        catalogue = catalogue.replace(
            'says = "the bias is missing: add b to every row."',
            'says = """the bias is missing.\n\nadd b to every row."""',
        )
    elif what == "a zoo mistake that does not exist":
        catalogue = catalogue.replace('zoo = ["affine/no-bias"]', 'zoo = ["affine/no-such-bug"]')
    changed = catalogue != CATALOGUE or tests != sources()
    assert changed, f"the break '{what}' changed nothing: the catalogue was edited and this test is stale"
    return catalogue, tests


@pytest.mark.parametrize(
    ("what", "said"),
    [
        (
            "an id a test names is missing",
            "test_affine.py names affine/no-bias, which tests/mistakes.toml does not have",
        ),
        ("an entry no test names", "affine/never-named is named by no test"),
        ("an id defined twice", "relu/identity is defined 2 times"),
        ("a prefix that is no kata module", "afine is not a kata module"),
        ("a sentence of two paragraphs", "affine/no-bias: its sentence is not one paragraph"),
        ("a zoo mistake that does not exist", "affine/no-bias: zoo lists ['affine/no-such-bug']"),
    ],
)
def test_each_break_of_the_catalogue_is_found(what, said):
    catalogue, tests = _broken_by(what)
    found = problems(catalogue, tests, modules(), zoo())
    assert any(said in line for line in found), found


def test_cause_says_the_sentence_with_its_fields_and_refuses_an_unknown_id():
    said = mistakes.cause("init/transposed", key="W1")
    assert said.ids == ("init/transposed",)
    assert str(said).startswith("\n  Likely cause: W1 is shaped (in, out)"), str(said)
    both = mistakes.cause("softmax_ce/one-hot-too-narrow", "softmax_ce/keepdim", width=6, c=12)
    assert both.ids == ("softmax_ce/one-hot-too-narrow", "softmax_ce/keepdim")
    assert "are 6 wide" in both.text and "= 12: use" in both.text and " Or: a value of one per row" in both.text
    with pytest.raises(KeyError, match="no-such"):
        mistakes.cause("affine/no-such")
    with pytest.raises(KeyError):
        mistakes.cause("init/transposed")  # its {key} is not given


def test_every_field_of_a_sentence_is_a_name():
    """{key}, never {} or {0}: a test fills fields by name, and a translation may reorder them."""
    for m in mistakes.catalogue().values():
        for field in m.fields:
            assert field.isidentifier(), (m.id, field)
        assert "{}" not in m.says, m.id


def test_the_judge_error_carries_the_ids_it_named():
    from tests import judge

    error = judge.KataError("kata-1 affine: out is wrong.", blame=1, mistakes=("affine/no-bias",))
    assert error.mistakes == ("affine/no-bias",)
    assert judge.KataError("kata-1 affine: out is wrong.", blame=1).mistakes == ()
