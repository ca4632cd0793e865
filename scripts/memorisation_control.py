"""The memorisation control: SPEID on real TargetFinder labels over a random genome.

Real pair tables (real coordinates, real labels) are put on a genome of
uniform random bases with hg19's chromosome names and lengths
(:func:`speidlib.data.random_genome.write_random_genome`). The sequence then
carries no biology, yet every element is still a unique string the network
can recognise, so whatever SPEID scores here it scores by remembering which
elements were positive in training. Beside it, on the very same split, the
propensity baseline (which reads no sequence and knows exactly that).

For each cell line and split (random and chromosome): ``prepare`` (1 kb
windows, 4 shifted copies per training positive), ``train`` (``cpu`` preset),
``evaluate`` (test AUROC/AUPR/F1 with bootstrap 95% intervals), then the
distance and propensity baselines fitted on the run's own training pairs.
SPEID's AUROC and AUPR also get a second interval that resamples the test
promoters, each with all its pairs (a cluster bootstrap): test pairs share
elements (one promoter, several enhancers), so they are not independent draws
and the pair-level interval is too narrow, most of all under the chromosome
split, where a sequence-blind score is a function of a few hundred elements.

The training schedule is the same for every cell line and cannot end in the
first flat epochs, when validation AUROC sits near 0.5 before memorisation
begins (GM12878 stayed there for 5 epochs and an early stop with patience 4
ended it at epoch 6): ``--schedule fixed`` (the default) runs every epoch and
keeps the last one's weights, as the released SPEID code did, with 32
stage-1 epochs (the preprint's and the released code's count) and the
preset's 6 stage-2 epochs; ``--schedule early-stop`` is the ``cpu`` preset's
own (best validation AUROC, patience 4).

    .venv/bin/python scripts/memorisation_control.py --out runs/memorisation          # K562
    .venv/bin/python scripts/memorisation_control.py --out runs/memorisation --cells all
    .venv/bin/python scripts/memorisation_control.py --out runs/memorisation --gather  # tables only

One job per cell line and split is the workflow's ``memorisation`` target
(``workflow/config/memorisation.yaml``). Writes ``OUT/genome/hg19_random.fa``
(+ .fai; 3.1 GB, reused when present; ``--genome`` names another), one run
directory ``OUT/<cell>_<split>`` and one ``OUT/results/<cell>_<split>.csv``
per job (rows: SPEID on random DNA, propensity, distance), then ``OUT/results.csv``
and ``OUT/results.md`` gathered from every ``OUT/results/*.csv`` there.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "targetfinder"
CELLS = ("GM12878", "HeLa-S3", "HUVEC", "IMR90", "K562", "NHEK")
RESULTS_DIR = "results"
FIXED_PRETRAIN_EPOCHS = 32   # the preprint's and the released code's stage-1 epochs


def _pairs_path(cell: str, cache: Path) -> Path:
    local = SHARED / f"{cell}_ep.csv.gz"
    if local.is_file():
        return local
    from speidlib.data.pairs import download_targetfinder

    return Path(download_targetfinder(cell, "ep", cache))


def _fmt(m: dict, metric: str) -> str:
    lo, hi = m.get("ci", {}).get(metric, (float("nan"),) * 2)
    return f"{m[metric]:.3f} ({lo:.3f}-{hi:.3f})"


def schedule_config(schedule: str, pretrain_epochs: int | None, retrain_epochs: int | None):
    """The ``cpu`` preset under a schedule: ``fixed`` (every epoch, last kept) or ``early-stop``."""
    from speidlib.model.presets import get_config

    config = get_config("cpu")
    if schedule == "fixed":
        config = config.replace(keep_epoch="last", pretrain_epochs=FIXED_PRETRAIN_EPOCHS)
    elif schedule != "early-stop":
        raise ValueError(f"--schedule must be fixed or early-stop, got {schedule!r}")
    changes = {k: v for k, v in (("pretrain_epochs", pretrain_epochs), ("retrain_epochs", retrain_epochs))
               if v is not None}
    return config.replace(**changes) if changes else config


def _test_predictions(run: Path):
    """The test rows of ``run``'s ``predictions.csv``."""
    import pandas as pd

    from speidlib import schema as S

    pred = pd.read_csv(run / S.PREDICTIONS_FILE)
    return pred[pred[S.SPLIT] == S.TEST]


