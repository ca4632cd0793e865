"""How many positives does a recipe need? The learning curve on planted grammars (issue 26).

One *job* is one point of the curve: a demo grammar written with ``npos``
positives at 1:20 (:func:`speidlib.demo.make_demo`, ``n_pairs = 21 * npos``),
prepared with the demo's windows and shifts, trained from random kernels with
a *recipe* (the ``cpu`` preset with some fields replaced), evaluated on its
held-out test pairs, and its kernels run through ``speid motifs`` with the
null. Beside the model, on the same test pairs: the k-mer baseline (reads
sequence, no pairing grammar beyond what k-mer counts carry) and the pair
oracle (knows both elements' planted classes: the ceiling of the grammar).
The learned-TF calls are compared with the planted (TF, branch) pairs.

Grammars (:data:`GRAMMARS`):

* ``demo``: the default demo's grammar (4 classes, 8 planted TFs);
* ``g2``: the second grammar of ``scripts/motif_ground_truth.py`` (3 classes,
  CTCF, ZNF343, ZFP42 in enhancers, RFX4, PROX1, ZNF85 in promoters);
* ``hard``: the default grammar with 15% of positives drawn like negatives
  (their elements need not carry the grammar), 1-4 sites per element instead
  of 3-6, and 15% of each site's bases replaced at random.

Replicate ``r`` of a point draws its own tables (demo seed ``base + 10 r``)
and trains with seed ``r``. One JSON per job goes to
``ROOT/jobs/<grammar>_<recipe>_<npos>_<r>.json``; :func:`report` gathers them
into ``ROOT/learning_curve.csv``, ``.md`` and ``.png``.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from speidlib import schema
from speidlib.app.notebooks import prepare_demo
from speidlib.data.dataset import Dataset
from speidlib.demo.oracles import oracle_aurocs
from speidlib.demo.synthetic import load_demo
from speidlib.evaluate.baselines import run_pair_baselines
from speidlib.evaluate.heldout import run_evaluate
from speidlib.interpret.report import run_motifs
from speidlib.io import atomic_path, atomic_write_json, atomic_write_text
from speidlib.model.presets import get_config
from speidlib.run import Run
from speidlib.train.small_tables import CPU_V2_FIELDS, SMALL_TABLE_FIELDS, SMALL_TABLE_RECIPE
from speidlib.train.stages import train_run

GRAMMARS: dict[str, dict] = {
    "demo": dict(seed=0),
    "g2": dict(seed=1, n_classes=3, n_shared_classes=3,
               planted_motifs=(("MA0139.2", "MA0799.3"), ("MA1711.2", "MA0794.1"),
                               ("MA1651.2", "MA1720.2"))),
    "hard": dict(seed=2, positive_noise=0.15, motif_copies=(1, 4), site_noise=0.15),
    # the null: the demo's genome and elements, every positive drawn like a negative, so the labels
    # say nothing the sequence holds (a recipe's AUROC should sit at 0.5 and it should call no TF)
    "null": dict(seed=0, positive_noise=1.0),
}
POSITIVES = (250, 500, 1000, 2000, 5000)
NEGATIVES_PER_POSITIVE = 20

#: recipes: fields of the ``cpu`` preset replaced. ``cpu_v1`` is the preset as it was
#: before issue 26 (the ablation's starting point), ``cpu_v2`` as it was until the small-table
#: recipe became the preset (the curve's ``cpu`` rows of stops 33-35 are renamed ``cpu_v2``);
#: each ablation entry adds one change to ``cpu_v2``.
RECIPES: dict[str, dict] = {
    "cpu_v1": dict(CPU_V2_FIELDS, swap_negatives=0.0),
    "cpu_v2": dict(CPU_V2_FIELDS),
    # the preset as it is now: the small-table recipe below
    "cpu": {},
    # the ablation: reverse-complement windows and shifts redrawn every epoch ...
    "cpu_rc": dict(CPU_V2_FIELDS, rc_augment=True, redraw_shifts=True),
    # ... and at least 16,000 stage-1 examples per epoch (250 steps of 64)
    "cpu_rcx": dict(CPU_V2_FIELDS, rc_augment=True, redraw_shifts=True, epoch_examples=16_000),
    # ... and a longer stage 1 (30 epochs, patience 6)
    "cpu_rcx_long": dict(CPU_V2_FIELDS, rc_augment=True, redraw_shifts=True, epoch_examples=16_000,
                         pretrain_epochs=30, patience=6),
    # ... and half the negatives partner swaps
    "cpu_rcx_swap": dict(CPU_V2_FIELDS, rc_augment=True, redraw_shifts=True, epoch_examples=16_000,
                         swap_negatives=0.5),
    # ... and each branch max-pooled over its whole window (which motifs a window holds, not where:
    # far fewer features to spell an element's identity with): the small-table recipe, the ``cpu``
    # preset since then. The records of stop 35 ran it as pool_size=981, the same network at 1 kb
    # windows (1000 - 20 + 1)
    SMALL_TABLE_RECIPE: dict(SMALL_TABLE_FIELDS),
}

#: what the figure's legend adds to a recipe's name
LEGEND = {SMALL_TABLE_RECIPE: " (the cpu preset)", "cpu_v2": " (the preset before)"}


@dataclasses.dataclass(frozen=True)
class Job:
    """One point of the curve: grammar, recipe, positives and replicate."""

    grammar: str
    recipe: str
    npos: int
    replicate: int

    @property
    def name(self) -> str:
        return f"{self.grammar}_{self.recipe}_{self.npos}_{self.replicate}"

    @classmethod
    def parse(cls, text: str) -> "Job":
        """``grammar:recipe:npos:replicate``."""
        try:
            g, r, n, k = text.split(":")
            job = cls(g, r, int(n), int(k))
        except ValueError:
            raise ValueError(f"a job is grammar:recipe:positives:replicate, got {text!r}") from None
        job.check()
        return job

    def check(self) -> None:
        if self.grammar not in GRAMMARS:
            raise ValueError(f"unknown grammar {self.grammar!r}; choose from {', '.join(GRAMMARS)}")
        if self.recipe not in RECIPES:
            raise ValueError(f"unknown recipe {self.recipe!r}; choose from {', '.join(RECIPES)}")
        if self.npos < 20 or self.replicate < 0:
            raise ValueError(f"positives must be at least 20 and the replicate >= 0, got {self}")


def recipe_config(recipe: str):
    """The :class:`speidlib.model.presets.ModelConfig` of a recipe."""

    return get_config("cpu").replace(**RECIPES[recipe], name="cpu")


def demo_options(grammar: str, npos: int, replicate: int) -> dict:
    """``make_demo`` options of one point."""
    opts = dict(GRAMMARS[grammar])
    opts["seed"] = opts["seed"] + 10 * replicate
    opts["n_pairs"] = npos * (1 + NEGATIVES_PER_POSITIVE)
    return opts


def prepared(root: Path, grammar: str, npos: int, replicate: int) -> tuple[Path, Path]:
    """The point's demo folder and prepared base run (built once, shared by recipes)."""

    tag = f"{grammar}_{npos}_{replicate}"
    demo, base = root / "demos" / tag, root / "bases" / tag
    if not Run(base).dataset.exists():
        prepare_demo(demo, base, **demo_options(grammar, npos, replicate))
    return demo, base


