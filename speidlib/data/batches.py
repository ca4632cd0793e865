"""Keras batch source over a prepared :class:`~speidlib.data.dataset.Dataset`."""
from __future__ import annotations

import numpy as np

from speidlib import schema
from speidlib.data.dataset import Dataset
from speidlib.data.encode import one_hot


def _pydataset_base():
    import keras

    return keras.utils.PyDataset


NEGATIVE_DRAWS = ("all", "match")


class PairBatches(_pydataset_base()):
    """Keras batch source: ``((enhancer (b, We, 4), promoter (b, Wp, 4)), label (b,))``.

    One-hot encoding happens per batch, so neither the augmented copies nor a
    float copy of the data is ever held in memory.

    Parameters
    ----------
    dataset : Dataset
    split : "train", "valid" or "test"
    balanced : negatives plus augmented positives (stage 1) or the original pairs (stage 2)
    batch_size : examples per batch
    shuffle : reshuffle every epoch (seeded)
    zero_branch : None, "enhancer" or "promoter"; feed zeros to that input (ablations)
    shift_negatives : with ``balanced``, give each negative a fresh random shift
        every epoch. In the preprint's protocol only positives are shifted, so
        an element sitting exactly in the window centre marks a negative; a
        model can learn that cue instead of sequence, and test windows (all
        centred) then look negative. Shifting negatives too removes the cue.
    negatives : with ``balanced``, ``"all"`` (every negative of the split, each
        epoch: the preprint, whose 20 shifted copies per positive match its
        1:20 class ratio) or ``"match"`` (as many negatives as there are
        augmented positives, a new random draw every epoch when shuffling, one
        fixed draw otherwise): balanced epochs with fewer copies per positive.
    """

    def __init__(self, dataset: Dataset, split: str, balanced: bool = True, batch_size: int = 100,
                 shuffle: bool = True, seed: int = 0, zero_branch: str | None = None,
                 shift_negatives: bool = False, negatives: str = "all", **kwargs):
        super().__init__(**kwargs)
        if zero_branch not in (None, *schema.BRANCHES):
            raise ValueError(f"zero_branch must be None, 'enhancer' or 'promoter', got {zero_branch!r}")
        if negatives not in NEGATIVE_DRAWS:
            raise ValueError(f"negatives must be one of {NEGATIVE_DRAWS}, got {negatives!r}")
        self.dataset, self.batch_size, self.shuffle = dataset, int(batch_size), shuffle
        self.zero_branch = zero_branch
        self.pair_index, self.e_off, self.p_off, self.label = dataset.examples(split, balanced)
        if len(self.label) == 0:
            raise ValueError(f"the {split} split of {dataset.path} has no examples")
        self._rng = np.random.default_rng(seed)
        self._shifted = None
        if shift_negatives and balanced:
            self._shifted = np.flatnonzero(self.label == 0)
            pi = self.pair_index[self._shifted]
            self._bounds = [(dataset.elements[b].min_offset.to_numpy()[idx[pi]],
                             dataset.elements[b].max_offset.to_numpy()[idx[pi]])
                            for b, idx in (("enhancer", dataset.enhancer_index),
                                           ("promoter", dataset.promoter_index))]
            self.e_off, self.p_off = self.e_off.copy(), self.p_off.copy()
        self._draw = None
        if balanced and negatives == "match":
            neg, pos = np.flatnonzero(self.label == 0), np.flatnonzero(self.label == 1)
            if len(neg) > len(pos) > 0:
                self._draw = (pos, neg)
        n = len(self.label) if self._draw is None else 2 * len(self._draw[0])
        self.order = np.arange(n)
        self.epoch = 0
        self._new_epoch()

    def __len__(self) -> int:
        return -(-len(self.order) // self.batch_size)

    @property
    def labels(self) -> np.ndarray:
        """Labels in the current batch order, shape=(n,)."""
        return self.label[self.order]

    def __getitem__(self, i):
        sel = self.order[i * self.batch_size:(i + 1) * self.batch_size]
        pi, ds = self.pair_index[sel], self.dataset
        x = []
        for branch, off in (("enhancer", self.e_off), ("promoter", self.p_off)):
            elem = (ds.enhancer_index if branch == "enhancer" else ds.promoter_index)[pi]
            onehot = one_hot(ds.windows(branch, elem, off[sel]))
            if branch == self.zero_branch:
                onehot[:] = 0
            x.append(onehot)
        return (x[0], x[1]), self.label[sel].astype(np.float32)

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._new_epoch()

    def _new_epoch(self) -> None:
        if self._draw is not None and (self.shuffle or self.epoch == 0):
            pos, neg = self._draw
            self.order = np.concatenate([pos, np.sort(self._rng.choice(neg, size=len(pos), replace=False))])
        if self.shuffle:
            self._rng.shuffle(self.order)
        if self._shifted is not None:
            (elo, ehi), (plo, phi) = self._bounds
            self.e_off[self._shifted] = self._rng.integers(elo, ehi + 1)
            self.p_off[self._shifted] = self._rng.integers(plo, phi + 1)