def promoter_clustered_ci(run: Path, n_bootstrap: int, seed: int) -> dict:
    """SPEID's test AUROC and AUPR intervals with the test promoters resampled (each with its pairs).

    Returns ``{"auroc_promoter_lo", ..._hi, "aupr_promoter_lo", ..._hi, "n_test_promoters"}`` from
    ``run``'s ``predictions.csv``.
    """
    from speidlib import schema as S
    from speidlib.evaluate.metrics import bootstrap_ci

    test = _test_predictions(run)
    # the threshold only enters F1, which is not reported here
    ci = bootstrap_ci(test[S.LABEL].to_numpy(), test[S.SCORE].to_numpy(), 0.5, n_bootstrap=n_bootstrap,
                      seed=seed, groups=test[S.PROMOTER_NAME].to_numpy())
    out = {"n_test_promoters": int(test[S.PROMOTER_NAME].nunique())}
    for metric in ("auroc", "aupr"):
        out[f"{metric}_promoter_lo"], out[f"{metric}_promoter_hi"] = ci[metric]
    return out


def additive_effects(logit, enhancers, promoters, sweeps: int = 50):
    """Fit ``logit ~ mu + a[promoter] + b[enhancer]`` by alternating means (backfitting).

    Returns (mu, a (P,), b (E,), residuals (n,), promoter codes (n,), enhancer codes (n,)).
    """
    import numpy as np
    import pandas as pd

    pi, ei = pd.factorize(promoters)[0], pd.factorize(enhancers)[0]
    logit = np.asarray(logit, np.float64)
    mu, a, b = logit.mean(), np.zeros(pi.max() + 1), np.zeros(ei.max() + 1)
    for _ in range(sweeps):
        a = np.bincount(pi, logit - mu - b[ei]) / np.bincount(pi)
        b = np.bincount(ei, logit - mu - a[pi]) / np.bincount(ei)
    return mu, a, b, logit - mu - a[pi] - b[ei], pi, ei


def element_permutation_null(run: Path, n_draws: int, seed: int) -> dict:
    """What a score that knows nothing would give on this test table's element structure.

    SPEID's test logits are split into a promoter effect, an enhancer effect and a residual
    (:func:`additive_effects`); each draw hands the promoters' effects to the test promoters
    in a random order, the enhancers' likewise, and the residuals, and takes the AUROC. The
    draws keep the scores' distribution and how the pairs share elements, and break any tie
    between an element's score and its pairs' labels: their 95% range is how far from 0.5
    an uninformed score lands on this table, and ``p_below`` / ``p_above`` how often a
    draw is at least as far below / above as SPEID.

    Returns ``{"null_auroc_lo", "null_auroc_hi", "null_p_below", "null_p_above", "additive_r2"}``.
    """
    import numpy as np

    from speidlib import schema as S
    from speidlib.evaluate.metrics import auroc

    test = _test_predictions(run)
    y = test[S.LABEL].to_numpy()
    p = np.clip(test[S.SCORE].to_numpy(np.float64), 1e-7, 1 - 1e-7)
    logit = np.log(p / (1 - p))
    mu, a, b, res, pi, ei = additive_effects(logit, test[S.ENHANCER_NAME].to_numpy(),
                                             test[S.PROMOTER_NAME].to_numpy())
    rng = np.random.default_rng(seed)
    draws = np.array([auroc(y, a[rng.permutation(len(a))][pi] + b[rng.permutation(len(b))][ei]
                            + res[rng.permutation(len(res))]) for _ in range(n_draws)])
    observed = auroc(y, logit)
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return {"null_auroc_lo": float(lo), "null_auroc_hi": float(hi),
            "null_p_below": float((1 + (draws <= observed).sum()) / (n_draws + 1)),
            "null_p_above": float((1 + (draws >= observed).sum()) / (n_draws + 1)),
            "additive_r2": float(1 - res.var() / logit.var())}


