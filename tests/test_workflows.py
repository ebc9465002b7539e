"""The GitHub Actions workflows: they parse, and they run the README's commands (they cannot run here)."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
README = (ROOT / "README.md").read_text()


def load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(workflow, dict) and workflow.get("jobs"), f"{name} has no jobs"
    workflow["on"] = workflow.get("on", workflow.pop(True, None))  # YAML 1.1 reads the key `on` as true
    return workflow


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def commands(workflow: dict) -> list[str]:
    """Every line of every `run:` step."""
    return [line.strip() for s in steps(workflow) if "run" in s for line in s["run"].splitlines() if line.strip()]


def uses(workflow: dict) -> dict[str, dict]:
    return {s["uses"].split("@")[0]: s for s in steps(workflow) if "uses" in s}


@pytest.mark.parametrize("name", ["ci.yml", "deploy.yml"])
def test_workflow_parses_and_pins_its_actions(name):
    workflow = load(name)
    for step in steps(workflow):
        assert ("run" in step) != ("uses" in step), f"{name}: a step needs exactly one of run/uses: {step}"
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), f"{name}: unpinned action {step['uses']}"
    for job in workflow["jobs"].values():
        assert job["runs-on"] == "ubuntu-latest"


def test_ci_runs_the_readme_test_command_on_pushes_and_pull_requests():
    ci = load("ci.yml")
    assert {"push", "pull_request"} <= set(ci["on"])
    assert commands(ci) == ["bash .ci/run"]
    ci_run = (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/dev.sh test" in ci_run and "bash scripts/dev.sh test" in README
    assert uses(ci)["actions/setup-python"]["with"]["cache"] == "pip"


def test_deploy_builds_both_books_with_the_readme_commands_and_publishes_them():
    deploy = load("deploy.yml")
    run = commands(deploy)
    def index(command: str) -> int:  # the first step that runs the command (possibly with more options)
        found = [i for i, line in enumerate(run) if line == command or line.startswith(command + " ")]
        assert found, f"deploy.yml does not run {command!r}"
        return found[0]

    for command in ("bash scripts/dev.sh book", ".venv/bin/python scripts/build_book.py --student"):
        index(command)
        assert command in README, f"the README does not document {command!r}"
    assert deploy["jobs"]["build"]["env"]["INFOGAN_PROFILE"] == "cpu"
    assert index("bash scripts/dev.sh book") < index(".venv/bin/python scripts/build_book.py --student")
    # nothing that leads to a solution is published: the student html is checked before upload
    assert index(".venv/bin/python scripts/build_book.py --student") \
        < index(".venv/bin/python scripts/course.py check _build/student/_build/html")
    # the student build's html/ only (its jupyter_execute/ holds the solutions), in a subfolder
    assert "cp -r _build/student/_build/html site/student" in run and "cp -r _build/html/. site/" in run
    actions = uses(deploy)
    assert actions["actions/upload-pages-artifact"]["with"]["path"] == "site"
    assert "actions/deploy-pages" in actions
    assert deploy["permissions"]["pages"] == "write" and deploy["permissions"]["id-token"] == "write"
    assert actions["actions/setup-python"]["with"]["cache"] == "pip"
    cached = actions["actions/cache"]["with"]["path"].split()
    assert "_build/.jupyter_cache" in cached and "_build/student/_build/.jupyter_cache" in cached
    assert "push" in deploy["on"] and deploy["on"]["push"]["branches"] == ["main"]


def test_student_build_lands_where_deploy_copies_it_from():
    assert "_build/student/_build/html" in (ROOT / "scripts" / "build_book.py").read_text()
