"""The install files agree, and the entry points the README names exist."""
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = _pyproject()["project"]
    deps = {Requirement(d).name.lower(): str(Requirement(d).specifier)
            for d in project["dependencies"] + project["optional-dependencies"]["docs"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    env_deps = {Requirement(d).name.lower(): str(Requirement(d).specifier) for d in pip_section}
    assert env_deps == deps
    assert "python=3.11" in env["dependencies"]


def test_every_dependency_has_a_pinned_range():
    project = _pyproject()["project"]
    extras = project["optional-dependencies"]
    for dep in project["dependencies"] + extras["test"] + extras["docs"]:
        spec = Requirement(dep).specifier
        assert any(s.operator in ("<", "<=", "==", "~=") for s in spec), f"{dep} has no upper bound"
        assert any(s.operator in (">", ">=", "==", "~=") for s in spec), f"{dep} has no lower bound"


def test_users_packages_are_declared():
    names = {Requirement(d).name.lower() for d in _pyproject()["project"]["dependencies"]}
    for needed in ("tensorflow", "keras", "pyfaidx", "pandas", "scikit-learn", "h5py", "plotly",
                   "logomaker", "ipywidgets", "voila", "jupyterlab", "pyjaspar", "memelite", "tqdm"):
        assert needed in names


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make demo" in readme
    assert "scripts/test.sh" in (ROOT / "Makefile").read_text()
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
