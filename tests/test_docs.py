"""The documentation site: it builds in strict mode, its command reference is `speid COMMAND --help`,
every `speid` example in the docs and the README parses, and its nav never names a missing page."""
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from speidlib.app.cli import build_parser, main
from speidlib.app.cli_reference import WIDTH, command_reference, help_texts

ROOT = Path(__file__).resolve().parents[1]


def _hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "scripts" / "docs_hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_docs_build_in_strict_mode(tmp_path):
    # about 30 s on 2 cores: every page, the generated command and API reference, the notebooks
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    site = tmp_path / "site"
    commands = (site / "reference" / "commands" / "index.html").read_text()
    assert "speid doctor" in commands and "--mixed-precision" in commands
    assert (site / "api" / "app" / "index.html").read_text().count("run_doctor") >= 1
    for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert (site / "notebooks" / nb.stem / "index.html").is_file(), nb.name


def test_command_reference_is_what_each_command_prints(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    page = command_reference()
    texts = help_texts()
    assert {k.split(" ", 1)[-1] for k in texts} >= {"prepare", "train", "score", "doctor"}
    for key, text in texts.items():
        with pytest.raises(SystemExit):
            main([*key.split()[1:], "--help"])
        printed = capsys.readouterr().out
        assert printed == text, key
        assert "```text\n" + printed.rstrip() + "\n```" in page, key


def test_the_installed_command_prints_the_same_help():
    env = {**os.environ, "COLUMNS": str(WIDTH)}
    done = subprocess.run([str(Path(sys.executable).parent / "speid"), "doctor", "--help"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0 and done.stdout == help_texts()["speid doctor"]


def _speid_examples(path: Path):
    """(line number, argv) of every `speid ...` command in the file's fenced bash blocks."""
    lines = path.read_text().splitlines()
    in_bash, i = False, 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            in_bash = not in_bash and line.strip() in ("```bash", "```sh", "```console")
            i += 1
            continue
        start = i
        if in_bash:
            text = line
            while text.rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                text = text.rstrip()[:-1] + " " + lines[i].strip()
            text = text.split(" #", 1)[0].strip()
            m = re.match(r"^(?:\.venv/bin/)?speid\s+(.*)$", text)
            if m and "..." not in text and "[" not in text:
                yield start + 1, shlex.split(m.group(1))
        i += 1


def test_every_speid_example_in_the_docs_and_readme_parses():
    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    parser = build_parser()
    seen = 0
    for path in files:
        for line, argv in _speid_examples(path):
            seen += 1
            try:
                parser.parse_args(argv)
            except SystemExit:
                pytest.fail(f"{path.relative_to(ROOT)}, line {line}: `speid {' '.join(argv)}` does not parse")
    assert seen >= 15


def test_nav_drops_missing_pages_and_adds_unlisted_ones(tmp_path):
    hooks = _hooks()
    (tmp_path / "guide").mkdir()
    for page in ("index.md", "guide/a.md", "extra_topic.md"):
        (tmp_path / page).write_text("# x\n")
    config = {"docs_dir": str(tmp_path), "nav": [
        {"Home": "index.md"}, {"Guide": [{"A": "guide/a.md"}, {"Gone": "guide/missing.md"}]},
        {"Later": [{"Not yet": "later.md"}]}, {"Notebooks": []},
        {"Reference": [{"Commands": hooks.COMMANDS_PAGE}]}]}
    nav = hooks.on_config(config)["nav"]
    flat = hooks._listed(nav)
    assert "guide/missing.md" not in flat and "later.md" not in flat
    assert not any("Later" in item for item in nav if isinstance(item, dict))
    assert {"index.md", "guide/a.md", hooks.COMMANDS_PAGE, "extra_topic.md"} <= flat
    assert {p for p in flat if p.startswith("notebooks/")} == set(hooks.notebooks())
    assert "api/app.md" in flat and nav[-1] == {"More": [{"Extra topic": "extra_topic.md"}]}


def test_docs_extra_is_pinned_and_make_docs_builds_strict():
    import tomllib

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["docs"]
    names = {re.split(r"[\[<>=]", d)[0] for d in extra}
    assert {"mkdocs", "mkdocs-material", "mkdocstrings", "mkdocs-jupyter"} <= names
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^docs:", makefile, re.M) and "mkdocs build --strict" in makefile
