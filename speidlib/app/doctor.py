"""``speid doctor``: is this machine ready for a run? One table, a non-zero exit on a blocking problem.

Each check gives one row of :class:`Check` (``ok``, ``warn``, ``FAIL`` or
``info``); any ``FAIL`` makes ``speid doctor`` exit 1. The rows:

- versions: Python, the workbench, TensorFlow, Keras and the packages a run
  records (:func:`speidlib.io.package_versions`), each against the range the
  installed ``speidlib`` pins;
- devices: the GPUs TensorFlow sees (:func:`gpu_devices`), whether the
  preset's bidirectional LSTM meets the conditions of Keras' fused cuDNN kernel
  (:func:`cudnn_eligible`), and whether mixed precision has tensor cores to run
  on (compute capability 7.0 or more);
- Chromium (``/usr/bin/chromium``) for the browser tests;
- with ``--genome`` (and ``--pairs``): the FASTA's ``.fai`` index, its assembly,
  and every pair's chromosome and coordinates against it ("1" against "chr1"
  is named);
- free disk at ``--run`` and memory against :func:`estimate_run`, the
  estimated size of a run of the preset on the pair table (or, without
  ``--pairs``, on K562's counts in the preprint's Table 1);
- a measured seconds per step of the preset on this machine
  (:func:`measure_steps`: a few stage-1 training steps, forward passes and
  stage-2 head steps after a warm-up), scaled to one stage-1 epoch and to the
  preset's whole schedule as ``benchmarks/bench_cost.py`` does (81% of the
  pairs train, 9% validate; stage 2 is one forward pass for the frozen
  features plus the head's epochs on them).
"""
from __future__ import annotations

import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from speidlib import schema
from speidlib.data.assembly import identify_assembly
from speidlib.data.dataset import PrepareConfig
from speidlib.data.genome import Genome
from speidlib.data.pairs import element_index, read_pairs
from speidlib.io import package_versions
from speidlib.model.build import build_model, split_model
from speidlib.model.presets import ModelConfig, get_config
from speidlib.train.options import TrainOptions

OK, WARN, FAIL, INFO = "ok", "warn", "FAIL", "info"
CHROMIUM = "/usr/bin/chromium"
TRAIN_SHARE, VALID_SHARE = 0.9 * 0.9, 0.9 * 0.1   # prepare's defaults: 10% test, 10% of the rest validation
FEATURES_IN_MEMORY_BYTES = 2 << 30                 # stage 2 keeps features in memory up to 2 GiB (train.stages)
MIXED_PRECISION_CC = (7, 0)                        # tensor cores: Volta and later
GiB = 1 << 30


@dataclass(frozen=True)
class Check:
    """One row of the table: what was checked, its status and what was found."""

    name: str
    status: str
    detail: str


@dataclass(frozen=True)
class TableStats:
    """What the size and time of a run depend on in a pair table."""

    label: str
    n_pairs: int
    n_positive: int
    n_enhancers: int
    n_promoters: int


# --- versions ---------------------------------------------------------------------------

def pinned_ranges() -> dict[str, str]:
    """The version range the installed ``speidlib`` pins for each dependency (name -> specifier)."""
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.requirements import Requirement

    try:
        reqs = [Requirement(r) for r in requires("speidlib") or []]
    except PackageNotFoundError:
        return {}
    return {r.name.lower(): ",".join(sorted(map(str, r.specifier), key=lambda s: s[0] != ">"))
            for r in reqs if r.marker is None}


