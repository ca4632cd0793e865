"""Run the numbered notebooks in order, keeping the executed copies in the run.

``notebooks/01_data_prep.ipynb`` ... ``05_motifs.ipynb`` are the workbench's
methods section; :func:`run_notebooks` executes them with papermill, one after
the other, into ``RUN/notebooks/`` (``RUN/notebooks/01_data_prep.ipynb``, ...)
with the parameters given, and records how long each took in
``RUN/notebooks/timings.json``. Each notebook works from the repository root
(:func:`project_root`), so relative paths mean what they mean on the command
line.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from speidlib import schema as S
from speidlib.runtime import gpu_line
from speidlib.data.dataset import PrepareConfig, prepare
from speidlib.demo.synthetic import make_demo
from speidlib.io import atomic_path, atomic_write_json, output_target
from speidlib.model.presets import PRESETS
from speidlib.run import Run, provenance_reason
from speidlib.train.options import TrainOptions, recorded_parameters

__all__ = ["NOTEBOOKS", "project_root", "notebook_path", "notebook_parameters", "run_notebooks",
           "written_files", "prepare_demo", "example_run", "reuse_trained_model", "reuse_example_motifs"]

#: the committed example run (``scripts/make_example_run.py``), relative to the project root
EXAMPLE_RUN = f"{S.EXAMPLE_RUNS_DIR}/demo_cpu"
# the files of a trained run that training writes, copied by reuse_trained_model
_TRAINED_FILES = (S.MODEL_FILE, S.HISTORY_FILE, S.JASPAR_INIT_FILE, S.INITIAL_KERNELS_FILE)

NOTEBOOKS = ("01_data_prep", "02_training", "03_evaluation", "04_cross_cell", "05_motifs",
             "06_genome_wide", "07_crispr_benchmark", "08_explain_a_link", "09_variants")


def project_root(start=None) -> Path:
    """The repository root: the nearest folder at or above ``start`` (default: the
    working directory) holding both ``speidlib/`` and ``notebooks/``; else the folder
    above this package when it has them; else ``start`` itself."""
    start = Path(start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "speidlib").is_dir() and (folder / "notebooks").is_dir():
            return folder
    here = Path(__file__).resolve().parents[1]
    return here if (here / "notebooks").is_dir() else start


def notebook_path(name: str, root=None) -> Path:
    """``ROOT/notebooks/<name>.ipynb`` for a name in :data:`NOTEBOOKS` (with or without ``.ipynb``)."""
    stem = name[:-6] if name.endswith(".ipynb") else name
    if stem not in NOTEBOOKS:
        raise ValueError(f"unknown notebook {name!r}; choose from {', '.join(NOTEBOOKS)}")
    return project_root(root) / "notebooks" / f"{stem}.ipynb"


def notebook_parameters(name: str, root=None) -> dict:
    """The parameters a notebook declares (its ``parameters`` cell): name -> default, as text."""
    import papermill

    found = papermill.inspect_notebook(str(notebook_path(name, root)))
    return {k: v["default"] for k, v in found.items()}


def run_notebooks(run_dir="runs/demo", parameters: Mapping | None = None,
                  overrides: Mapping[str, Mapping] | None = None,
                  notebooks: Sequence[str] = NOTEBOOKS, root=None, kernel_name: str | None = None,
                  progress: bool = True, log_output: bool = False) -> dict[str, float]:
    """Execute the numbered notebooks in order with papermill.

    Parameters
    ----------
    run_dir : the run directory the notebooks share (relative to the root or
        absolute); executed copies go to ``RUN/notebooks/<name>.ipynb``
    parameters : parameters for every notebook, e.g. ``{"demo_dir": "demo"}``;
        each notebook gets those it declares (``run_dir`` always)
    overrides : notebook name -> parameters for that notebook only, e.g.
        ``{"02_training": {"pretrain_epochs": 1}}``
    notebooks : which notebooks, in order (default all of :data:`NOTEBOOKS`)
    root : the repository (default :func:`project_root`)
    kernel_name : Jupyter kernel (default: the notebook's, ``python3``)
    progress, log_output : papermill's cell progress bar and cell output logging

    Returns
    -------
    dict notebook name -> seconds, also written to ``RUN/notebooks/timings.json``.

    Raises
    ------
    papermill.PapermillExecutionError
        When a cell fails; the partly executed copy is kept as
        ``RUN/notebooks/<name>.failed.ipynb``.
    """
    import papermill

    root = project_root(root)
    run = Run(Path(run_dir) if Path(run_dir).is_absolute() else root / run_dir)
    out_dir = run.notebooks
    out_dir.mkdir(parents=True, exist_ok=True)
    overrides = dict(overrides or {})
    unknown = [k for k in overrides if k not in NOTEBOOKS]
    if unknown:
        raise ValueError(f"overrides for unknown notebook(s) {', '.join(unknown)}; "
                         f"choose from {', '.join(NOTEBOOKS)}")
    timings: dict[str, float] = {}
    for name in notebooks:
        declared = notebook_parameters(name, root)
        given = {"run_dir": str(run_dir), **dict(parameters or {})}
        params = {k: v for k, v in given.items() if k in declared}
        params.update(overrides.get(name, {}))
        target = out_dir / f"{name}.ipynb"
        t0 = time.perf_counter()
        with atomic_path(target, suffix=".ipynb") as partial:  # a FIFO or folder there is refused
            try:
                papermill.execute_notebook(str(notebook_path(name, root)), str(partial), parameters=params,
                                           kernel_name=kernel_name, progress_bar=progress,
                                           log_output=log_output, cwd=str(root))
            except BaseException:
                if partial.exists() and partial.stat().st_size:  # papermill wrote a partial copy
                    os.replace(partial, output_target(out_dir / f"{name}.failed.ipynb"))
                raise
        (out_dir / f"{name}.failed.ipynb").unlink(missing_ok=True)
        timings[name] = round(time.perf_counter() - t0, 1)
        atomic_write_json(out_dir / S.NOTEBOOK_TIMINGS_FILE, timings)
        run.register("notebooks", [target, out_dir / S.NOTEBOOK_TIMINGS_FILE])
    return timings


def written_files(since: float, *folders) -> pd.DataFrame:
    """Files under ``folders`` modified at or after ``since`` (a ``time.time()``).

    Returns
    -------
    DataFrame with columns ``file`` (path as given plus the relative part),
    ``bytes``, sorted by path; hidden files and ``checkpoints/`` contents
    are left out.
    """
    rows = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for p in sorted(folder.rglob("*")):
            rel = p.relative_to(folder)
            if (p.is_file() and p.stat().st_mtime >= since - 1 and not p.name.startswith(".")
                    and S.CHECKPOINT_DIR not in rel.parts):
                rows.append({"file": str(folder / rel), "bytes": p.stat().st_size})
    return pd.DataFrame(rows, columns=["file", "bytes"])


def prepare_demo(demo_dir, run_dir, seed: int = 0, cell_line: str | None = None, split: str = "random",
                 augment: int | None = None, progress: bool = False, **demo_options):
    """Write the synthetic demo and prepare one of its cell lines, as ``make demo`` does.

    :func:`speidlib.demo.make_demo` into ``demo_dir`` (``demo_options`` go to
    it), then :func:`speidlib.data.dataset.prepare` of ``cell_line`` (default: the
    first) into ``run_dir`` with the demo's recommended windows and
    augmentation (:class:`speidlib.demo.DemoInfo`; ``augment`` overrides it)
    and ``seed``.

    Returns
    -------
    DemoInfo
    """

    info = make_demo(demo_dir, seed=seed, **demo_options)
    cell = cell_line or info.cell_lines[0]
    prepare(PrepareConfig(pairs=str(info.pairs_path(cell)), genome=str(info.genome), split=split,
                          enhancer_window=info.enhancer_window, promoter_window=info.promoter_window,
                          augment=info.augment if augment is None else augment, seed=seed), run_dir,
            progress=progress, overwrite=True)
    return info


def notebook_setup(run_dir, tensorflow: bool = True) -> tuple[Path, float]:
    """The first lines of every numbered notebook, in one call.

    Imports TensorFlow without its start-up log (``tensorflow=False``: not at
    all, for a notebook that never loads it; see
    :func:`speidlib.runtime.import_tensorflow_quietly`), prints the GPU TensorFlow sees when there is
    one, moves to the project root (so relative paths mean what they mean on
    the command line), sets pandas' display options, and starts the
    notebook's clock.

    Returns
    -------
    run : Path of ``run_dir``
    started : ``time.time()`` at the call, for the notebook's timing line
    """
    if tensorflow:
        line = gpu_line()
        if line:
            print(line)
    os.chdir(project_root())
    pd.set_option("display.precision", 3)
    pd.set_option("display.max_colwidth", 100)
    return Path(run_dir), time.time()


def example_run(root=None) -> Path:
    """The committed example run, ``ROOT/examples/demo_cpu`` (may be missing in a partial copy)."""
    return project_root(root) / EXAMPLE_RUN


def reuse_trained_model(run_dir, source, options: TrainOptions | None = None, **changes) -> str:
    """Copy the model ``source`` trained into ``run_dir`` when it was trained there the same way.

    The same way means: ``source`` trained on a dataset with the content hash
    of ``run_dir``'s ``dataset.h5`` (``config.json``, ``prepare.dataset_sha256``),
    and with the parameters ``options`` (a :class:`speidlib.train.options.TrainOptions`,
    its fields replaced by ``changes``: what :func:`speidlib.train.stages.train_run`
    would be given) resolve to: every recorded option of ``TrainOptions`` the record holds, the
    preset compared whole (the one provenance check, :func:`speidlib.run.provenance_reason`).
    Then ``model.keras``, ``history.csv``, the initial kernels and the ``train``
    record are copied, and ``evaluate``/``motifs`` accept the model as this run's.

    Returns
    -------
    str : "" when the model was copied, else the reason it was not (one sentence).
    """
    mine, theirs = Run(run_dir), Run(source)
    try:
        dataset, train = mine.dataset_sha256(), theirs.record("train", missing_ok=False)
    except ValueError as e:
        return str(e)
    if train.status != "done" or not theirs.model.exists():
        return f"{theirs.path} holds no finished training run"
    if not dataset:
        return f"{mine.config_file} records no dataset hash"
    recorded = recorded_parameters(train.to_dict())
    wanted = {k: v for k, v in (options or TrainOptions()).replace(**changes).parameters().items() if k in recorded}
    recorded["dataset_sha256"] = train.dataset_sha256 or "not recorded"
    why = provenance_reason(str(theirs.model), _named_preset(recorded), {"dataset_sha256": dataset},
                            _named_preset(wanted))
    if why:
        return why
    for name in _TRAINED_FILES:
        if (theirs.path / name).exists():
            shutil.copy2(theirs.path / name, mine.path / name)
    train.extra["reused_from"] = str(theirs.path)
    mine.write_record(train)
    return ""


def _named_preset(parameters: dict) -> dict:
    """The preset compared whole, named in the sentence by its name."""
    if not isinstance(parameters.get("preset"), dict):
        return parameters
    return {**parameters, "preset": _PresetByName(parameters["preset"])}


class _PresetByName(dict):
    """A preset's dict that compares whole and prints as its name (and what differs from the
    preset of that name now)."""

    def __repr__(self) -> str:
        named = PRESETS.get(self.get("name"))
        now = named.to_dict() if named is not None else {}
        changed = [f"{k}={v!r}" for k, v in self.items() if k in now and now[k] != v]
        return repr(self.get("name")) + (f" with {', '.join(changed)}" if changed else "")


def reuse_example_motifs(run_dir, source, config) -> str:
    """Copy ``source``'s ``motifs/`` into ``run_dir`` when ``speid motifs`` would write the same.

    The same means (:func:`speidlib.run.provenance_reason`): the two runs' ``model.keras``
    files are identical (notebook 02 copied it with :func:`reuse_trained_model`),
    their datasets have the same content hash, and ``source`` recorded the motif
    parameters of ``config`` (a :class:`speidlib.interpret.report.MotifsConfig`;
    ``config.json``, ``"motifs"``). Then ``motifs/`` is copied (replacing the
    run's) and the ``motifs`` record says where it came from.

    Returns
    -------
    str : "" when the motifs were copied, else the reason they were not (one sentence).
    """
    mine, theirs = Run(run_dir), Run(source)
    try:
        recorded = theirs.record("motifs", missing_ok=False)
        inputs = {"dataset_sha256": mine.dataset_sha256(), "model_sha256": mine.model_sha256()}
        made_from = {"dataset_sha256": theirs.dataset_sha256(), "model_sha256": theirs.model_sha256()}
    except ValueError as e:
        return str(e)
    if not theirs.motif_summary.exists():
        return f"{theirs.path} holds no motifs"
    for run, hashes in ((mine, inputs), (theirs, made_from)):
        if not all(hashes.values()):
            return f"{run.path} holds no trained model of a recorded dataset"
    why = provenance_reason(str(theirs.motifs), {**recorded.parameters(), **made_from},
                            inputs, config.record())
    if why:
        return why
    t0 = time.time()
    staging = mine.path / f".{S.MOTIFS_DIR}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(theirs.motifs, staging, copy_function=shutil.copy)  # new times: 'written now'
    shutil.rmtree(mine.motifs, ignore_errors=True)
    staging.rename(mine.motifs)
    mine.register_since("motifs", mine.motifs, t0, inputs["model_sha256"])
    mine.write_record(dataclasses.replace(recorded, reused_from=str(theirs.path),
                                          model_sha256=inputs["model_sha256"]))
    return ""
