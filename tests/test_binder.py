"""``postBuild`` in a clean virtual environment, as Binder runs it after ``environment.yml``.

The environment's packages come from ``.venv`` (a ``.pth`` line: environment.yml's
pip section is pyproject's dependencies, which ``tests/test_packaging.py`` keeps
in sync), but the workbench itself is not installed in it: ``postBuild`` must
install it, and its example step must write the example run's ``dataset.h5``.
The checkout is copied first (tracked and untracked files git does not
ignore), so nothing is written into the working tree.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def _environment_packages() -> list[tuple[str, str]]:
    """(distribution, specifier) of environment.yml's pip section."""
    import yaml
    from packaging.requirements import Requirement

    deps = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    return [(r.name, str(r.specifier)) for r in map(Requirement, pip)]


def test_postbuild_installs_the_workbench_and_the_example_dataset(tmp_path):
    repo = tmp_path / "repo"
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\n")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)
    example = repo / "examples" / "demo_cpu"
    if not (example / "example.json").exists():
        pytest.skip("examples/demo_cpu is not built (scripts/make_example_run.py)")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(PATH=f"{venv / 'bin'}:{env['PATH']}", TF_CPP_MIN_LOG_LEVEL="2", PIP_DISABLE_PIP_VERSION_CHECK="1")
    python = str(venv / "bin" / "python")
    before = subprocess.run([python, "-c", "import speidlib"], cwd=tmp_path, env=env, capture_output=True)
    assert before.returncode != 0, "the clean environment already holds the workbench"

    done = subprocess.run(["bash", "postBuild"], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "the dataset the example was trained on" in done.stdout
    # the workbench is installed (editable, from the copy), its command answers
    where = subprocess.run([python, "-c", "import speidlib; print(speidlib.__file__)"], cwd=tmp_path,
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).resolve() == (repo / "speidlib" / "__init__.py").resolve()
    assert subprocess.run([str(venv / "bin" / "speid"), "--help"], env=env, capture_output=True).returncode == 0
    assert (example / "dataset.h5").stat().st_size > 1e6
    # voila (server extension and standalone) is told to skip jupytext's lab extension
    for conf in ("voila.json", "jupyter_server_config.d/speid-voila.json"):
        deny = json.loads((venv / "etc" / "jupyter" / conf).read_text())
        assert deny["VoilaConfiguration"]["extension_denylist"] == ["jupyterlab-jupytext"]

    # every package environment.yml lists is there at a version it allows, and imports
    from packaging.specifiers import SpecifierSet

    top = importlib.metadata.packages_distributions()
    modules = {}
    for module, dists in top.items():
        for dist in dists:
            modules.setdefault(dist.lower().replace("_", "-"), []).append(module)
    packages = _environment_packages()
    assert len(packages) >= 20
    code = []
    for name, spec in packages:
        version = importlib.metadata.version(name)
        assert version in SpecifierSet(spec), f"{name} {version} is outside {spec}"
        mods = sorted(m for m in modules.get(name.lower(), []) if not m.startswith("_"))
        assert mods, f"no importable module found for {name}"
        code.append(f"import {min(mods, key=len)}")
    done = subprocess.run([python, "-c", "; ".join(code)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