def run_job(out: Path, cell: str, split: str, genome: Path, args) -> Path:
    """prepare, train, evaluate one cell line and split; write ``OUT/results/<cell>_<split>.csv``."""
    import pandas as pd

    from speidlib import schema as S
    from speidlib.data.dataset import Dataset, PrepareConfig, prepare
    from speidlib.evaluate.baselines import DistanceBaseline, PropensityBaseline, fit_evaluate
    from speidlib.evaluate.heldout import run_evaluate
    from speidlib.io import atomic_path
    from speidlib.train.stages import train_run

    config = schedule_config(args.schedule, args.pretrain_epochs, args.retrain_epochs)
    schedule = (f"{args.schedule}: {config.pretrain_epochs} + {config.retrain_epochs} epochs, "
                f"{'last epoch kept' if config.keep_epoch == 'last' else f'best by {config.monitor}, patience {config.patience}'}")
    pairs = Path(args.pairs) if args.pairs else _pairs_path(cell, out / "targetfinder")
    run = out / f"{cell}_{split}"
    t0 = time.perf_counter()
    prepare(PrepareConfig(pairs=str(pairs), genome=str(genome), split=split,
                          enhancer_window=args.window, promoter_window=args.window,
                          augment=args.augment, seed=args.seed), run, progress=False, overwrite=True)
    train_run(run, preset=config, seed=args.seed, progress=False, threads=args.threads)
    speid = run_evaluate(run, n_bootstrap=args.bootstrap, seed=args.seed)
    minutes = (time.perf_counter() - t0) / 60
    dataset = Dataset(run)
    table, split_names = dataset.pairs, dataset.pairs[S.SPLIT].to_numpy()
    results = {"SPEID (random DNA)": speid}
    for name, model in (("propensity", PropensityBaseline()), ("distance", DistanceBaseline())):
        results[name] = fit_evaluate(model, table, split_names, n_bootstrap=args.bootstrap, seed=args.seed)
    rows = []
    for name, m in results.items():
        row = {"cell_line": cell, "split_method": split, "model": name, "n_test": m["n_test"],
               "n_positive_test": m["n_positive_test"], "constant": m["constant"],
               "schedule": schedule if name.startswith("SPEID") else None,
               "minutes": round(minutes, 1) if name.startswith("SPEID") else None}
        for metric in ("auroc", "aupr", "f1"):
            row[metric] = m[metric]
            row[f"{metric}_lo"], row[f"{metric}_hi"] = m["ci"].get(metric, (None, None))
        if name.startswith("SPEID"):
            row.update(promoter_clustered_ci(run, args.bootstrap, args.seed))
            row.update(element_permutation_null(run, args.bootstrap, args.seed))
        rows.append(row)
        shown = "constant" if m["constant"] else " | ".join(_fmt(m, k) for k in ("auroc", "aupr", "f1"))
        print(f"| {cell} | {split} | {name} | {shown} |", flush=True)
    print(f"{cell} {split}: SPEID trained ({schedule}) and evaluated in {minutes:.1f} min", flush=True)
    path = out / RESULTS_DIR / f"{cell}_{split}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)
    return path


