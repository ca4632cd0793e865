"""The ``speid`` command line: batch runs of every workbench step.

Each subcommand reads and writes a run directory (see ``docs/architecture.md``)::

    speid demo-data demo/                      # synthetic genome + pairs
    speid prepare --pairs demo/pairs.csv --genome demo/genome.fa --run runs/demo
    speid train runs/demo --preset cpu
    speid evaluate runs/demo
    speid motifs runs/demo
    speid candidates --enhancers demo/enhancers.bed --promoters demo/promoters.bed --out pairs.bedpe
    speid score runs/demo --pairs pairs.bedpe --genome demo/genome.fa --out links.interact
    speid crispr --benchmark crispr.tsv.gz --out crispr/ [--run runs/demo --genome GRCh38.fa]

This module assembles the parser and dispatches; each command's options and handler live in
a module per group (:mod:`speidlib.app.cli.pipeline`, :mod:`speidlib.app.cli.genome_wide`,
:mod:`speidlib.app.cli.explain`), and a step's options are declared once, in its dataclass
(:mod:`speidlib.options`). Each handler imports its step when it runs, so ``speid --help`` and
the data steps start without loading TensorFlow (``tests/test_architecture.py`` allows deferred
imports in this package and nowhere else).
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback

from speidlib.app.cli import explain, genome_wide, pipeline

__all__ = ["build_parser", "subcommand_parser", "main", "USER_ERRORS"]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("speidlib")
    except PackageNotFoundError:
        return "unknown (not installed as a package)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="speid", description="SPEID workbench: enhancer-promoter interactions from sequence.")
    parser.add_argument("--version", action="version", version=f"speid {_version()}",
                        help="print the workbench's version (recorded in every run's config.json)")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error (for bug reports)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _ADDERS:
        add(sub)
    for p in sub.choices.values():  # `speid train RUN --debug` works too
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the full traceback of an error")
    return parser


# the order of `speid --help`
def subcommand_parser(command: str) -> argparse.ArgumentParser:
    """The parser of ``speid COMMAND`` (what ``workflow/Snakefile`` checks a config section against)."""
    sub = next(a for a in build_parser()._actions if a.dest == "command")  # argparse keeps subparsers here
    return sub.choices[command]


_ADDERS = [pipeline.add_demo, pipeline.add_prepare, pipeline.add_train, pipeline.add_evaluate, pipeline.add_motifs,
           pipeline.add_baselines, genome_wide.add_candidates, genome_wide.add_score, genome_wide.add_fetch,
           genome_wide.add_random_genome, genome_wide.add_crispr, genome_wide.add_cross_cell,
           genome_wide.add_split_pairs, genome_wide.add_gather, explain.add_doctor, explain.add_attribute,
           explain.add_modisco, explain.add_variants, explain.add_ism, explain.add_demo_variants]


# the steps that load TensorFlow
_TF_COMMANDS = ("train", "evaluate", "motifs", "score", "crispr", "doctor", "attribute", "modisco",
                "variants", "ism")


def _quiet_tensorflow(command: str) -> None:
    """No TensorFlow/absl start-up log lines before a step's own output (or its error):
    :func:`speidlib.runtime.import_tensorflow_quietly` for the steps that load it."""
    if command in _TF_COMMANDS:
        from speidlib.runtime import import_tensorflow_quietly

        import_tensorflow_quietly()


# Errors of the user's input, files, disk or network: one line, exit 2. Anything else is
# a bug and keeps its traceback.
USER_ERRORS = (ValueError, OSError)


def _one_line(e: BaseException) -> str:
    if isinstance(e, OSError) and not isinstance(e, (ValueError,)) and e.strerror:
        where = f" {e.filename}" if e.filename else ""
        return f"{e.strerror}:{where}" if where else e.strerror
    text = " ".join(str(e).split()) or type(e).__name__
    return text


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    _quiet_tensorflow(args.command)
    try:
        run = getattr(args, "run", None)
        if args.command in ("prepare", "train", "evaluate", "motifs", "attribute", "modisco") and run:
            from speidlib.run import run_lock

            with run_lock(run, args.command):
                args.func(args)
        else:
            args.func(args)
    except BrokenPipeError:  # `--out - | head`: the reader has what it wanted; no traceback, no error line
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
        return 141  # as a command killed by SIGPIPE
    except USER_ERRORS as e:
        if args.debug:
            traceback.print_exc()
        print(f"speid {args.command}: error: {_one_line(e)}", file=sys.stderr)
        return 2
    return 0