def version_checks() -> list[Check]:
    """Python, the workbench and the key packages, each against its pinned range."""
    from packaging.specifiers import SpecifierSet

    py = platform.python_version()
    rows = [Check("Python", OK if sys.version_info[:2] == (3, 11) else FAIL,
                  f"{py}" + ("" if sys.version_info[:2] == (3, 11) else " (the workbench needs 3.11)"))]
    ranges = pinned_ranges()
    versions = package_versions()
    rows.append(Check("speidlib", OK if versions["speidlib"] else WARN,
                      versions["speidlib"] or "not installed as a package (pip install -e .)"))
    for name, found in versions.items():
        if name == "speidlib":
            continue
        spec = ranges.get(name)
        if found is None:
            rows.append(Check(name, FAIL, f"not installed (pinned {spec or 'by pyproject.toml'})"))
        elif spec and found not in SpecifierSet(spec):
            rows.append(Check(name, FAIL, f"{found}, outside the pinned {spec}"))
        else:
            rows.append(Check(name, OK, found + (f" (pinned {spec})" if spec else "")))
    return rows


# --- devices ----------------------------------------------------------------------------

def gpu_devices() -> list[dict]:
    """The GPUs TensorFlow sees: ``name``, ``device_name`` and ``compute_capability`` (a tuple or None)."""
    import tensorflow as tf

    out = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        out.append({"name": device.name, "device_name": details.get("device_name", "GPU"),
                    "compute_capability": details.get("compute_capability")})
    return out


def cudnn_eligible(config: ModelConfig) -> tuple[bool, str]:
    """Does the preset's BiLSTM meet the conditions of Keras' fused cuDNN LSTM kernel?

    Keras (``keras.layers.LSTM``) uses cuDNN on a GPU when the activation is
    tanh, the gates sigmoid, there is no recurrent dropout, the layer is not
    unrolled, has a bias and receives no mask; the workbench's LSTM is built
    with the others fixed, so the gate activation decides
    (``tests/test_gpu_ready.py`` checks the built layers against Keras' own test).
    """
    if config.lstm_recurrent_activation == "sigmoid":
        return True, "tanh, sigmoid gates, no recurrent dropout, not unrolled, with bias, no mask"
    return False, (f"gates {config.lstm_recurrent_activation}, which cuDNN does not implement: "
                   "TensorFlow's generic per-time-step loop runs instead, several times slower")


def device_checks(config: ModelConfig, gpus: list[dict]) -> list[Check]:
    """GPUs, the cuDNN LSTM on them and mixed precision, for ``config``'s preset."""
    eligible, why = cudnn_eligible(config)
    big = config.n_kernels >= 512
    if not gpus:
        return [
            Check("devices", WARN if big else OK,
                  "CPU only: TensorFlow sees no GPU" + (f" (the {config.name} preset is GPU work: "
                                                        "see the time estimate below)" if big else "")),
            Check("cuDNN LSTM", INFO, f"no GPU; on one the {config.name} BiLSTM "
                  + ("would run cuDNN kernels" if eligible else "would not run cuDNN kernels") + f" ({why})"),
            Check("mixed precision", INFO, "no GPU: --mixed-precision is ignored on the CPU"),
        ]
    names = "; ".join(f"{g['name']} {g['device_name']}"
                      + (f" (compute capability {g['compute_capability'][0]}.{g['compute_capability'][1]})"
                         if g.get("compute_capability") else "") for g in gpus)
    rows = [Check("devices", OK, f"{len(gpus)} GPU(s): {names}")]
    rows.append(Check("cuDNN LSTM", OK if eligible else WARN,
                      (f"yes: the {config.name} BiLSTM runs cuDNN kernels ({why})" if eligible
                       else f"no: the {config.name} BiLSTM has {why}")))
    old = [g["name"] for g in gpus if not g.get("compute_capability")
           or tuple(g["compute_capability"]) < MIXED_PRECISION_CC]
    rows.append(Check("mixed precision", WARN if old else OK,
                      f"no tensor cores on {', '.join(old)} (compute capability below 7.0): "
                      "float16 runs but gains little" if old
                      else "float16 on tensor cores (compute capability 7.0 or more): "
                      "`speid train --mixed-precision`"))
    return rows


