"""The README is a short front door whose links, picture and tables name real things.

(Its Binder links and licences are checked in tests/test_example_run.py, its two commands in
tests/test_packaging.py; the long-form documentation and its tests are in docs/ and tests/test_docs.py.)
"""
import re
from pathlib import Path

from speidlib.app.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _table_names(pattern: str) -> set[str]:
    return set(re.findall(rf"^\| `({pattern})` \|", README, re.M))


def test_readme_fits_on_two_screens():
    assert len(README.splitlines()) <= 200


def test_every_relative_link_and_the_picture_exist():
    links = re.findall(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", README)
    local = [link for link in links if not link.startswith(("http://", "https://"))]
    assert local, "the README links to its docs pages"
    missing = [link for link in local if not (ROOT / link).exists()]
    assert not missing, missing
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README)
    assert len(pictures) == 1 and (ROOT / pictures[0]).stat().st_size < 150_000


def test_the_table_lists_every_notebook_dashboard_and_command():
    notebooks = {f"notebooks/{p.name}" for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert _table_names(r"notebooks/[^`]+") == notebooks
    assert _table_names(r"dashboards/[^`]+") == {f"dashboards/{p.name}" for p in (ROOT / "dashboards").glob("*.ipynb")}
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert _table_names(r"speid [a-z-]+") == {f"speid {name}" for name in sub.choices}
