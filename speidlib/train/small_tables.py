"""How much a training set holds, said before training (issue 26, point 4).

A recipe that learns the demo grammar from 5,000 positives can memorise a
table of a few hundred: training loss falls while validation AUROC stays near
0.5. :func:`split_sizes` counts what each split really holds (distinct
positive pairs and the distinct elements in them: a positive repeated or an
element shared is less data than its count suggests), and
:func:`small_table_warning` says when the training positives are fewer than
the learning curve (``docs/learning_curve.md``, ``scripts/learning_curve.py``)
showed the preset to need.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from speidlib import schema

#: the smallest table (positives at 1:20, all splits) from which each recipe was measured to
#: learn the planted demo grammar (median test AUROC >= 0.85 there and at every larger size
#: measured, 1 kb windows, random kernels); None: not measured. docs/learning_curve.md has the
#: curve and the command that measured it.
#: ``cpu`` here is the cpu preset with only some of the small-table options (not measured as a
#: whole; the bound of the preset before them, ``cpu_v2``, is the cautious one).
LEARNS_FROM: dict[str, int | None] = {"cpu_rcx_gpool": 500, "cpu_v2": 5000, "cpu": 5000, "paper": None,
                                      "original": None}
#: the curve itself: positives -> (median test AUROC, median k-mer baseline AUROC) of each recipe
#: on the demo grammar (two replicates per size; tests/test_learning_curve.py checks these
#: against the committed records in examples/learning_curve/)
CURVE_AUROC: dict[str, dict[int, tuple[float, float]]] = {
    # the cpu preset before the small-table recipe became it
    "cpu_v2": {250: (0.565, 0.696), 500: (0.638, 0.722), 1000: (0.719, 0.766), 2000: (0.820, 0.771),
               5000: (0.924, 0.783)},
    # cpu_v2 with reverse-complemented windows, shifts redrawn every epoch and at least
    # 16,000 stage-1 examples per epoch (the learning curve's recipe cpu_rcx)
    "cpu_rcx": {500: (0.712, 0.722), 2000: (0.875, 0.771)},
    # ... and each branch max-pooled over its whole window (recipe cpu_rcx_gpool: the cpu preset)
    "cpu_rcx_gpool": {250: (0.644, 0.696), 500: (0.928, 0.722), 1000: (0.985, 0.766), 2000: (0.987, 0.771),
                      5000: (0.989, 0.783)},
}
#: the recipe that learns from small tables (the ``cpu`` preset's defaults since issue 26): its
#: ModelConfig fields and the options that set them on another preset
SMALL_TABLE_RECIPE = "cpu_rcx_gpool"
SMALL_TABLE_FIELDS = dict(global_pool=True, rc_augment=True, redraw_shifts=True, epoch_examples=16_000)
SMALL_TABLE_OPTIONS = " ".join(f"--{k.replace('_', '-')}" + ("" if v is True else f" {v}")
                               for k, v in SMALL_TABLE_FIELDS.items())
#: the same fields as the ``cpu`` preset had them before (the learning curve's ``cpu_v2``)
CPU_V2_FIELDS = {k: None if k == "epoch_examples" else False for k in SMALL_TABLE_FIELDS}
CURVE = "docs/learning_curve.md"


def recipe_of(config) -> str:
    """The learning curve's name for a preset as configured: ``cpu_rcx_gpool`` when it is the
    ``cpu`` preset with the small-table options (its defaults; a larger ``epoch_examples`` too),
    ``cpu_v2`` when all four are off (the preset before them), else the preset's name."""
    if config.name != "cpu":
        return config.name
    floor = SMALL_TABLE_FIELDS["epoch_examples"]
    flags = [k for k in SMALL_TABLE_FIELDS if k != "epoch_examples"]
    if (config.epoch_examples or 0) >= floor and all(getattr(config, k) == SMALL_TABLE_FIELDS[k] for k in flags):
        return SMALL_TABLE_RECIPE
    if all(getattr(config, k) == v for k, v in CPU_V2_FIELDS.items()):
        return "cpu_v2"
    return config.name


def split_sizes(dataset) -> pd.DataFrame:
    """Pairs, positives and distinct positive pairs and elements per split.

    Returns
    -------
    DataFrame indexed by split (train, valid, test) with columns ``pairs``,
    ``positives``, ``distinct_positive_pairs``, ``positive_enhancers``,
    ``positive_promoters``.
    """
    rows = {}
    for split in (schema.TRAIN, schema.VALID, schema.TEST):
        idx = dataset.split_index(split)
        pos = idx[dataset.label[idx] == 1]
        e, p = dataset.enhancer_index[pos], dataset.promoter_index[pos]
        rows[split] = {"pairs": int(len(idx)), "positives": int(len(pos)),
                       "distinct_positive_pairs": int(len(set(zip(e.tolist(), p.tolist())))),
                       "positive_enhancers": int(len(np.unique(e))),
                       "positive_promoters": int(len(np.unique(p)))}
    return pd.DataFrame(rows).T.rename_axis("split")


def small_table_warning(sizes: pd.DataFrame, recipe: str) -> str | None:
    """A warning when the training split holds fewer positives than ``recipe`` was shown to need.

    recipe : a preset name or a learning-curve recipe (:func:`recipe_of` a ``ModelConfig``)
    """
    need = LEARNS_FROM.get(recipe)
    have = int(sizes["distinct_positive_pairs"].sum())
    if need is None or have >= need:
        return None
    curve = CURVE_AUROC.get(recipe, {})
    figure = ""
    if curve:
        n = _nearest_measured(curve, have)
        model, kmer = curve[n]
        figure = (f"; at {n:,} positives it measured a test AUROC of {model:.2f} where the k-mer baseline, "
                  f"which reads no pairing, gave {kmer:.2f}")
    better = ""
    small = CURVE_AUROC[SMALL_TABLE_RECIPE]
    if recipe in ("cpu", "cpu_v2") and small:
        n = _nearest_measured(small, have)
        v2 = CURVE_AUROC["cpu_v2"]
        against = f" (against {v2[n][0]:.2f} without them)" if n in v2 else ""
        better = (f"; with {SMALL_TABLE_OPTIONS} (the cpu preset's defaults) it measured {small[n][0]:.2f} at "
                  f"{n:,}{against} and learns from {LEARNS_FROM[SMALL_TABLE_RECIPE]:,}: train with them")
    name = {SMALL_TABLE_RECIPE: "the small-table recipe (the cpu preset)",
            "cpu_v2": "the cpu preset without its small-table options (cpu_v2)",
            "cpu": "the cpu preset with only some of its small-table options (not measured as such; "
                   "without any, cpu_v2)"}.get(recipe, f"the {recipe!r} recipe")
    return (f"this table holds {have:,} distinct positive pairs; {name} was measured to learn "
            f"the demo grammar from {need:,} positives{figure}{better} (see {CURVE}): read its test AUROC "
            "beside the k-mer and propensity baselines (`speid baselines`)")


def _nearest_measured(curve: dict, positives: int) -> int:
    """The largest size of ``curve`` not above ``positives`` (the smallest measured when all are)."""
    return max((n for n in curve if n <= positives), default=min(curve))


def describe(sizes: pd.DataFrame) -> str:
    """One line per split, e.g. ``train: 8,820 pairs, 420 positive (420 distinct; 400 enhancers, 77 promoters)``."""
    return "\n".join(f"{split}: {r.pairs:,} pairs, {r.positives:,} positive ({r.distinct_positive_pairs:,} "
                     f"distinct; {r.positive_enhancers:,} enhancers, {r.positive_promoters:,} promoters)"
                     for split, r in sizes.iterrows())
