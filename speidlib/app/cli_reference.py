"""The command reference of the documentation site, generated from the ``speid`` parsers.

The site's hook (``scripts/docs_hooks.py``) calls :func:`command_reference` at
build time, so the page cannot drift from the command line: it is each
subcommand's ``speid COMMAND --help``, at a fixed width of :data:`WIDTH`
columns (``tests/test_docs.py`` compares it with what the command prints).
"""
from __future__ import annotations

import os
from contextlib import contextmanager

from speidlib.app.cli import build_parser

WIDTH = 100  # columns of the help text (argparse reads $COLUMNS)


@contextmanager
def _columns(width: int):
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = before


def help_texts(width: int = WIDTH) -> dict[str, str]:
    """``{"speid": main help, "speid COMMAND": its help}``: what ``--help`` prints at ``width`` columns."""
    with _columns(width):
        parser = build_parser()
        sub = next(a for a in parser._actions if a.dest == "command")  # argparse keeps subparsers here
        out = {"speid": parser.format_help()}
        for name, p in sub.choices.items():
            out[f"speid {name}"] = p.format_help()
    return out


def command_reference(width: int = WIDTH) -> str:
    """The Markdown page: a one-line summary table, then every command's help in a code block."""
    with _columns(width):
        sub = next(a for a in build_parser()._actions if a.dest == "command")
        summaries = {c.dest: c.help for c in sub._choices_actions}
    texts = help_texts(width)
    lines = ["# Command reference", "",
             "Generated from the `speid` command line's own parsers when the site is built, so it "
             "always matches `speid COMMAND --help`. Every user error is one line on stderr and exit "
             "code 2; `speid --debug COMMAND ...` shows the traceback.", "",
             "| command | what it does |", "|---|---|"]
    lines += [f"| [`speid {name}`](#speid-{name}) | {summaries.get(name, '')} |"
              for name in (k.split(" ", 1)[1] for k in texts if k != "speid")]
    lines += ["", "## speid", "", "```text", texts["speid"].rstrip(), "```", ""]
    for key, text in texts.items():
        if key == "speid":
            continue
        lines += [f"## {key} {{#{key.replace(' ', '-')}}}", "", "```text", text.rstrip(), "```", ""]
    return "\n".join(lines)
