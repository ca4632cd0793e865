"""Contributions against the demo's planted truth (issue 28, point 4).

Reads what `speid attribute` and `speid modisco` wrote for a run on the
synthetic demo, and the demo's ground truth (`elements.csv`: each element's
planted sites; `demo.json`: which (TF, branch) pairs the run's cell line
plants), and prints:

- **site level**: per branch, among the positive pairs' windows, the share of
  the top 1% positions by |actual contribution| that lie inside a planted
  site, beside the share of window positions that do (the enrichment is their
  ratio), for the trained model and for the null (initial weights) when
  `null.h5` is there;
- **motif level**: precision and recall of the planted (TF, branch) pairs
  among the TFs `speid modisco` called learned, beside the kernel route's
  (`RUN/motifs/tf_summary.csv`), and every call outside the planted set.

It writes a figure (PNG: the site-level shares per branch) and a JSON of the
numbers. Usage (the committed example's model, a dataset made by
`scripts/make_example_run.py --dataset-only --keep-work WORK`):

    .venv/bin/python scripts/attribution_truth.py --run RUN --demo WORK/demo \
        --out docs/images/attribution_truth.png
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from speidlib import schema  # noqa: E402
from speidlib.demo.synthetic import load_demo  # noqa: E402
from speidlib.interpret.contrib_store import ContributionStore  # noqa: E402
from speidlib.interpret.explain import site_enrichment  # noqa: E402


def planted_pairs(demo_dir, cell_line: str) -> set:
    info = load_demo(demo_dir)
    return {(b, getattr(c, f"{b}_tf").upper()) for c in info.classes if cell_line in c.cell_lines
            for b in schema.BRANCHES}


def precision_recall(called: set, planted: set) -> dict:
    hit = called & planted
    return {"called": sorted(map(list, called)), "true": len(hit), "n_called": len(called),
            "n_planted": len(planted), "precision": f"{len(hit)}/{len(called)}",
            "recall": f"{len(hit)}/{len(planted)}", "outside_planted": sorted(map(list, called - planted)),
            "missed": sorted(map(list, planted - called))}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", required=True, help="run directory (with attributions/ and modisco/)")
    ap.add_argument("--demo", required=True, help="the demo folder the run was prepared from")
    ap.add_argument("--attributions", default=None, help="default RUN/attributions")
    ap.add_argument("--modisco", default=None, help="default RUN/modisco")
    ap.add_argument("--cell-line", default="DEMO1")
    ap.add_argument("--out", default=None, help="figure (PNG); the numbers go beside it as .json")
    args = ap.parse_args(argv)
    run = Path(args.run)
    att = Path(args.attributions or run / "attributions")
    result = {"sites": {}}
    for tag, name in (("trained", "contributions.h5"), ("null", "null.h5")):
        if (att / name).exists():
            result["sites"][tag] = site_enrichment(ContributionStore(att / name), args.demo)
    planted = planted_pairs(args.demo, args.cell_line)
    modisco = Path(args.modisco or run / "modisco") / "tf_summary.csv"
    if modisco.exists():
        tf = pd.read_csv(modisco)
        called = {(b, t.upper()) for b, t in zip(tf.loc[tf["learned"], "branch"], tf.loc[tf["learned"], "tf"])}
        result["contributions_route"] = precision_recall(called, planted)
    kernels = run / schema.MOTIFS_DIR / schema.MOTIF_TF_SUMMARY_FILE
    if kernels.exists():
        tf = pd.read_csv(kernels)
        called = {(b, t.upper()) for b in schema.BRANCHES for t in tf.loc[tf[f"learned_{b}"].astype(bool), "tf"]}
        result["kernel_route"] = precision_recall(called, planted)
    print(json.dumps(result, indent=1))
    for tag, sites in result["sites"].items():
        for b, s in sites.items():
            print(f"{tag:8s} {b:9s} top 1% |contribution| in planted sites: {s['top_share']:.3f}, "
                  f"window share in sites: {s['site_share']:.3f}, enrichment {s['enrichment']:.1f}x "
                  f"({s['n_pairs']} positive pairs)")
    for route in ("contributions_route", "kernel_route"):
        if route in result:
            r = result[route]
            print(f"{route}: precision {r['precision']}, recall {r['recall']}, outside the planted set: "
                  f"{r['outside_planted'] or 'none'}, missed: {r['missed'] or 'none'}")
    if args.out:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6, 3), layout="constrained")
        ax = fig.subplots()
        labels, tops, base = [], [], []
        for tag, sites in result["sites"].items():
            for b, s in sites.items():
                labels.append(f"{b}\n{tag}")
                tops.append(s["top_share"])
                base.append(s["site_share"])
        x = np.arange(len(labels))
        ax.bar(x - 0.2, tops, 0.4, label="top 1% |contribution| positions")
        ax.bar(x + 0.2, base, 0.4, label="all window positions")
        ax.set_xticks(x, labels)
        ax.set_ylabel("share inside planted sites")
        ax.legend(fontsize=8)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=100)
        out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {out} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
