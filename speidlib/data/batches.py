"""Keras batch sources: one base, :class:`BatchSource`, over a prepared dataset or arrays.

:class:`PairBatches` builds each batch's one-hot windows from a
:class:`~speidlib.data.dataset.Dataset` (training's stage 1 and evaluation);
:class:`ArrayBatches` slices in-memory arrays (stage 2's cached features).
Both are ``keras.utils.PyDataset``: importing this module loads Keras (the
data steps that must not, such as ``speid prepare``, do not import it).
"""
from __future__ import annotations

import keras
import numpy as np

from speidlib import schema
from speidlib.data.dataset import Dataset
from speidlib.data.encode import one_hot, reverse_complement

NEGATIVE_DRAWS = ("all", "match")


class BatchSource(keras.utils.PyDataset):
    """Batches in a fixed order within an epoch: ``source[i] -> (x, y)`` for ``i < len(source)``.

    A subclass sets ``label`` (shape=(n,)), ``batch_size`` and ``epoch``, draws
    ``order`` (the example positions of this epoch, in batch order) in
    :meth:`_new_epoch`, and builds a batch's inputs in :meth:`_inputs` (and, when
    they are not ``label[order]``, its targets in :meth:`_targets`).
    """

    label: np.ndarray
    order: np.ndarray
    batch_size: int
    epoch: int

    def __len__(self) -> int:
        return -(-len(self.order) // self.batch_size)

    @property
    def labels(self) -> np.ndarray:
        """Labels in the current batch order, shape=(n,)."""
        return self.label[self.order]

    def __getitem__(self, i):
        slots = slice(i * self.batch_size, (i + 1) * self.batch_size)
        sel = self.order[slots]
        return self._inputs(sel, slots), self._targets(sel, slots)

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._new_epoch()

    def _new_epoch(self) -> None:
        """Draw ``order`` (and whatever else changes per epoch) for ``self.epoch``."""
        raise NotImplementedError

    def _inputs(self, sel: np.ndarray, slots: slice):
        """The model inputs of examples ``sel``, at batch positions ``slots`` of this epoch."""
        raise NotImplementedError

    def _targets(self, sel: np.ndarray, slots: slice) -> np.ndarray:
        """The targets of examples ``sel``, shape=(b,) float32."""
        return self.label[sel].astype(np.float32)


class PairBatches(BatchSource):
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
    rc_augment : with ``shuffle``, reverse-complement each window (each branch
        on its own) with probability 1/2, drawn afresh every epoch: an element's
        strand carries no label, and each planted or real site is seen on both
        strands (data efficiency, ``ModelConfig.rc_augment``)
    redraw_shifts : with ``balanced`` and ``shuffle``, every example of an epoch
        (positive copies included) gets a fresh random shift within its
        element's bounds, instead of the shifts ``prepare`` fixed for the
        positive copies: more distinct windows of the same few positives
    epoch_examples : with ``negatives="match"`` and ``shuffle``, draw at least
        this many examples per epoch, half positive copies (cycled through, so
        a positive recurs with new shifts when ``redraw_shifts``) and half
        negatives: a small table still gets enough optimisation steps per
        epoch for its patience and schedule to mean what they mean on a large
        one. None: one pass over the positive copies.
    swap_negatives : with ``shuffle``, the fraction of an epoch's negatives
        replaced by *partner swaps*: the enhancer of one training positive with
        the promoter of another (never a pair the table calls positive), at a
        fresh shift. Each positive's elements then also appear in negatives,
        so an element's identity no longer tells the label and only the
        pairing does: a table with few positives cannot be fitted by
        remembering them (``ModelConfig.swap_negatives``).
    """

    def __init__(self, dataset: Dataset, split: str, balanced: bool = True, batch_size: int = 100,
                 shuffle: bool = True, seed: int = 0, zero_branch: str | None = None,
                 shift_negatives: bool = False, negatives: str = "all", rc_augment: bool = False,
                 redraw_shifts: bool = False, epoch_examples: int | None = None,
                 swap_negatives: float = 0.0, **kwargs):
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
        if epoch_examples is not None and int(epoch_examples) < 1:
            raise ValueError(f"epoch_examples must be a positive integer or None, got {epoch_examples}")
        # the data-efficiency options draw from their own generator, so that without them
        # the batches (and a trained model) are exactly those of earlier versions
        self._aug = None
        pool = None
        if epoch_examples is not None and balanced and negatives == "match":
            pool = (np.flatnonzero(self.label == 1), np.flatnonzero(self.label == 0))
            if not (len(pool[0]) and len(pool[1])):
                pool = None
        if not 0.0 <= float(swap_negatives) <= 1.0:
            raise ValueError(f"swap_negatives must lie in [0, 1], got {swap_negatives}")
        swap = float(swap_negatives) if balanced else 0.0
        if shuffle and (rc_augment or (redraw_shifts and balanced) or pool is not None or swap):
            self._aug = dict(rng=np.random.default_rng([seed, 7919]), rc=bool(rc_augment),
                             redraw=bool(redraw_shifts and balanced), pool=pool, swap=swap,
                             examples=int(epoch_examples) if pool is not None else None)
            # shift bounds by element index: (enhancer (lo, hi), promoter (lo, hi))
            self._elem_bounds = [(dataset.elements[b].min_offset.to_numpy(),
                                  dataset.elements[b].max_offset.to_numpy()) for b in schema.BRANCHES]
            if swap:
                positive = dataset.label == 1
                self._positive_keys = np.unique(self._pair_key(dataset.enhancer_index[positive],
                                                               dataset.promoter_index[positive]))
                self._swap_pairs = np.unique(self.pair_index[self.label == 1])
            if self._aug["examples"]:
                n = 2 * max(len(pool[0]), -(-self._aug["examples"] // 2))
        self.order = np.arange(n)
        self.epoch = 0
        self._new_epoch()

    def _inputs(self, sel, slots):
        pi, ds = self.pair_index[sel], self.dataset
        x = []
        for k, (branch, off) in enumerate((("enhancer", self.e_off), ("promoter", self.p_off))):
            if self._aug is None:
                elem = (ds.enhancer_index if branch == "enhancer" else ds.promoter_index)[pi]
                codes = ds.windows(branch, elem, off[sel])
            else:
                codes = ds.windows(branch, self._slot_elem[k][slots], self._slot_off[k][slots])
                if self._aug["rc"]:
                    flip = self._slot_rc[k][slots]
                    codes[flip] = reverse_complement(codes[flip])
            onehot = one_hot(codes)
            if branch == self.zero_branch:
                onehot[:] = 0
            x.append(onehot)
        return (x[0], x[1])

    def _targets(self, sel, slots):
        y = self.label[sel] if self._aug is None else self._slot_label[slots]
        return y.astype(np.float32)

    def _new_epoch(self) -> None:
        if self._aug is not None and self._aug["examples"]:
            self._new_augmented_draw()
        elif self._draw is not None and (self.shuffle or self.epoch == 0):
            pos, neg = self._draw
            self.order = np.concatenate([pos, np.sort(self._rng.choice(neg, size=len(pos), replace=False))])
        if self.shuffle:
            self._rng.shuffle(self.order)
        if self._shifted is not None:
            (elo, ehi), (plo, phi) = self._bounds
            self.e_off[self._shifted] = self._rng.integers(elo, ehi + 1)
            self.p_off[self._shifted] = self._rng.integers(plo, phi + 1)
        if self._aug is not None:
            self._new_slots()

    def _new_augmented_draw(self) -> None:
        """``epoch_examples``: half positive copies (cycled), half negatives, shuffled."""
        rng, (pos, neg) = self._aug["rng"], self._aug["pool"]
        k = len(self.order) // 2
        cycles = -(-k // len(pos))
        pos_sel = np.concatenate([rng.permutation(pos) for _ in range(cycles)])[:k]
        neg_sel = rng.choice(neg, size=k, replace=k > len(neg))
        self.order = rng.permutation(np.concatenate([pos_sel, neg_sel]))

    def _new_slots(self) -> None:
        """Per-slot elements, shifts, strands and labels of this epoch (a positive drawn twice gets two)."""
        rng, ds, order = self._aug["rng"], self.dataset, self.order
        pi = self.pair_index[order]
        self._slot_elem = [ds.enhancer_index[pi], ds.promoter_index[pi]]
        self._slot_off = [self.e_off[order].copy(), self.p_off[order].copy()]
        self._slot_label = self.label[order].copy()
        fresh = np.zeros(len(order), dtype=bool)
        if self._aug["swap"]:
            fresh = self._swap_partners(rng)
        if self._aug["redraw"]:
            fresh[:] = True
        for k, (lo, hi) in enumerate(self._elem_bounds):
            e = self._slot_elem[k][fresh]
            self._slot_off[k][fresh] = rng.integers(lo[e], hi[e] + 1)
        if self._aug["rc"]:
            self._slot_rc = rng.random((2, len(order))) < 0.5

    def _pair_key(self, enhancer, promoter) -> np.ndarray:
        return np.asarray(enhancer, np.int64) * len(self.dataset.elements["promoter"]) + promoter

    def _swap_partners(self, rng) -> np.ndarray:
        """Turn ``swap`` of this epoch's negative slots into partner swaps; returns the slots changed."""
        negative = np.flatnonzero(self._slot_label == 0)
        m = int(round(self._aug["swap"] * len(negative)))
        changed = np.zeros(len(self.order), dtype=bool)
        if m == 0 or len(self._swap_pairs) < 2:
            return changed
        slots = rng.choice(negative, size=m, replace=False)
        a, b = rng.choice(self._swap_pairs, size=(2, m))
        enh, prom = self.dataset.enhancer_index[a], self.dataset.promoter_index[b]
        ok = ~np.isin(self._pair_key(enh, prom), self._positive_keys)
        slots, enh, prom = slots[ok], enh[ok], prom[ok]
        self._slot_elem[0][slots], self._slot_elem[1][slots] = enh, prom
        changed[slots] = True
        return changed


class ArrayBatches(BatchSource):
    """Keras batch source over in-memory arrays: ``(x[batch], y[batch])``.

    Parameters
    ----------
    inputs : array, shape=(n, ...), or a tuple of such arrays (one per model input)
    labels : shape=(n,), 0/1
    batch_size : examples per batch (the last batch may be smaller)
    shuffle : a new order every epoch, drawn from ``(seed, epoch)``, so
        epoch ``k`` has the same order whether or not the run was resumed
    seed : int
    epoch : the epoch the next pass belongs to (set it when resuming)
    """

    def __init__(self, inputs, labels, batch_size: int = 100, shuffle: bool = True, seed: int = 0,
                 epoch: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else inputs
        self.label = np.asarray(labels, dtype=np.float32)
        first = self.inputs[0] if isinstance(self.inputs, tuple) else self.inputs
        for x in (self.inputs if isinstance(self.inputs, tuple) else (self.inputs,)):
            if len(x) != len(self.label):
                raise ValueError(f"inputs hold {len(x)} examples but labels {len(self.label)}")
        if len(first) == 0:
            raise ValueError("no examples to make batches from")
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        self.batch_size, self.shuffle, self.seed = int(batch_size), shuffle, seed
        self.set_epoch(epoch)

    def set_epoch(self, epoch: int) -> None:
        """Make ``epoch`` the one the next pass belongs to (its order drawn again)."""
        self.epoch = int(epoch)
        self._new_epoch()

    def _new_epoch(self) -> None:
        n = len(self.label)
        self.order = (np.random.default_rng([self.seed, self.epoch]).permutation(n)
                      if self.shuffle else np.arange(n))

    def _inputs(self, sel, slots):
        if isinstance(self.inputs, tuple):
            return tuple(np.asarray(a[sel], dtype=np.float32) for a in self.inputs)
        return np.asarray(self.inputs[sel], dtype=np.float32)