def gather(out: Path, n_bootstrap: int = 1000, seed: int = 0) -> tuple[Path, Path]:
    """``OUT/results.csv`` and ``OUT/results.md`` from every ``OUT/results/<cell>_<split>.csv``."""
    import pandas as pd

    from speidlib.io import atomic_path, atomic_write_text

    parts = sorted((out / RESULTS_DIR).glob("*.csv"))
    if not parts:
        raise SystemExit(f"no job results under {out / RESULTS_DIR}: run the jobs first")
    df = pd.concat([pd.read_csv(p) for p in parts], ignore_index=True)
    # job results written before the promoter-resampled interval existed: computed from the run
    structure = ("auroc_promoter_lo", "auroc_promoter_hi", "aupr_promoter_lo", "aupr_promoter_hi",
                 "n_test_promoters", "null_auroc_lo", "null_auroc_hi", "null_p_below", "null_p_above",
                 "additive_r2")
    for c in structure:
        if c not in df:
            df[c] = float("nan")
    for i, r in df.iterrows():
        run = out / f"{r['cell_line']}_{r['split_method']}"
        if str(r["model"]).startswith("SPEID") and (run / "predictions.csv").exists():
            if pd.isna(r["auroc_promoter_lo"]):
                for c, v in promoter_clustered_ci(run, n_bootstrap, seed).items():
                    df.loc[i, c] = v
            if pd.isna(r["null_auroc_lo"]):
                for c, v in element_permutation_null(run, n_bootstrap, seed).items():
                    df.loc[i, c] = v
    order = {c: i for i, c in enumerate(CELLS)}
    df = df.sort_values(["cell_line", "split_method"], key=lambda s: s.map(order).fillna(99)
                        if s.name == "cell_line" else s, kind="stable")
    with atomic_path(out / "results.csv") as tmp:
        df.to_csv(tmp, index=False)

    def cell(r, m):
        return f"{r[m]:.3f} ({r[m + '_lo']:.3f}-{r[m + '_hi']:.3f})"

    def clustered(r):
        if pd.isna(r["auroc_promoter_lo"]):
            return ""
        return (f"{r['auroc_promoter_lo']:.3f}-{r['auroc_promoter_hi']:.3f} "
                f"({int(r['n_test_promoters']):,} promoters)")

    def null(r):
        if pd.isna(r["null_auroc_lo"]):
            return ""
        side = "below" if r["null_p_below"] < r["null_p_above"] else "above"
        return (f"{r['null_auroc_lo']:.3f}-{r['null_auroc_hi']:.3f} (as far {side}: "
                f"p {min(r['null_p_below'], r['null_p_above']):.3f})")

    md = ["| cell line | split | model | AUROC | AUPR | F1 | AUROC interval, promoters resampled | "
          "uninformed score on these elements (95%; one-sided p) | minutes |", "|---|---|---|---|---|---|---|---|---|"]
    for r in df.to_dict("records"):
        shown = "constant" if r["constant"] else " | ".join(cell(r, m) for m in ("auroc", "aupr", "f1"))
        minutes = "" if pd.isna(r["minutes"]) else f"{r['minutes']:.1f}"
        md.append(f"| {r['cell_line']} | {r['split_method']} | {r['model']} | {shown} | {clustered(r)} | "
                  f"{null(r)} | {minutes} |")
    schedules = sorted(set(df["schedule"].dropna()))
    md += ["", f"SPEID schedule: {'; '.join(schedules)}"]
    atomic_write_text(out / "results.md", "\n".join(md) + "\n")
    return out / "results.csv", out / "results.md"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="runs/memorisation", help="output folder (default runs/memorisation)")
    ap.add_argument("--cells", default="K562", help="comma-separated cell lines, or 'all' (default K562)")
    ap.add_argument("--splits", default="random,chromosome", help="split methods (default random,chromosome)")
    ap.add_argument("--genome", default=None,
                    help="the random hg19-shaped genome (default OUT/genome/hg19_random.fa, written if missing)")
    ap.add_argument("--schedule", default="fixed", choices=["fixed", "early-stop"],
                    help="fixed: every epoch runs, the last kept (32 + 6 epochs; default); "
                    "early-stop: the cpu preset's (best validation AUROC, patience 4)")
    ap.add_argument("--window", type=int, default=1000, help="enhancer and promoter window, bp (default 1000)")
    ap.add_argument("--augment", type=int, default=4, help="shifted copies per training positive (default 4)")
    ap.add_argument("--pretrain-epochs", type=int, default=None, help="stage-1 epochs (default: the schedule's)")
    ap.add_argument("--retrain-epochs", type=int, default=None, help="stage-2 epochs (default: the schedule's)")
    ap.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    ap.add_argument("--seed", type=int, default=0, help="genome, split and training seed (default 0)")
    ap.add_argument("--threads", type=int, default=2, help="TensorFlow threads (default 2)")
    ap.add_argument("--pairs", default=None,
                    help="the pair table of the one cell line given (default: shared data, else downloaded)")
    ap.add_argument("--gather", action="store_true", help="only gather OUT/results/*.csv into the tables")
    ap.add_argument("--no-gather", action="store_true",
                    help="run the jobs, leave the tables to a later --gather (the workflow's jobs)")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    out = Path(args.out)
    if not args.gather:
        cells = CELLS if args.cells == "all" else tuple(c.strip() for c in args.cells.split(","))
        if args.pairs and len(cells) != 1:
            raise SystemExit("--pairs names one cell line's table: give exactly one cell line in --cells")
        genome = Path(args.genome) if args.genome else out / "genome" / "hg19_random.fa"
        if not (genome.is_file() and Path(f"{genome}.fai").is_file()):
            if args.genome:
                raise SystemExit(f"--genome {genome}: no such FASTA with its .fai index")
            from speidlib.data.random_genome import write_random_genome

            t0 = time.perf_counter()
            write_random_genome("hg19", genome, seed=args.seed)
            print(f"wrote {genome} in {time.perf_counter() - t0:.0f} s", flush=True)
        for cell in cells:
            for split in args.splits.split(","):
                run_job(out, cell, split, genome, args)
        if args.no_gather:
            return 0
    csv, md = gather(out, args.bootstrap, args.seed)
    print(f"wrote {csv} and {md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