def planted_pairs(info) -> set[tuple[str, str]]:
    """The planted (branch, TF) pairs of a demo's first cell line, TF names upper-case."""
    cell = info.cell_lines[0]
    return {(b, getattr(c, f"{b}_tf").upper()) for c in info.classes if cell in c.cell_lines
            for b in schema.BRANCHES}


def learned_calls(tf_summary: pd.DataFrame) -> set[tuple[str, str]]:
    """(branch, TF) pairs that ``speid motifs`` called learned against its null."""
    return {(b, str(t).upper()) for b in schema.BRANCHES
            for t in tf_summary.loc[tf_summary[f"learned_{b}"].astype(bool), "tf"]}


def call_scores(calls: set, planted: set) -> dict:
    """Precision and recall of learned calls against the planted pairs.

    Precision is NaN when nothing was called (no call, no false call).
    """
    hits = calls & planted
    return {"n_calls": len(calls), "n_hits": len(hits), "n_planted": len(planted),
            "precision": len(hits) / len(calls) if calls else float("nan"),
            "recall": len(hits) / len(planted) if planted else float("nan"),
            "false_calls": sorted(f"{b}:{t}" for b, t in calls - planted),
            "missed": sorted(f"{b}:{t}" for b, t in planted - calls)}


def test_oracle(info, dataset) -> float:
    """AUROC of the pair oracle on the run's test pairs (it knows both planted classes)."""

    elements = pd.read_csv(info.elements).set_index("element")["motif_class"]
    test = dataset.pairs[dataset.pairs[schema.SPLIT] == schema.TEST]

    def cls(names):
        return elements.reindex(names.str.split("|").str[-1]).fillna(-1).astype(int).to_numpy()

    cell = info.cell_lines[0]
    return float(oracle_aurocs(test[schema.LABEL].to_numpy(), cls(test[schema.ENHANCER_NAME]),
                               cls(test[schema.PROMOTER_NAME]), info.classes_of(cell))["pair_classes"])


