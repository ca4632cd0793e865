"""Run directories as the dashboards see them: only under one root, only read.

A dashboard lists the run directories under a *runs root* (the environment
variable ``SPEID_RUNS_ROOT``, else ``runs/`` under the working directory), then
the committed example runs (``examples/`` of the checkout, listed as
``example:NAME``), and opens only those. A path that leads outside the root (``..``, an absolute
path) is refused with a sentence, not opened. Symbolic links placed inside the
root are followed: whoever controls the root decides what it shows.

Nothing here writes a file. Downloads are built in memory as ``data:`` URIs.
"""
from __future__ import annotations

import base64
import html
import os
from pathlib import Path

import traitlets as tl

from speidlib import schema
from speidlib.run import Run

# Files that make a folder look like a run directory (any one is enough to list it).
_RUN_MARKERS = (schema.CONFIG_FILE, schema.DATASET_FILE, schema.PREDICTIONS_FILE, schema.MOTIFS_DIR,
                schema.LINKS_DIR)
EXAMPLE_PREFIX = "example:"  # names of the example runs in a dashboard's list of runs
_STEP = {schema.PREDICTIONS_FILE: "speid evaluate", schema.PREDICTIONS_BEDPE: "speid evaluate",
         schema.DATASET_FILE: "speid prepare", schema.MODEL_FILE: "speid train",
         schema.METRICS_FILE: "speid evaluate"}


def runs_root(root=None) -> Path:
    """The runs root as an absolute path: ``root``, else ``$SPEID_RUNS_ROOT``, else ``runs/``
    of the workbench checkout the working directory lies in (voila starts a dashboard's
    kernel in ``dashboards/``, on Binder too), else ``./runs``."""
    root = root or os.environ.get(schema.RUNS_ROOT_ENV)
    if not root:
        cwd = Path.cwd()
        base = next((f for f in (cwd, *cwd.parents)
                     if (f / "speidlib").is_dir() and (f / "dashboards").is_dir()), cwd)
        root = base / schema.DEFAULT_RUNS_ROOT
    return Path(os.path.abspath(os.path.expanduser(str(root))))


def example_runs_root() -> Path | None:
    """The folder of committed example runs listed beside the runs root, or None.

    ``$SPEID_EXAMPLE_RUNS`` when set (an empty value lists no example), else
    ``examples/`` of the workbench checkout (beside ``speidlib/``) when it exists:
    a fresh clone opens the dashboards on ``examples/demo_cpu``
    (``scripts/make_example_run.py``) before any notebook has run.
    """
    given = os.environ.get(schema.EXAMPLE_RUNS_ENV)
    if given is not None:
        return Path(os.path.abspath(os.path.expanduser(given))) if given.strip() else None
    folder = Path(__file__).resolve().parents[3] / schema.EXAMPLE_RUNS_DIR
    return folder if folder.is_dir() else None


def list_all_runs(root, examples: Path | None = None) -> list[str]:
    """The runs under ``root`` (:func:`list_runs`), then the example runs as ``example:NAME``.

    ``examples`` is the folder of example runs (default :func:`example_runs_root`);
    an example folder that is also under ``root`` is not listed twice.
    """
    runs = list_runs(root)
    examples = example_runs_root() if examples is None else examples
    if examples is None or examples == runs_root(root) or runs_root(root) in examples.parents:
        return runs
    return runs + [EXAMPLE_PREFIX + name for name in list_runs(examples)]


def list_runs(root, max_depth: int = 2) -> list[str]:
    """Names (relative to ``root``, ``/``-separated) of the run directories under it, sorted.

    A folder counts as a run directory when it holds ``config.json``,
    ``dataset.h5``, ``predictions.csv``, ``motifs/`` or ``genome_wide/``; the search goes
    ``max_depth`` folders deep and does not descend into a run directory.
    """
    root = runs_root(root)
    found, level = [], [root]
    for _ in range(max_depth):
        nxt = []
        for folder in level:
            for child in sorted(p for p in _subdirs(folder) if not p.name.startswith(".")):
                (found if _looks_like_run(child) else nxt).append(child)
        level = nxt
    return sorted(p.relative_to(root).as_posix() for p in found)


def _subdirs(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if p.is_dir()]
    except OSError:
        return []


def _looks_like_run(folder: Path) -> bool:
    return len(Run(folder).missing(_RUN_MARKERS)) < len(_RUN_MARKERS)


def resolve_run(root, name) -> Path:
    """The run directory ``name`` under ``root``; ValueError if outside the root or not a folder.

    A name ``example:NAME`` is the example run ``NAME`` under :func:`example_runs_root`.
    """
    root = runs_root(root)
    if not str(name or "").strip():
        raise ValueError(f"No run directory chosen. Pick one of the run directories under {root}.")
    if str(name).startswith(EXAMPLE_PREFIX):
        examples = example_runs_root()
        if examples is None:
            raise ValueError(f"{name} is an example run, but there is no folder of example runs "
                             f"(set {schema.EXAMPLE_RUNS_ENV} to one).")
        root, name = examples, str(name)[len(EXAMPLE_PREFIX):]
    path = Path(os.path.normpath(root / str(name)))
    if path != root and root not in path.parents:
        raise ValueError(f"{name} is outside the runs root {root}: the dashboards only open run "
                         f"directories under it (set {schema.RUNS_ROOT_ENV} to change the root).")
    if not path.is_dir():
        raise ValueError(f"{path} is not a folder: no run directory {name!r} under {root}.")
    return path