def chromium_check(path: str = CHROMIUM) -> Check:
    """Debian's Chromium, which the browser tests drive (``make test`` installs it)."""
    if not Path(path).is_file():
        return Check("chromium", WARN, f"{path} missing: the browser tests skip "
                     "(`make test` installs it with apt-get)")
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
        found = done.stdout.strip() or done.stderr.strip().splitlines()[-1]
    except (OSError, subprocess.TimeoutExpired, IndexError) as e:
        return Check("chromium", WARN, f"{path} does not run ({type(e).__name__})")
    return Check("chromium", OK, found)


# --- the genome and the pair table -------------------------------------------------------

def table_stats(pairs: pd.DataFrame, label: str) -> TableStats:
    """Pairs, positives and distinct elements (by coordinates) of a pair table."""
    return TableStats(label, len(pairs), int((pairs[schema.LABEL] == 1).sum()),
                      len(element_index(pairs, "enhancer")[0]), len(element_index(pairs, "promoter")[0]))


def reference_stats(cell: str = "K562") -> TableStats:
    """A TargetFinder table's counts from the preprint's Table 1 (elements: one per pair, an upper bound)."""
    from importlib.resources import files

    counts = pd.read_csv(files("speidlib") / "resources" / "speid_paper" / "table1_counts.csv")
    row = counts.set_index("cell_line").loc[cell]
    n = int(row["positive_pairs"] + row["negative_pairs"])
    return TableStats(f"{cell}, the preprint's Table 1 (give --pairs for your table)", n,
                      int(row["positive_pairs"]), n, n)


def _ucsc_style(names) -> str:
    names = list(names)
    with_chr = sum(str(n).startswith("chr") for n in names)
    return "chr1-style" if with_chr * 2 >= len(names) else "1-style"


def genome_checks(genome_path, pairs: pd.DataFrame | None, pairs_label: str = "the pair table") -> list[Check]:
    """The FASTA's index and assembly, and the pair table's chromosomes and coordinates against it."""
    fai = Path(str(genome_path) + ".fai")
    had_index = fai.exists()
    try:
        genome = Genome(genome_path)
    except ValueError as e:
        return [Check("genome", FAIL, str(e))]
    with genome:
        sizes = genome.chrom_sizes
        where = "beside the FASTA" if genome.index_path == fai else f"in {genome.index_path.parent}"
        rows = [Check("genome index", OK, f"{genome.index_path.name} {where}, {len(sizes)} sequences"
                      + ("" if had_index or genome.index_path != fai else " (built now)")),
                Check("genome assembly", INFO, f"{identify_assembly(sizes)} (read from the chromosome "
                      f"lengths), {_ucsc_style(sizes)} names")]
        if pairs is None:
            return rows
        chroms = pd.unique(pairs[schema.CHROM].astype(str))
        missing = sorted(set(chroms) - set(sizes))
        if missing:
            hint = ""
            if _ucsc_style(missing) != _ucsc_style(sizes):
                hint = (f": {pairs_label} names chromosomes {_ucsc_style(missing)} and the genome "
                        f"{_ucsc_style(sizes)}")
            have = ", ".join(list(sizes)[:5])
            rows.append(Check("chromosome names", FAIL, f"{len(missing)} of {len(chroms)} chromosomes of "
                              f"{pairs_label} are not in the genome ({', '.join(missing[:5])}"
                              f"{', ...' if len(missing) > 5 else ''}; it has {have}, ...){hint}"))
            return rows
        rows.append(Check("chromosome names", OK, f"all {len(chroms)} chromosomes of {pairs_label} "
                          "are in the genome"))
        outside = np.zeros(len(pairs), dtype=bool)
        for branch in schema.BRANCHES:
            outside |= genome.outside(pairs[schema.CHROM].astype(str).to_numpy(),
                                      pairs[f"{branch}_start"].to_numpy(), pairs[f"{branch}_end"].to_numpy())
        if outside.any():
            first = pairs[outside].iloc[0]
            rows.append(Check("coordinates", FAIL, f"{int(outside.sum())} pairs have an element past its "
                              f"chromosome's end (first on {first[schema.CHROM]}): another assembly?"))
        else:
            rows.append(Check("coordinates", OK, f"every element of the {len(pairs):,} pairs lies within "
                              "its chromosome"))
    return rows