def run_job(root, job: Job, n_bootstrap: int = 200, motifs: bool = True, threads: int | None = 2,
            progress: bool = False) -> dict:
    """Train, evaluate and read the motifs of one point; write and return its record."""

    root = Path(root)
    t0 = time.time()
    demo, base = prepared(root, job.grammar, job.npos, job.replicate)
    info = load_demo(demo)
    run, base = Run(root / "runs" / job.name), Run(base)
    shutil.rmtree(run.path, ignore_errors=True)    # a job's run is its own: made afresh each time
    run.path.mkdir(parents=True)
    shutil.copy(base.dataset, run.dataset)          # the point's prepared dataset and its record
    shutil.copy(base.config_file, run.config_file)
    t_train = time.time()
    train_run(run, preset=recipe_config(job.recipe), seed=job.replicate, threads=threads, random_init=True,
              progress=progress)
    t_train = time.time() - t_train
    metrics = run_evaluate(run, n_bootstrap=n_bootstrap)
    dataset = Dataset(run)
    table, _ = run_pair_baselines(dataset, kmer_k=(1, 2, 3, 4), n_bootstrap=n_bootstrap)
    kmer = table.loc["kmer"]
    history = pd.read_csv(run.history)
    train_pairs = dataset.pairs[dataset.pairs[schema.SPLIT] == schema.TRAIN]
    record = {
        **dataclasses.asdict(job), "job": job.name, "demo_seed": demo_options(job.grammar, job.npos,
                                                                             job.replicate)["seed"],
        "n_pairs": int(len(dataset.pairs)), "n_train_positives": int(train_pairs[schema.LABEL].sum()),
        "n_test": int(metrics["n_test"]), "n_test_positives": int(metrics["n_positive_test"]),
        "auroc": metrics["auroc"], "auroc_ci": metrics["ci"]["auroc"],
        "aupr": metrics["aupr"], "aupr_ci": metrics["ci"]["aupr"],
        "kmer_auroc": float(kmer["auroc"]), "kmer_auroc_ci": list(kmer["ci"]["auroc"]),
        "kmer_aupr": float(kmer["aupr"]),
        "oracle_auroc": test_oracle(info, dataset),
        "pretrain_epochs_run": int((history["stage"] == schema.PRETRAIN).sum()),
        "best_val_auroc": float(history.loc[history["stage"] == schema.PRETRAIN, "val_auroc"].max()),
        "recipe_fields": RECIPES[job.recipe], "train_seconds": round(t_train, 1),
    }
    if motifs:
        run_motifs(run, logos=None, ablation=False, importance=False, progress=False)
        summary = pd.read_csv(run.motif_file(schema.MOTIF_TF_SUMMARY_FILE))
        record.update(call_scores(learned_calls(summary), planted_pairs(info)))
    record["seconds"] = round(time.time() - t0, 1)
    (root / "jobs").mkdir(parents=True, exist_ok=True)
    atomic_write_json(root / "jobs" / f"{job.name}.json", record)
    return record


def load_records(root) -> pd.DataFrame:
    """Every job record under ``ROOT/jobs`` as one table (one row per job)."""
    rows = [json.loads(p.read_text()) for p in sorted(Path(root, "jobs").glob("*.json"))]
    if not rows:
        raise ValueError(f"{Path(root, 'jobs')} holds no job records: run some jobs first")
    return pd.DataFrame(rows)


def read_curve(path) -> pd.DataFrame:
    """A ``learning_curve.csv`` written by :func:`report`, as it was written: the grammar
    ``null`` stays a name (pandas would read it as a missing value) and empty cells are NaN."""
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def summarise(records: pd.DataFrame) -> pd.DataFrame:
    """Median over replicates per (grammar, recipe, positives), with each replicate's AUROC."""
    cols = ["auroc", "aupr", "kmer_auroc", "oracle_auroc", "recall", "precision"]
    cols = [c for c in cols if c in records]
    g = records.groupby(["grammar", "recipe", "npos"])
    out = g[cols].median()
    out["replicates"] = g.size()
    out["auroc_each"] = g["auroc"].apply(lambda s: ", ".join(f"{v:.3f}" for v in s))
    if {"n_calls", "n_hits"} <= set(records):   # summed over replicates (a CSV keeps the counts)
        out["false_calls"] = g["n_calls"].sum() - g["n_hits"].sum()
    return out.reset_index()