def require_files(run_dir, names, what: str) -> None:
    """ValueError naming every missing file of ``names`` and the step that writes it."""
    run_dir = Path(run_dir)
    missing = Run(run_dir).missing(names)
    if missing:
        steps = sorted({_STEP.get(n.split("/")[0], "speid motifs") for n in missing})
        raise ValueError(f"{run_dir} is incomplete for {what}: {', '.join(missing)} "
                         f"{'is' if len(missing) == 1 else 'are'} missing "
                         f"(written by `{'`, `'.join(steps)} {run_dir}`).")


def describe_error(error: BaseException) -> str:
    """One readable sentence for an error met while reading a run (no traceback)."""
    if isinstance(error, ValueError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def message_html(text: str, kind: str = "error") -> str:
    """An HTML box for a message in the page (``kind``: ``"error"``, ``"info"``)."""
    colours = {"error": ("#fdecea", "#b71c1c"), "info": ("#e8f0fe", "#1a3e72")}
    bg, fg = colours.get(kind, colours["info"])
    return (f'<div class="speid-message speid-{kind}" style="background:{bg};color:{fg};'
            f'padding:8px 12px;border-radius:4px;margin:4px 0">{html.escape(text)}</div>')


def download_link(text: str, filename: str, mime: str = "text/csv", label: str | None = None) -> str:
    """An HTML ``<a download>`` link carrying ``text`` as a base64 ``data:`` URI (nothing is written)."""
    data = base64.b64encode(text.encode()).decode("ascii")
    label = label or f"download {filename}"
    return (f'<a class="speid-download" download="{html.escape(filename)}" '
            f'href="data:{mime};base64,{data}">{html.escape(label)}</a>')


def html_table(df, columns=None, formats=None, index: bool = False, escape: bool = True,
               table_class: str = "speid-table", max_height: int | None = None) -> str:
    """A small HTML table of ``df`` (``formats``: column -> format string like ``"{:.3f}"``).

    ``index`` adds the row labels as a ``#`` column; ``escape=False`` lets cells
    hold HTML; ``max_height`` (px) puts the table in a scrolling box.
    """
    formats = formats or {}
    columns = list(columns if columns is not None else df.columns)
    esc = html.escape if escape else str
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in (["#"] if index else []) + columns)
    rows = []
    for i, row in zip(df.index, df[columns].itertuples(index=False)):
        cells = [f"<td>{i}</td>"] if index else []
        cells += [f"<td>{esc(formats.get(c, '{}').format(v))}</td>" for c, v in zip(columns, row)]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    style = ("<style>.speid-table{border-collapse:collapse;font-size:12px}"
             ".speid-table th,.speid-table td{border-bottom:1px solid #ddd;padding:2px 8px;"
             "text-align:left;white-space:nowrap}.speid-table th{background:#f3f3f3}</style>")
    table = (f'<table class="{table_class}"><thead><tr>{head}</tr></thead>'
             f'<tbody>{"".join(rows)}</tbody></table>')
    if max_height:
        table = f'<div style="max-height:{max_height}px;overflow:auto">{table}</div>'
    return style + table


class RunModel(tl.HasTraits):
    """State shared by the dashboards: the runs root, the runs under it, the chosen run.

    Subclasses implement ``_read(run_dir)`` (read the run's files, raise
    ValueError with a readable sentence when they cannot) and
    ``_clear()``; ``error`` holds the sentence when reading failed.
    """

    root = tl.Unicode(help="absolute path of the runs root")
    runs = tl.Tuple(help="run directories found under the root, relative names")
    run = tl.Unicode("", help="the chosen run, relative to the root")
    run_dir = tl.Unicode("", help="absolute path of the chosen run ('' when none could be opened)")
    error = tl.Unicode("", help="why the chosen run cannot be shown ('' when it can)")
    #: files (relative to a run) a dashboard needs; the first run holding them all opens by default
    needs: tuple = ()

    def __init__(self, root=None, run=None, **kwargs):
        super().__init__(**kwargs)
        self.root = str(runs_root(root))
        self.refresh()
        if run is None and not self.runs:
            self._fail(ValueError(f"No run directories under {self.root}: run the pipeline "
                                  f"(`make demo`) or set {schema.RUNS_ROOT_ENV} to a folder of runs."))
        name = run if run is not None else self.default_run()
        if name is not None and name == self.run:
            self.open(name)
        elif name is not None:
            self.run = name

    def default_run(self) -> str | None:
        """The first run holding every file of ``needs`` (else the first run; None if none)."""
        complete = [r for r in self.runs if all((self._path(r) / f).exists() for f in self.needs)]
        return (complete or list(self.runs) or [None])[0]

    def refresh(self) -> None:
        """List the run directories under the root, then the example runs, again."""
        self.runs = tuple(list_all_runs(self.root))

    def _path(self, name: str) -> Path:
        try:
            return resolve_run(self.root, name)
        except ValueError:
            return Path(self.root) / name

    @tl.observe("run")
    def _on_run(self, change) -> None:
        self.open(change["new"])

    def open(self, name: str) -> None:
        """Read the run ``name`` (relative to the root); on failure set ``error``, never raise."""
        try:
            path = resolve_run(self.root, name)
            self._read(path)
        except Exception as e:  # noqa: BLE001  a dashboard shows every failure as a sentence
            self._fail(e)
            return
        self.run_dir, self.error = str(path), ""

    def _fail(self, error: BaseException) -> None:
        self._clear()
        self.run_dir, self.error = "", describe_error(error)

    def _read(self, run_dir: Path) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _clear(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
