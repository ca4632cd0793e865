"""Report steps that write tables together with their figures (the only core-to-viz join).

Core modules compute; these functions put their results and plotly figures in a
folder, atomically. The command line and the notebooks call them.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from speidlib.evaluate.baselines import (
    PropensityBaseline,
    baseline_markdown,
    baseline_table,
    cross_cell_matrix,
    split_drop,
)
from speidlib.io import atomic_path, atomic_write_text
from speidlib.viz.figures import cross_cell_heatmap, split_drop_figure


#: what :func:`run_baselines` may write in its folder
BASELINE_FILES = ("baseline_table.csv", "baseline_table.md", "split_drop.csv", "split_drop.html",
                  "cross_cell_auroc.csv", "cross_cell_aupr.csv", "cross_cell_auroc.html", "cross_cell_aupr.html")


def run_baselines(out_dir, pairs_by_cell: Mapping[str, pd.DataFrame],
                  splits=("random", "chromosome"), n_bootstrap: int = 0, seed: int = 0,
                  cross_cell: bool = True) -> dict:
    """Baseline table, split drop and cross-cell matrices, written to ``out_dir``.

    Writes (atomically) ``baseline_table.csv``, ``baseline_table.md`` (AUROC, AUPR
    and F1 with their intervals, :func:`baseline_markdown`), ``split_drop.csv``,
    ``split_drop.html`` (AUROC bars; HTML files embed plotly.js, so they open
    offline) and, with ``cross_cell``, the
    propensity baseline's ``cross_cell_auroc.csv``/``cross_cell_aupr.csv``
    (elements matched by genomic overlap, since element names carry the cell
    line) with their heatmaps ``cross_cell_auroc.html``/``cross_cell_aupr.html``.

    Returns
    -------
    dict name -> DataFrame of everything written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = baseline_table(pairs_by_cell, splits=splits, n_bootstrap=n_bootstrap, seed=seed)
    results = {"baseline_table": table}
    if len(splits) >= 2:
        results["split_drop"] = split_drop(table, reference=splits[0], other=splits[1])
        atomic_write_text(out / "split_drop.html",
                          split_drop_figure(results["split_drop"]).to_html(include_plotlyjs=True))
    if cross_cell and len(pairs_by_cell) > 1:
        mats = cross_cell_matrix(pairs_by_cell, lambda: PropensityBaseline(match="overlap"),
                                 split_method=splits[0], seed=seed)
        for m, df in mats.items():
            results[f"cross_cell_{m}"] = df
            fig = cross_cell_heatmap(df, f"Propensity baseline, cross-cell {m.upper()}")
            atomic_write_text(out / f"cross_cell_{m}.html", fig.to_html(include_plotlyjs=True))
    for name, df in results.items():
        with atomic_path(out / f"{name}.csv") as tmp:
            df.to_csv(tmp, index=name.startswith("cross_cell"))
    atomic_write_text(out / "baseline_table.md", "".join(
        f"{m.upper()}\n\n{baseline_markdown(table, m)}\n" for m in ("auroc", "aupr", "f1")))
    return results