def markdown(summary: pd.DataFrame) -> str:
    """The summary as a markdown table (medians over replicates)."""
    head = ("| grammar | recipe | positives | reps | test AUROC (each) | AUPR | k-mer AUROC | pair oracle | "
            "learned recall | precision | false calls |\n|---|---|---|---|---|---|---|---|---|---|---|\n")

    def f(v, d=3):
        return "" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.{d}f}"

    lines = [f"| {r.grammar} | {r.recipe} | {r.npos:,} | {r.replicates} | {f(r.auroc)} ({r.auroc_each}) | "
             f"{f(r.aupr)} | {f(r.kmer_auroc)} | {f(r.oracle_auroc)} | {f(getattr(r, 'recall', None), 2)} | "
             f"{f(getattr(r, 'precision', None), 2)} | {getattr(r, 'false_calls', '')} |"
             for r in summary.itertuples()]
    return head + "\n".join(lines) + "\n"


def figure(records: pd.DataFrame, path) -> None:
    """AUROC (each replicate and the median) and learned recall against positives, per grammar."""

    import matplotlib   # deferred: only the report draws

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grammars = sorted(records["grammar"].unique())
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    colour = {r: palette[i % len(palette)] for i, r in enumerate(sorted(records["recipe"].unique()))}
    fig, axes = plt.subplots(2, len(grammars), figsize=(4 * len(grammars), 6.5), squeeze=False,
                             sharex=True)
    for j, g in enumerate(grammars):
        sub = records[records["grammar"] == g]
        ax, ax2 = axes[0, j], axes[1, j]
        for recipe, rows in sub.groupby("recipe"):
            med = rows.groupby("npos")["auroc"].median()
            line, = ax.plot(med.index, med.values, marker="o", color=colour[recipe],
                            label=f"SPEID {recipe}{LEGEND.get(recipe, '')}")
            ax.scatter(rows["npos"], rows["auroc"], color=line.get_color(), alpha=0.35, s=12)
            if "recall" in rows:
                rec = rows.groupby("npos")["recall"].median()
                ax2.plot(rec.index, rec.values, marker="o", color=line.get_color(), label=recipe)
        for col, style, label in (("kmer_auroc", "--", "k-mer baseline"), ("oracle_auroc", ":", "pair oracle")):
            med = sub.groupby("npos")[col].median()
            ax.plot(med.index, med.values, style, color="grey", label=label)
        ax.set_title(f"grammar {g}")
        ax.set_xscale("log")
        ax.set_ylim(0.4, 1.0)
        ax.set_ylabel("test AUROC")
        sizes = sorted(records["npos"].unique())
        for a in (ax, ax2):
            a.set_xticks(sizes, [f"{n:,}" for n in sizes])
            a.minorticks_off()
        ax2.set_ylim(-0.05, 1.05)
        ax2.set_ylabel("learned-TF recall")
        ax2.set_xlabel("positives (1:20)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def report(root) -> pd.DataFrame:
    """Write ``learning_curve.csv`` (every job), ``.md`` (medians) and ``.png`` under ``root``."""
    root = Path(root)
    records = load_records(root)
    summary = summarise(records)
    with atomic_path(root / "learning_curve.csv") as tmp:
        records.to_csv(tmp, index=False)
    atomic_write_text(root / "learning_curve.md", markdown(summary))
    with atomic_path(root / "learning_curve.png", suffix=".png") as tmp:
        figure(records, tmp)
    return summary


def positives_needed(records: pd.DataFrame, grammar: str = "demo", recipe: str = SMALL_TABLE_RECIPE,
                     auroc: float = 0.85) -> int | None:
    """The smallest measured size whose median test AUROC reaches ``auroc``, and every larger
    measured size too (a curve that dips again has not settled); None when no size does."""
    sub = records[(records["grammar"] == grammar) & (records["recipe"] == recipe)]
    med = sub.groupby("npos")["auroc"].median().sort_index()
    ok = med >= auroc
    for n in med.index:
        if ok.loc[n:].all():
            return int(n)
    return None

