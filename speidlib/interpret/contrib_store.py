"""``RUN/attributions/*.h5``: contribution scores of many pairs, written as a stream.

One HDF5 file per model (``contributions.h5`` for the trained model,
``null.h5`` for the same pairs under the run's initial weights). Layout::

    pairs/<column>            one row per pair: schema pair columns, label, split,
                              score, reference_score, completeness_error
    enhancer/hypothetical     (n, We, 4) float16, TF-MoDISco's hypothetical contributions
    enhancer/actual           (n, We)    float16, one contribution per position
    enhancer/codes            (n, We)    int8, the window's bases (A=0 C=1 G=2 T=3 N=4)
    enhancer/window_start     (n,)       int64, genome coordinate of the window's first base
    promoter/...              the same for the promoter windows
    attrs                     method, steps, n_references, seed, output, model_sha256, weights, ...

:class:`StoreWriter` appends batches to resizable datasets of a temporary file
beside the target and renames it onto the target only when every batch is in
(a killed run leaves no file a later step reads); :class:`ContributionStore`
reads one back, whole or in row ranges.
"""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from speidlib import schema
from speidlib.io import atomic_path

CONTRIBUTIONS_FILE = "contributions.h5"   # the trained model's contributions
NULL_FILE = "null.h5"                     # the same pairs, the run's initial (untrained) weights
PAIR_TEXT = (schema.ENHANCER_NAME, schema.PROMOTER_NAME, schema.CHROM, schema.SPLIT)
PAIR_INT = (schema.ENHANCER_START, schema.ENHANCER_END, schema.PROMOTER_START, schema.PROMOTER_END,
            schema.LABEL)
PAIR_FLOAT = ("score", "reference_score", "completeness_error")
_CHUNK = 64


def stored_attrs(attrs: dict) -> dict:
    """``attrs`` as a contributions file keeps them (dicts and lists as JSON, None as "")."""
    return {k: json.dumps(v) if isinstance(v, (dict, list)) else ("" if v is None else v) for k, v in attrs.items()}


def made_with(path, attrs: dict) -> bool:
    """Whether ``path`` is a complete contributions file written with exactly ``attrs`` (model and
    dataset hashes, method, steps, references, pairs, seed ...): one a later step may reuse."""
    if not Path(path).exists():
        return False
    try:
        have = dict(ContributionStore(path).attrs)
    except ValueError:
        return False
    have.pop("n_pairs", None)
    return have == stored_attrs(attrs)


class StoreWriter:
    """Append batches of contributions to ``path`` (atomic: see the module notes).

    Parameters
    ----------
    path : the file to write
    windows : dict branch -> window length
    attrs : the file's attributes (method, steps, ...; dicts are stored as JSON)
    """

    def __init__(self, path, windows: dict, attrs: dict):
        self.path, self.windows, self.attrs = Path(path), windows, attrs
        self.n = 0

    def __enter__(self):
        self._atomic = atomic_path(self.path)
        tmp = self._atomic.__enter__()
        self.h5 = h5py.File(tmp, "w")
        for k, v in stored_attrs(self.attrs).items():
            self.h5.attrs[k] = v
        text = h5py.string_dtype()
        for c in PAIR_TEXT:
            self.h5.create_dataset(f"pairs/{c}", (0,), text, maxshape=(None,), chunks=(1024,))
        for c in PAIR_INT:
            self.h5.create_dataset(f"pairs/{c}", (0,), np.int64, maxshape=(None,), chunks=(1024,))
        for c in PAIR_FLOAT:
            self.h5.create_dataset(f"pairs/{c}", (0,), np.float64, maxshape=(None,), chunks=(1024,))
        for b, w in self.windows.items():
            self.h5.create_dataset(f"{b}/hypothetical", (0, w, 4), np.float16, maxshape=(None, w, 4),
                                   chunks=(_CHUNK, w, 4))
            self.h5.create_dataset(f"{b}/actual", (0, w), np.float16, maxshape=(None, w), chunks=(_CHUNK, w))
            self.h5.create_dataset(f"{b}/codes", (0, w), np.int8, maxshape=(None, w), chunks=(_CHUNK, w))
            self.h5.create_dataset(f"{b}/window_start", (0,), np.int64, maxshape=(None,), chunks=(1024,))
        return self

    def append(self, pairs: pd.DataFrame, contributions, codes: dict, window_start: dict) -> None:
        """Add one batch.

        pairs : DataFrame, n rows, the columns of ``PAIR_TEXT`` and ``PAIR_INT``
        contributions : :class:`speidlib.interpret.contributions.Contributions` of the n pairs
        codes : branch -> (n, W) int8; window_start : branch -> (n,) int64
        """
        n = len(pairs)
        lo, hi = self.n, self.n + n
        values = {"score": contributions.score, "reference_score": contributions.reference_score,
                  "completeness_error": contributions.completeness_error()}
        for c in (*PAIR_TEXT, *PAIR_INT, *PAIR_FLOAT):
            d = self.h5[f"pairs/{c}"]
            d.resize((hi,))
            col = values[c] if c in values else pairs[c].to_numpy()
            d[lo:hi] = np.asarray(col, dtype=object).astype(str) if c in PAIR_TEXT else col
        for b in self.windows:
            hyp = getattr(contributions, f"{b}_hypothetical")
            act = getattr(contributions, f"{b}_actual")
            for name, arr in (("hypothetical", hyp), ("actual", act), ("codes", codes[b]),
                              ("window_start", window_start[b])):
                d = self.h5[f"{b}/{name}"]
                d.resize((hi, *d.shape[1:]))
                d[lo:hi] = arr
        self.n = hi

    def __exit__(self, *exc):
        try:
            self.h5.attrs["n_pairs"] = self.n
            self.h5.close()
        finally:
            self._atomic.__exit__(*exc)
        return False


class ContributionStore:
    """A contributions file read back (see the module notes).

    Attributes
    ----------
    path : Path
    pairs : DataFrame, one row per pair
    attrs : dict of the file's attributes
    """

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.exists():
            raise ValueError(f"{self.path} does not exist: run `speid attribute` first")
        try:
            with h5py.File(self.path, "r") as h5:
                self.attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in h5.attrs.items()}
                cols = {}
                for c in (*PAIR_TEXT, *PAIR_INT, *PAIR_FLOAT):
                    v = h5[f"pairs/{c}"][:]
                    cols[c] = v.astype(str) if c in PAIR_TEXT else v
                self.windows = {b: int(h5[f"{b}/codes"].shape[1]) for b in schema.BRANCHES}
        except (OSError, KeyError) as e:
            raise ValueError(f"{self.path} is not a complete contributions file ({e})") from e
        self.pairs = pd.DataFrame(cols)

    def __len__(self) -> int:
        return len(self.pairs)

    def read(self, branch: str, name: str, rows=None) -> np.ndarray:
        """``branch/name`` (``hypothetical``, ``actual``, ``codes``, ``window_start``) of ``rows``.

        rows : None (all), a slice, or sorted indices; float16 data come back as float32.
        """
        if branch not in schema.BRANCHES:
            raise ValueError(f"branch must be one of {schema.BRANCHES}, got {branch!r}")
        with h5py.File(self.path, "r") as h5:
            d = h5[f"{branch}/{name}"]
            out = d[:] if rows is None else d[rows]
        return out.astype(np.float32) if out.dtype == np.float16 else out

    def chunks(self, size: int = 256):
        """Row slices of at most ``size`` pairs, in order."""
        return [slice(s, min(s + size, len(self))) for s in range(0, len(self), size)]
