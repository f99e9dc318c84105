"""What the tools' tests expect of the manifest's katas, derived from it: no test counts the katas by hand."""

from __future__ import annotations

from tools.manifest import Kata, closure, katas, required


def blocked_by(*modules: str) -> list[Kata]:
    """The katas that cannot pass while these modules are stubs: themselves, and every kata that builds on one."""
    return [k for k in katas() if k.module in modules or any(c.module in modules for c in closure(k))]


def done_without(*modules: str) -> int:
    """How many required katas pass (the count of "N of M katas done", where bonus katas are counted apart) in a
    tree holding the reference, with these modules back to their stubs."""
    return len(required()) - len([k for k in blocked_by(*modules) if not k.bonus])
