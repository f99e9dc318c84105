"""The one workflow a student copy holds (.github/workflows/classroom.yml): GitHub Classroom's autograding, one
step per kata, then the grade table in the run's summary; its actions pinned as this repository's ci.yml pins them
(tools/instructor/release.py writes it into the copy)."""

from __future__ import annotations

import re

from tools.manifest import ROOT, Kata, katas

# What a failed kata means, said once: by each Classroom step, the run's summary, the reporter and the README.
NOT_DONE = "not done yet: its points are 0 until its tests pass; nothing is broken"
REPOSITORY_WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"  # its pins and its CPU index are the release's too
# Actions only the release uses, pinned to the commit of a release (named beside it), as ci.yml pins its own.
RELEASE_ACTIONS = {
    "classroom-resources/autograding-command-grader": "d5b3fa6f50f7f629b7bfae0cc3e4c58852b412d5  # v1",
    "classroom-resources/autograding-grading-reporter": "d13b5912daf5042ac1b71bc38bdb4a6bcd61d8ca  # v1",
    "actions/upload-artifact": "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f  # v7.0.0",
}


class ReleaseError(Exception):
    """Something release cannot do, said in one line."""


def pins() -> dict[str, str]:
    """Every action the release's workflow uses -> 'owner/name@commit  # version': ci.yml's own, then the rest."""
    text = REPOSITORY_WORKFLOW.read_text(encoding="utf-8")
    found = {m[1]: f"{m[1]}@{m[2]}  # {m[3]}" for m in re.finditer(r"uses: (\S+)@([0-9a-f]{40})  # (\S+)", text)}
    for action in ("actions/checkout", "actions/setup-python"):
        if action not in found:
            raise ReleaseError(f"{REPOSITORY_WORKFLOW.name} has no `uses: {action}@<commit>  # <version>` to copy")
    return found | {action: f"{action}@{pin}" for action, pin in RELEASE_ACTIONS.items()}


def cpu_wheels() -> list[str]:
    """ci.yml's PIP_INDEX_URL and PIP_EXTRA_INDEX_URL lines (CPU wheels of torch), as the workflow's env."""
    text = REPOSITORY_WORKFLOW.read_text(encoding="utf-8")
    lines = re.findall(r"^ +(PIP_(?:EXTRA_)?INDEX_URL: \S+)$", text, re.M)
    if len(lines) != 2:
        raise ReleaseError(f"{REPOSITORY_WORKFLOW.name}: expected its PIP_INDEX_URL and PIP_EXTRA_INDEX_URL lines")
    return lines


def failed_line(kata: Kata) -> str:
    """What a Classroom step prints when its kata fails: one line, no quote that would end the YAML string."""
    return f"{kata.label}: {NOT_DONE}."


def classroom_workflow() -> str:
    """The one workflow a push runs: GitHub Classroom's autograding, one command-grader step per kata, then the
    grade table in the run's summary and the reporter. One install of the shared environment serves every step."""
    uses = pins()
    lines = [
        "# GitHub Classroom autograding: one step per kata, worth the points in tools/manifest.toml, then the grade",
        "# table in the run's summary. One workflow and one install per push; pip's downloads are cached.",
        "# Written by `nox -s release`; edit the manifest and make a new release rather than this file.",
        "name: Autograding Tests",
        "on: [push, workflow_dispatch, repository_dispatch]",
        "permissions: {}",
        "concurrency:  # a newer push cancels the run it supersedes",
        "  group: ${{ github.workflow }}-${{ github.ref }}",
        "  cancel-in-progress: true",
        "jobs:",
        "  run-autograding-tests:",
        "    runs-on: ubuntu-latest",
        "    if: github.actor != 'github-classroom[bot]'",
        "    timeout-minutes: 30",
        "    permissions:",
        "      contents: read  # the checkout; the reporter gives the points as annotations, through the log",
        "    env:  # CPU wheels of torch: a few hundred MB",
        *[f"      {line}" for line in cpu_wheels()],
        "    steps:",
        f"      - uses: {uses['actions/checkout']}",
        "        with:",
        "          persist-credentials: false",
        f"      - uses: {uses['actions/setup-python']}",
        "        with:",
        '          python-version: "3.11"',
        "          cache: pip  # pip's downloads (torch's wheels), kept while pyproject.toml is unchanged",
        "          cache-dependency-path: pyproject.toml",
        "      - name: Install nox and the katas' environment, once for every step below",
        "        run: python -m pip install nox && python -m nox -s setup",
    ]
    ids = []
    for kata in katas():
        step = f"kata-{kata.number}"
        ids.append(step)
        extra = ", a bonus (optional)" if kata.bonus else ""
        lines += [
            f"      - name: {kata.label}{extra}, {kata.points} point{'s' if kata.points != 1 else ''}",
            f"        id: {step}",
            *(["        continue-on-error: true  # a bonus kata not done does not fail the job"] if kata.bonus else []),
            f"        uses: {uses['classroom-resources/autograding-command-grader']}",
            "        with:",
            f'          test-name: "{kata.label}"',
            f"          command: 'python -m nox -s {step} || {{ echo \"{failed_line(kata)}\"; exit 1; }}'",
            "          timeout: 10",
            f"          max-score: {kata.points}",
        ]
    lines += [
        "      - name: The grade table, in this run's summary",
        "        if: always()",
        "        run: |",
        f'          echo "A kata marked failed is {NOT_DONE}." >> "$GITHUB_STEP_SUMMARY"',
        "          python -m nox -s grade",
        f"      - uses: {uses['actions/upload-artifact']}",
        "        if: always()",
        "        with:",
        "          name: grade",
        "          path: reports/grade.*",
        f"      - name: 'Autograding Reporter (red while a kata is {NOT_DONE})'",
        f"        uses: {uses['classroom-resources/autograding-grading-reporter']}",
        "        env:",
        *[f'          {step.upper()}_RESULTS: "${{{{steps.{step}.outputs.result}}}}"' for step in ids],
        "        with:",
        f"          runners: {','.join(ids)}",
    ]
    return "\n".join(lines) + "\n"
