"""Issue 21: what a course made with `nox -s release` costs, says and offers (workflows, devcontainer, Colab).

GitHub Actions, Codespaces and Colab cannot run here: these tests read the text that release writes (and the
repository's own workflows and devcontainer), and run the notebook's first cell as Colab would, on local folders.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tools.instructor import release
from tools.manifest import ROOT, katas

SHA = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")
POINTS_LINE = re.compile(r"not done yet.*points? (is|are) 0.*nothing is broken", re.I)


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("course") / "course"
    assert release.main([str(dest), "--repo", "our-school/nn-katas"]) == 0
    return dest


def load(path: Path) -> dict:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def jsonc(text: str) -> dict:
    """JSON with comments (devcontainer.json): whole-line // comments dropped, then strict JSON."""
    return json.loads("\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//")))


def steps_using(workflow: dict, action: str) -> list[dict]:
    return [s for job in workflow["jobs"].values() for s in job["steps"] if s.get("uses", "").startswith(action)]


def assert_safe_and_cheap(path: Path) -> None:
    """Cancelled when superseded, a time limit on every job, least permissions, pinned actions,
    no persisted credentials, and pip's cache keyed on pyproject.toml."""
    workflow = load(path)
    name = path.name
    assert workflow.get("concurrency", {}).get("cancel-in-progress") is True, name
    assert "github.ref" in workflow["concurrency"]["group"], name
    assert workflow.get("permissions") == {}, f"{name}: nothing at the top; each job asks for its own"
    for job_name, job in workflow["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int), f"{name}: job {job_name} has no timeout-minutes"
        assert job.get("permissions") == {"contents": "read"}, f"{name}: job {job_name}: {job.get('permissions')}"
        for step in job["steps"]:
            if "uses" in step:
                assert SHA.match(step["uses"]), f"{name}: {step['uses']} is not pinned to a commit"
    checkouts = steps_using(workflow, "actions/checkout@")
    assert checkouts and all(s["with"]["persist-credentials"] is False for s in checkouts), name
    for setup in steps_using(workflow, "actions/setup-python@"):
        assert (setup["with"]["cache"], setup["with"]["cache-dependency-path"]) == ("pip", "pyproject.toml"), name
    text = path.read_text(encoding="utf-8")
    assert re.search(r"uses: \S+@[0-9a-f]{40}  # v\d", text), f"{name}: a pin says which release it is"


# -- 1. One install per push, few minutes, safe workflows -----------------------------------------------


def test_a_course_runs_one_workflow_per_push_that_installs_once(course: Path) -> None:
    workflows = sorted((course / ".github" / "workflows").glob("*.yml"))
    on_push = [w for w in workflows if "push" in load(w)["on"]]
    assert [w.name for w in on_push] == ["classroom.yml"], [w.name for w in workflows]
    classroom = load(course / ".github" / "workflows" / "classroom.yml")
    (job,) = classroom["jobs"].values()
    installs = [s for s in job["steps"] if "pip install" in s.get("run", "")]
    assert len(installs) == 1 and "nox -s setup" in installs[0]["run"], installs
    graders = steps_using(classroom, "classroom-resources/autograding-command-grader@")
    assert [s["with"]["command"].split(" || ")[0] for s in graders] == [
        f"python -m nox -s kata-{k.number}" for k in katas()
    ]
    assert all("setup-command" not in s["with"] for s in graders)
    grade = [s for s in job["steps"] if "nox -s grade" in s.get("run", "")]
    assert len(grade) == 1 and grade[0]["if"] == "always()", "the grade table comes from the same run"


@pytest.mark.parametrize("name", ["classroom.yml"])
def test_the_workflows_a_release_writes_are_safe_and_cheap(course: Path, name: str) -> None:
    assert_safe_and_cheap(course / ".github" / "workflows" / name)


def test_the_repositorys_own_workflows_are_safe_and_cheap() -> None:
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert workflows
    for path in workflows:
        assert_safe_and_cheap(path)


def test_the_release_pins_the_same_commits_as_the_repositorys_workflow(course: Path) -> None:
    pins = dict(
        line.split("@", 1) for line in re.findall(r"uses: (\S+@\S+)", (ROOT / ".github/workflows/ci.yml").read_text())
    )
    written = (course / ".github" / "workflows" / "classroom.yml").read_text(encoding="utf-8")
    for action, sha in pins.items():
        assert f"uses: {action}@{sha}" in written, action


def test_a_bad_pin_in_the_text_is_caught(tmp_path: Path) -> None:
    """The check above can fail: an unpinned action and a persisted checkout are named."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        (ROOT / ".github" / "workflows" / "ci.yml")
        .read_text(encoding="utf-8")
        .replace("persist-credentials: false", "")
    )
    with pytest.raises((AssertionError, KeyError, TypeError)):
        assert_safe_and_cheap(bad)


def test_lint_runs_zizmor_offline_on_the_repository_and_on_a_release() -> None:
    noxfile = (ROOT / "noxfile.py").read_text(encoding="utf-8")
    lint = noxfile[noxfile.index("def lint(") : noxfile.index("\n\n\n", noxfile.index("def lint("))]
    assert "zizmor" in lint and '"--offline", "--min-severity", "medium"' in lint, lint
    assert "release" in lint and ".github" in lint, lint
    zizmor_yml = ROOT / "zizmor.yml"
    if zizmor_yml.exists():  # one rule relaxed for one action, with the reason beside it; none off wholesale
        assert "disable: true" not in zizmor_yml.read_text(encoding="utf-8")


# -- 3. The student copy speaks to students -----------------------------------------------------------


def test_the_student_copy_has_no_maintainer_prose_and_offers_nothing_that_needs_solutions(course: Path) -> None:
    assert release.prose(course) == []
    readme = (course / "README.md").read_text(encoding="utf-8")
    for said in ("here (", "this machine", "Not tried", "REFERENCE = True", "--reference"):
        assert said not in readme, said
    notebook = (course / "notebooks" / "explore.ipynb").read_text(encoding="utf-8")
    assert "REFERENCE" not in notebook and "solutions" not in notebook


@pytest.mark.parametrize(
    "sentence",
    [
        "Measured on a fresh clone here: 80 s.",
        "Not tried here: Colab is untested.",
        "It takes 9 s on this machine.",
        "Set `REFERENCE = True` to see the answer.",
    ],
)
def test_release_check_names_a_planted_maintainer_sentence(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, sentence: str
) -> None:
    written = release.student_readme
    monkeypatch.setattr(
        release, "student_readme", lambda text, *rest: written(text, *rest) + f"\nA line.\n{sentence}\n"
    )
    assert release.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "README.md:" in out and sentence.split(":")[0][:20] in out, out


def test_the_repository_readme_says_what_a_figure_was_measured_on() -> None:
    readme = ROOT / "README.md"
    assert release.prose_in(readme.read_text(encoding="utf-8"), "README.md", release.WHERE) == []
    assert "a 2-core Linux machine" in readme.read_text(encoding="utf-8")


# -- 4. Codespaces and Colab ------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["repository", "release"])
def test_the_devcontainer_builds_the_shared_environment_and_recommends_the_extensions(course: Path, where: str) -> None:
    path = (ROOT if where == "repository" else course) / ".devcontainer" / "devcontainer.json"
    config = jsonc(path.read_text(encoding="utf-8"))
    command = config["postCreateCommand"]
    assert "python -m nox -s setup" in command, command
    noxfile = (ROOT / "noxfile.py").read_text(encoding="utf-8")  # the session it names builds the environment
    assert re.search(
        r"@nox\.session\ndef setup\(session: nox\.Session\) -> None:\n.*\n    shared_env\(session\)\n", noxfile
    )
    extensions = config["customizations"]["vscode"]["extensions"]
    assert {"ms-python.python", "ms-toolsai.jupyter"} <= set(extensions)
    ci = load(ROOT / ".github" / "workflows" / "ci.yml")
    assert config["containerEnv"]["PIP_INDEX_URL"] == ci["env"]["PIP_INDEX_URL"], "CPU wheels of torch"


def first_cell(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return "".join(next(c for c in cells if c["cell_type"] == "code")["source"])


def test_release_writes_the_assignment_repository_into_the_colab_badge_and_the_first_cell(course: Path) -> None:
    notebook = course / "notebooks" / "explore.ipynb"
    text = notebook.read_text(encoding="utf-8")
    assert "colab.research.google.com/github/our-school/nn-katas/blob/main/notebooks/explore.ipynb" in text
    assert release.PLACEHOLDER not in text
    cell = first_cell(notebook)
    assert 'REPOSITORY = "our-school/nn-katas"' in cell
    assert "getpass(" in cell and not re.search(r"(ghp_|github_pat_|token\s*=\s*[\"'])", cell), cell
    readme = (course / "README.md").read_text(encoding="utf-8")
    assert "our-school/nn-katas" in readme and "private" in readme and "token" in readme and ".zip" in readme


def test_release_takes_the_repository_from_the_targets_git_remote(tmp_path: Path) -> None:
    dest = tmp_path / "clone"
    subprocess.run(["git", "init", "-q", str(dest)], check=True)
    subprocess.run(
        ["git", "-C", str(dest), "remote", "add", "origin", "git@github.com:a-school/katas-2026.git"], check=True
    )
    assert release.main([str(dest)]) == 0
    assert 'REPOSITORY = "a-school/katas-2026"' in first_cell(dest / "notebooks" / "explore.ipynb")


def test_a_bad_repository_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for args in (["--repo", "not a repo"], ["--repo"], ["--repo", "a/b/c"]):
        assert release.main([str(tmp_path / "x"), *args]) == 2, args
        out = capsys.readouterr().out
        assert len(out.strip().splitlines()) == 1, out
    assert not (tmp_path / "x").exists()


def run_first_cell(cell: str, cwd: Path, answer: str = "") -> subprocess.CompletedProcess:
    """The cell as Colab runs it: google.colab imported, getpass answered, pip not run, in a folder of ours."""
    fake = (
        "import sys, types, getpass, subprocess\n"
        "sys.modules['google.colab'] = types.ModuleType('google.colab')\n"
        f"getpass.getpass = lambda prompt='': (print('ASKED:', prompt), {answer!r})[1]\n"
        "_run = subprocess.run\n"
        "subprocess.run = lambda cmd, *a, **k: (_run(['true']) if 'pip' in cmd else _run(cmd, *a, **k))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", fake + cell], cwd=cwd, capture_output=True, text=True, encoding="utf-8", check=False
    )


def test_the_first_cell_opens_an_uploaded_zip_of_the_repository(course: Path, tmp_path: Path) -> None:
    colab = tmp_path / "content"
    colab.mkdir()
    with zipfile.ZipFile(colab / "nn-katas-main.zip", "w") as archive:
        for path in course.rglob("*"):
            if path.is_file() and ".git" not in path.parts:
                archive.write(path, f"nn-katas-main/{path.relative_to(course).as_posix()}")
    cell = first_cell(course / "notebooks" / "explore.ipynb")
    done = run_first_cell(cell, colab)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"repository: {colab / 'nn-katas-main'}" in done.stdout, done.stdout


def test_the_first_cell_asks_for_a_token_for_a_private_repository_and_says_so_in_one_line(
    course: Path, tmp_path: Path
) -> None:
    colab = tmp_path / "content"
    colab.mkdir()
    cell = first_cell(course / "notebooks" / "explore.ipynb").replace("https://github.com/", f"file://{tmp_path}/none/")
    done = run_first_cell(cell, colab, answer="a-secret-token")
    assert "ASKED:" in done.stdout, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    said = (done.stdout + done.stderr).strip().splitlines()
    assert "a-secret-token" not in done.stdout + done.stderr
    assert "could not clone" in said[-1], said


# -- 5. Marks explained -----------------------------------------------------------------------------------


def test_each_classroom_step_and_the_summary_say_what_a_failed_kata_means(course: Path) -> None:
    classroom = load(course / ".github" / "workflows" / "classroom.yml")
    graders = steps_using(classroom, "classroom-resources/autograding-command-grader@")
    assert len(graders) == len(katas())
    for step, kata in zip(graders, katas(), strict=True):
        assert POINTS_LINE.search(step["with"]["command"]), step["with"]["command"]
        assert f"kata-{kata.number}" in step["name"]
    (job,) = classroom["jobs"].values()
    summary = next(s for s in job["steps"] if "nox -s grade" in s.get("run", ""))
    assert "GITHUB_STEP_SUMMARY" in summary["run"] and POINTS_LINE.search(summary["run"]), summary["run"]
    reporter = steps_using(classroom, "classroom-resources/autograding-grading-reporter@")
    assert len(reporter) == 1 and POINTS_LINE.search(reporter[0]["name"]), reporter


def test_the_student_readme_says_what_marks_and_points_mean(course: Path) -> None:
    readme = (course / "README.md").read_text(encoding="utf-8")
    part = readme[readme.index("## Your grade") :]
    assert "red" in part and "points" in part and re.search(r"not done yet", part), part


@pytest.mark.skipif(sys.platform == "win32", reason="Classroom's steps run in /bin/sh on Linux")
@pytest.mark.parametrize("status", [0, 1])
def test_a_classroom_step_and_the_summary_step_run_as_sh_runs_them(course: Path, tmp_path: Path, status: int) -> None:
    """The commands as GitHub runs them, with a `python` that stands for nox passing (0) or failing (1) a kata."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").write_text(f"#!/bin/sh\nexit {status}\n")
    (bin_dir / "python").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    classroom = load(course / ".github" / "workflows" / "classroom.yml")
    for step, kata in zip(steps_using(classroom, "classroom-resources/"), katas(), strict=False):
        done = subprocess.run(["/bin/sh", "-c", step["with"]["command"]], env=env, capture_output=True, text=True)
        assert done.returncode == status, done
        assert done.stdout == ("" if status == 0 else f"{release.failed_line(kata)}\n"), done.stdout
    (job,) = classroom["jobs"].values()
    summary = next(s for s in job["steps"] if "nox -s grade" in s.get("run", ""))
    done = subprocess.run(["/bin/sh", "-e", "-c", summary["run"]], env=env, capture_output=True, text=True)
    assert done.returncode == status
    assert POINTS_LINE.search((tmp_path / "summary.md").read_text(encoding="utf-8"))


def test_a_part_left_out_of_the_student_readme_leaves_the_paragraphs_around_it_apart() -> None:
    text = "# T\nBefore.\n<!-- release: omit -->\nFor us.\n<!-- release: /omit -->\nAfter.\n"
    assert "Before.\n\nAfter." in release.student_readme(text)