# --- size of a run -------------------------------------------------------------------------

def features_per_example(config: ModelConfig, enhancer_window: int, promoter_window: int) -> int:
    """Floats per pair of the stage-2 features (the BiLSTM output, flattened)."""
    steps = sum((w - config.kernel_size + 1) // config.pool_width(w) for w in (enhancer_window, promoter_window))
    return 2 * config.lstm_units * (steps if config.lstm_return_sequences else 1)


def estimate_run(config: ModelConfig, stats: TableStats, enhancer_window: int, promoter_window: int,
                 augment: int, n_params: int) -> dict:
    """Estimated bytes of a run (an estimate from the layouts, not a measurement).

    ``dataset.h5`` holds each distinct element once as int8 codes of twice its
    window, plus per-pair rows and the shifts; ``model.keras`` the float32
    weights; ``checkpoints/`` the weights, the best weights and Adam's two
    moments; stage 2's frozen features are float32 per training and validation
    pair, in memory up to 2 GiB and on disk above.

    Returns
    -------
    dict of bytes: ``dataset``, ``model``, ``checkpoints``, ``features``,
    ``disk`` (all written files, peak) and ``memory`` (what training holds
    besides TensorFlow and the model's activations: the dataset's codes, and
    the features when they stay in memory)
    """
    codes = stats.n_enhancers * 2 * enhancer_window + stats.n_promoters * 2 * promoter_window
    dataset = codes + stats.n_pairs * 64 + stats.n_positive * augment * 24
    model = 4 * n_params
    checkpoints = 4 * model
    features = int((TRAIN_SHARE + VALID_SHARE) * stats.n_pairs) * 4 * features_per_example(
        config, enhancer_window, promoter_window)
    on_disk = features > FEATURES_IN_MEMORY_BYTES
    return {"dataset": dataset, "model": model, "checkpoints": checkpoints, "features": features,
            "disk": dataset + model + checkpoints + (features if on_disk else 0) + stats.n_pairs * 200,
            "memory": codes + (0 if on_disk else features)}


def _free_disk(path: Path) -> int:
    path = path.resolve()
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free


def _memory() -> tuple[int, int]:
    """(total, available) bytes of memory, from /proc/meminfo where there is one."""
    try:
        info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        kb = {k: int(v.split()[0]) * 1024 for k, v in info.items() if k in ("MemTotal", "MemAvailable")}
        return kb["MemTotal"], kb["MemAvailable"]
    except (OSError, KeyError, ValueError):
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        return total, total


def resource_checks(estimate: dict, run_dir, peak_rss: int | None, stats: TableStats) -> list[Check]:
    """Free disk at ``run_dir`` and memory against :func:`estimate_run` (plus the measured peak RSS)."""
    free = _free_disk(Path(run_dir))
    need = estimate["disk"]
    disk_status = FAIL if need > free else WARN if need > 0.8 * free else OK
    rows = [Check("disk", disk_status, f"a run needs about {need / GiB:.2f} GiB (dataset "
                  f"{estimate['dataset'] / GiB:.2f}, model + checkpoints "
                  f"{(estimate['model'] + estimate['checkpoints']) / GiB:.2f}"
                  + (f", features {estimate['features'] / GiB:.2f}" if estimate["features"]
                     > FEATURES_IN_MEMORY_BYTES else "")
                  + f"); {free / GiB:.1f} GiB free at {run_dir} [{stats.label}]")]
    total, available = _memory()
    need = estimate["memory"] + (peak_rss or 0)
    mem_status = FAIL if need > total else WARN if need > available else OK
    rows.append(Check("memory", mem_status, f"training holds about {need / GiB:.2f} GiB (dataset codes"
                      + (", stage-2 features" if estimate["features"] <= FEATURES_IN_MEMORY_BYTES else "")
                      + (f", and {peak_rss / GiB:.2f} GiB measured for TensorFlow and one batch"
                         if peak_rss else "; the step measurement was skipped")
                      + f"); {available / GiB:.1f} of {total / GiB:.1f} GiB available"))
    return rows


# --- time of a run ------------------------------------------------------------------------

def measure_steps(config: ModelConfig, enhancer_window: int, promoter_window: int, steps: int = 2,
                  mixed_precision: bool = False) -> dict:
    """Seconds per stage-1 training step, forward pass and stage-2 head step, on random batches.

    One warm-up call of each (tracing), then ``steps`` timed calls, on the
    device TensorFlow picks (a GPU when it sees one), at the preset's batch
    size, Adam at the preset's learning rate.

    Returns
    -------
    dict: ``train_step_s``, ``forward_s``, ``head_step_s``, ``n_params`` and
    ``peak_rss`` (bytes, the process's peak resident memory after the steps)
    """
    import keras

    before = keras.mixed_precision.global_policy().name
    if mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_model(config, enhancer_window, promoter_window, jaspar_init=False)
    finally:
        keras.mixed_precision.set_global_policy(before)
    features, head = split_model(model)
    b = config.batch_size
    rng = np.random.default_rng(0)
    x = [np.eye(4, dtype=np.float32)[rng.integers(0, 4, (b, w))] for w in (enhancer_window, promoter_window)]
    y = rng.integers(0, 2, b).astype(np.float32)
    f = rng.standard_normal((b, *features.output.shape[1:])).astype(np.float32)

    def timed(call) -> float:
        call()
        t0 = time.perf_counter()
        for _ in range(steps):
            call()
        return (time.perf_counter() - t0) / steps

    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="binary_crossentropy")
    train_s = timed(lambda: model.train_on_batch(x, y))
    forward_s = timed(lambda: model.predict_on_batch(x))
    head.compile(optimizer=keras.optimizers.Adam(config.retrain_learning_rate or config.learning_rate),
                 loss="binary_crossentropy")
    head_s = timed(lambda: head.train_on_batch(f, y))
    return {"train_step_s": train_s, "forward_s": forward_s, "head_step_s": head_s,
            "n_params": model.count_params(),
            "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def schedule(config: ModelConfig, stats: TableStats, augment: int, step: dict) -> dict:
    """Seconds of one stage-1 epoch and of the preset's whole schedule (``bench_cost``'s arithmetic).

    A stage-1 epoch trains on the balanced set (each positive's ``augment``
    shifted copies and every negative, or as many negatives as copies for
    ``pretrain_negatives="match"``) and scores its validation share once;
    stage 2 computes the frozen features once (a forward pass over the
    training and validation pairs) and trains the head on them for the
    preset's stage-2 epochs. Early stopping can end either stage sooner:
    the schedule is an upper bound.
    """
    shifted = stats.n_positive * augment
    negatives = shifted if config.pretrain_negatives == "match" else stats.n_pairs - stats.n_positive
    balanced = shifted + negatives
    b = config.batch_size
    epoch = (math.ceil(TRAIN_SHARE * balanced / b) * step["train_step_s"]
             + math.ceil(VALID_SHARE * balanced / b) * step["forward_s"])
    kept = (TRAIN_SHARE + VALID_SHARE) * stats.n_pairs
    stage2 = (math.ceil(kept / b) * step["forward_s"]
              + config.retrain_epochs * math.ceil(TRAIN_SHARE * stats.n_pairs / b) * step["head_step_s"])
    return {"epoch_s": epoch, "stage1_s": config.pretrain_epochs * epoch, "stage2_s": stage2,
            "total_s": config.pretrain_epochs * epoch + stage2}


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def timing_checks(config: ModelConfig, stats: TableStats, augment: int, step: dict, where: str) -> list[Check]:
    plan = schedule(config, stats, augment, step)
    return [
        Check("seconds per step", INFO, f"{step['train_step_s']:.3f} s per training step, "
              f"{step['forward_s']:.3f} s per forward pass, {step['head_step_s']:.4f} s per stage-2 head "
              f"step (batch {config.batch_size}, {config.name} preset, measured on {where})"),
        Check("one epoch", INFO, f"stage 1: {_hours(plan['epoch_s'])} per epoch [{stats.label}]"),
        Check("whole schedule", INFO, f"{_hours(plan['total_s'])}: {config.pretrain_epochs} stage-1 epochs "
              f"{_hours(plan['stage1_s'])} + stage 2 {_hours(plan['stage2_s'])} ({config.retrain_epochs} "
              "head epochs on cached features); early stopping can end sooner"),
    ]


# --- the whole check ------------------------------------------------------------------------

@dataclass
class DoctorOptions:
    """The options of ``speid doctor``."""

    preset: str = TrainOptions.preset          # the defaults of `speid train` and `speid prepare`
    genome: str | None = None
    pairs: str | None = None
    run: str = "."
    enhancer_window: int = PrepareConfig.enhancer_window
    promoter_window: int = PrepareConfig.promoter_window
    augment: int = PrepareConfig.augment
    steps: int = 2
    timing: bool = True
    mixed_precision: bool = False


def run_doctor(options: DoctorOptions) -> list[Check]:
    """Every check for ``options``; the rows of the table, in order."""
    config = get_config(options.preset)
    rows = version_checks()
    rows += device_checks(config, gpu_devices())
    rows.append(chromium_check())
    pairs = None
    if options.pairs:
        try:
            pairs = read_pairs(options.pairs)
        except (ValueError, OSError) as e:
            rows.append(Check("pair table", FAIL, " ".join(str(e).split())))
        else:
            rows.append(Check("pair table", OK, f"{options.pairs}: {len(pairs):,} pairs, "
                              f"{int((pairs[schema.LABEL] == 1).sum()):,} positive"))
    if options.genome:
        rows += genome_checks(options.genome, pairs, options.pairs or "the pair table")
    elif pairs is not None:
        rows.append(Check("genome", INFO, "no --genome: chromosome names not checked"))
    stats = table_stats(pairs, Path(options.pairs).name) if pairs is not None else reference_stats()
    step = None
    if options.timing:
        step = measure_steps(config, options.enhancer_window, options.promoter_window, options.steps,
                             options.mixed_precision)
        n_params = step["n_params"]
    else:
        n_params = build_model(config, options.enhancer_window, options.promoter_window,
                               jaspar_init=False).count_params()
    estimate = estimate_run(config, stats, options.enhancer_window, options.promoter_window,
                            options.augment, n_params)
    rows += resource_checks(estimate, options.run, step and step["peak_rss"], stats)
    if step:
        gpus = gpu_devices()
        where = gpus[0]["name"] if gpus else "the CPU"
        rows += timing_checks(config, stats, options.augment, step,
                              where + (", mixed precision" if options.mixed_precision and gpus else ""))
    return rows


def format_table(rows: list[Check]) -> str:
    """The checks as one plain-text table (check, status, detail)."""
    width = max(len(r.name) for r in rows)
    lines = [f"{'check':{width}s}  status  detail", f"{'-' * width}  ------  {'-' * 40}"]
    lines += [f"{r.name:{width}s}  {r.status:6s}  {r.detail}" for r in rows]
    blocking = sum(r.status == FAIL for r in rows)
    lines.append(f"{blocking} blocking problem(s)" if blocking else "no blocking problem")
    return "\n".join(lines)
