"""The setup files agree with each other and with the README's promises."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def pyproject_deps() -> list[str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


def environment_pip_deps() -> list[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return [d for d in pip if d != "-e ."]


def test_environment_yml_and_pyproject_agree():
    assert sorted(environment_pip_deps()) == sorted(pyproject_deps())
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    assert "-e ." in next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))


def test_every_dependency_is_pinned_and_torch_is_the_cpu_build_on_disk():
    for dep in pyproject_deps():
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][0-9A-Za-z.]*", dep), dep
    assert "torch==2.13.0" in pyproject_deps()


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for block in re.findall(r"```(?:bash|sh)?\n(.*?)```", quick, re.S)
            for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]


def test_readme_gives_exactly_two_commands_and_ci_runs_the_second():
    commands = readme_commands()
    assert commands == ["python3 course.py lab", "python3 course.py test"]
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert commands[1] in ci


def test_readme_maps_every_lecture_to_its_code():
    text = (ROOT / "README.md").read_text()
    for nb in sorted((ROOT / "lectures").glob("*.ipynb")):
        assert f"lectures/{nb.name}" in text, nb.name
