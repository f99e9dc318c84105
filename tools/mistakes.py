"""The catalogue of named mistakes, tests/mistakes.toml: the one place a likely cause is worded.

A test names a mistake by its id, `affine/no-bias` (the kata module, then a short name; `any/...` for a
mistake any kata's code can make), and the judge says the catalogue's sentence after "Likely cause: ":

    judge.close("out", out, want, diagnoses={"affine/no-bias": lambda: x @ W.T})
    raise judge.fail("epoch 1 visited the rows in their stored order.", judge.cause("train/never-shuffled"))

A sentence may hold format fields ({key}), filled in where the test names it: cause("model/grad-holds-other",
key="W2", other="W1"). The KataError raised carries the ids it named (error.mistakes), and the verdict
record carries them on (tools/record.py's Outcome.mistakes, grade.json). The catalogue lives beside the tests
that name its mistakes; this reader is in tools/ so that the bug zoo and the tools' checks read it too.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tools.manifest import tomllib

CATALOGUE = Path(__file__).resolve().parent.parent / "tests" / "mistakes.toml"
ANY = "any"  # the prefix of the mistakes that are no one kata's (the judge's own checks name them)


@dataclass(frozen=True)
class Mistake:
    id: str  # module/short-name
    says: str  # what the learner reads after "Likely cause: ", with {fields} to fill in
    zoo: tuple[str, ...]  # the bug zoo's mistakes (tools/maintainer/bugzoo.toml, as module/id) it names

    @property
    def module(self) -> str:
        return self.id.split("/")[0]

    @property
    def fields(self) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(self.says) if name}


def load(path: Path = CATALOGUE) -> dict[str, Mistake]:
    """Every mistake of a catalogue, by id, in the file's order."""
    table = tomllib.loads(path.read_text(encoding="utf-8"))
    found = {}
    for module, entries in table.items():
        for name, entry in entries.items():
            found[f"{module}/{name}"] = Mistake(f"{module}/{name}", entry["says"], tuple(entry.get("zoo", ())))
    return found


@cache
def catalogue() -> dict[str, Mistake]:
    return load()


@dataclass(frozen=True)
class Cause:
    """The mistakes a failure names and the words that say them; str() is the message's "Likely cause" line."""

    ids: tuple[str, ...]
    text: str

    def __str__(self) -> str:
        return f"\n  Likely cause: {self.text}"


def cause(*ids: str, **fields: object) -> Cause:
    """The catalogue's sentence for each id, fields filled in; several are said as "first. Or: second"."""
    known = catalogue()
    missing = [i for i in ids if i not in known]
    if missing or not ids:
        raise KeyError(f"{CATALOGUE.name} has no mistake {', '.join(missing) or '(none named)'}")
    return Cause(tuple(ids), " Or: ".join(known[i].says.format(**fields) for i in ids))


def as_cause(named: str | Cause | None) -> Cause | None:
    """An id or a Cause as a Cause ('' and None: none)."""
    if isinstance(named, Cause) or not named:
        return named or None
    return cause(named)
