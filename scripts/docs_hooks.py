"""MkDocs hooks of the documentation site (``mkdocs.yml``; ``make docs`` builds it).

- Generated pages, so that nothing is copied by hand and nothing can drift: the
  command reference from the ``speid`` parsers
  (:func:`speidlib.app.cli_reference.command_reference`), an API page per
  sub-package and top-level module of ``speidlib`` (mkdocstrings reads their
  docstrings), the benchmark figures from ``benchmarks/RESULTS.md``, and every
  numbered notebook
  ``notebooks/NN_*.ipynb`` (rendered by mkdocs-jupyter; an executed copy under
  ``examples/*/notebooks/`` is used where one is committed, else the notebook
  without outputs).
- A nav that never names a missing page: entries whose file is neither in
  ``docs/`` nor generated are dropped, the notebooks are listed from the
  folder, and ``docs/*.md`` pages the nav does not list are added under "More".
"""
from __future__ import annotations

import sys
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the checkout's speidlib, also without an installed package

COMMANDS_PAGE = "reference/commands.md"
RESULTS_PAGE = "guide/benchmark_results.md"


def notebooks() -> dict[str, Path]:
    """``notebooks/NN_name.ipynb`` (site path) -> the file to render."""
    out = {}
    for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        executed = sorted(ROOT.glob(f"examples/*/notebooks/{nb.name}"))
        out[f"notebooks/{nb.name}"] = executed[0] if executed else nb
    return out


def api_modules() -> dict[str, str]:
    """``api/<name>.md`` -> the dotted module it documents: every sub-package and top-level module."""
    pkg = ROOT / "speidlib"
    names = sorted(p.name for p in pkg.iterdir() if (p / "__init__.py").is_file())
    names += sorted(p.stem for p in pkg.glob("*.py") if p.stem != "__init__")
    return {f"api/{name}.md": f"speidlib.{name}" for name in names}


def generated() -> set[str]:
    return {COMMANDS_PAGE, RESULTS_PAGE, *notebooks(), *api_modules()}


def _title(path: str) -> str:
    stem = Path(path).stem
    words = stem.split("_", 1)[-1] if stem[:2].isdigit() else stem
    return (stem[:2] + " " if stem[:2].isdigit() else "") + words.replace("_", " ").capitalize()


def _keep(nav, exists) -> list:
    out = []
    for item in nav:
        if isinstance(item, dict):
            (title, value), = item.items()
            if isinstance(value, list):
                kept = _keep(value, exists)
                if kept:
                    out.append({title: kept})
            elif value.startswith(("http://", "https://")) or exists(value):
                out.append(item)
        elif exists(item):
            out.append(item)
    return out


def _listed(nav) -> set[str]:
    found = set()
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        found |= _listed(value) if isinstance(value, list) else {value}
    return found


def on_config(config):
    docs = Path(config["docs_dir"])
    made = generated()
    nav = []
    for item in config["nav"] or []:
        if isinstance(item, dict) and "Notebooks" in item:
            item = {"Notebooks": [{_title(p): p} for p in notebooks()]}
        elif isinstance(item, dict) and "Reference" in item:
            item = {"Reference": [*item["Reference"],
                                  {"API": [{module: page} for page, module in api_modules().items()]}]}
        nav.append(item)
    nav = _keep(nav, lambda p: p in made or (docs / p).is_file())
    listed = _listed(nav)
    extra = sorted(p.relative_to(docs).as_posix() for p in docs.rglob("*.md")
                   if p.relative_to(docs).as_posix() not in listed)
    if extra:
        nav.append({"More": [{_title(p): p} for p in extra]})
    config["nav"] = nav
    return config


@event_priority(100)  # before mkdocs-jupyter turns the notebooks into pages
def on_files(files, config):
    from speidlib.app.cli_reference import command_reference

    files.append(File.generated(config, COMMANDS_PAGE, content=command_reference()))
    files.append(File.generated(config, RESULTS_PAGE, abs_src_path=str(ROOT / "benchmarks" / "RESULTS.md")))
    for path, source in notebooks().items():
        # a File with a real source folder (its parents[1]), not File.generated: mkdocs-jupyter's
        # wrapper recomputes the source path from the folder
        files.append(File(path, src_dir=str(source.parents[1]), dest_dir=config["site_dir"],
                          use_directory_urls=config["use_directory_urls"]))
    for path, module in api_modules().items():
        files.append(File.generated(config, path, content=f"# {module}\n\n::: {module}\n"))
    return files
