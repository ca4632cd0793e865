"""Fast in-silico saturation mutagenesis: only what a base changes is recomputed.

A base at position ``i`` of a window of length ``L`` enters only the
convolution outputs ``j`` with ``i - w < j <= i`` (kernel width ``w``), and
those only the pooled positions ``t = j // p`` (pool width and stride ``p``):
two or three of the ``T = (L - w + 1) // p`` pooled positions for the
presets. :class:`FastISM` keeps, per pair, the reference convolution output
(bias-free, shape ``(L - w + 1, K)``), the pooled and projected reference
(``BN(x) W + b`` of both LSTM directions, as
:class:`speidlib.score.projection.ProjectionCachedScorer` folds it) and every
recurrence state of the reference. For each mutant it recomputes only the
changed pooled positions (vectorised over mutants: the affected pool windows
of the reference convolution plus the kernel columns of the new base minus
the old one), projects the change, and reruns each LSTM direction from its
first changed step, starting from the reference state there
(:meth:`speidlib.score.recurrence.Direction.run_numpy`), then the dense head.

Exactness: the convolution is linear in the one-hot input and max-pooling,
bias and ReLU act per pooled position, so the recomputed pooled outputs are
those of the whole model (to float32 rounding); steps before the first
changed one have the reference inputs, so their states are the reference
states. :func:`fast_ism` agrees with :func:`speidlib.interpret.attribution.ism`
(which scores every mutant with the whole model) within 1e-5
(``tests/test_ism.py``, every preset); ``benchmarks/bench_ism.py`` times both.
"""
from __future__ import annotations

import threading

import numpy as np
from threadpoolctl import threadpool_limits

from speidlib import schema
from speidlib.data.encode import one_hot
from speidlib.interpret.attribution import Attribution, _check_output, _pair, _transform
from speidlib.model.infer import infer_batch
from speidlib.score.projection import ProjectionCachedScorer
from speidlib.score.recurrence import map_rows

#: bytes one batch of mutants may hold: its affected pool windows of the convolution output,
#: shape=(b, m, pool, K) float32, about three times over, or (LSTM sequences) both directions'
#: outputs, shape=(b, steps, U) float32 each
MUTANT_BATCH_BYTES = 256 * 2**20
#: pooled positions whose mutants run as one batch at most (a batch's recurrences start at its
#: first changed step, so wider batches waste steps but pay numpy's per-step overhead less often)
POOLS_PER_BATCH = 8
_CONV = {"enhancer": schema.ENHANCER_CONV, "promoter": schema.PROMOTER_CONV}


class _Branch:
    """One branch's convolution as numpy: kernel (w, 4, K), bias (K,), pool p, activation."""

    def __init__(self, model, branch: str):
        layer = model.get_layer(_CONV[branch])
        weights = layer.get_weights()
        self.kernel = np.asarray(weights[0], np.float32)
        self.bias = np.asarray(weights[1], np.float32) if len(weights) > 1 else \
            np.zeros(self.kernel.shape[-1], np.float32)
        self.width = self.kernel.shape[0]
        # (w + 1, 5, K): a zero row past the kernel's last column and a zero base for N, so a
        # mutant's change reads ``padded[column, new] - padded[column, old]`` without masks
        self.padded = np.zeros((self.width + 1, 5, self.kernel.shape[-1]), np.float32)
        self.padded[:self.width, :4] = self.kernel
        names = {lay.name: lay for lay in model.layers}
        if hasattr(layer, "pool_size") and not isinstance(layer.pool_size, tuple):   # PooledConv1D
            self.pool, self.relu = int(layer.pool_size), layer.activation == "relu"
        else:                                   # Conv1D -> MaxPooling1D -> Activation
            prefix = schema.ENHANCER_INPUT if branch == "enhancer" else schema.PROMOTER_INPUT
            self.pool = int(names[f"{prefix}_pool"].pool_size[0])
            self.relu = f"{prefix}_relu" in names
        # pooled positions one base can reach: its w convolution outputs span at most this many
        self.reach = (self.width + self.pool - 2) // self.pool + 1

    def conv(self, x: np.ndarray) -> np.ndarray:
        """Bias-free valid convolution, one-hot shape=(L, 4) -> shape=(L - w + 1, K)."""
        windows = np.lib.stride_tricks.sliding_window_view(x, self.width, axis=0)   # (Lc, 4, w)
        flat = windows.transpose(0, 2, 1).reshape(len(windows), -1)                  # (Lc, w * 4)
        return flat @ self.kernel.reshape(-1, self.kernel.shape[-1])

    def finish(self, pooled_max: np.ndarray) -> np.ndarray:
        """Bias and activation after the max-pool (exact: see :mod:`speidlib.model.layers`)."""
        out = pooled_max + self.bias
        return np.maximum(out, 0.0) if self.relu else out


class _Reference:
    """One pair's reference: convolution, pooled outputs, projections and recurrence states."""

    def __init__(self, ism: "FastISM", codes: dict):
        self.codes = codes
        self.onehot = {b: one_hot(codes[b]) for b in codes}
        self.conv, self.pooled = {}, {}
        for b in ("enhancer", "promoter"):
            br, steps = ism.branch[b], ism.steps[b]
            self.conv[b] = br.conv(self.onehot[b])
            p = br.pool
            self.pooled[b] = br.finish(self.conv[b][:steps * p].reshape(steps, p, -1).max(axis=1))
        # time order: the enhancer's steps, then the promoter's
        x = np.concatenate([self.pooled["enhancer"], self.pooled["promoter"]])        # (S, K)
        self.z = {"forward": x @ ism.forward.kernel + ism.forward.bias,
                  "backward": (x @ ism.backward.kernel + ism.backward.bias)[::-1].copy()}  # processing order
        self.h, self.c = {}, {}
        for d in ("forward", "backward"):
            self.h[d], self.c[d] = ism._states(ism.direction[d], self.z[d])
        self.features = ism._features(self.h["forward"][1:][None], self.h["backward"][1:][None])
        self.score = float(ism._head(self.features)[0])


class FastISM:
    """Scores single-base mutants of one pair, recomputing only what each base changes.

    Parameters
    ----------
    model : SPEID keras.Model (``speidlib.model.build_model`` or ``RUN/model.keras``)
    threads : threads for the numpy recurrences (None: every CPU this process may use, at most 8)
    check : compare the numpy branch with the model's own on the first pair (an unsupported
        branch raises ``ValueError``)

    Attributes
    ----------
    windows, steps : dict branch -> window length ``W`` and pooled length ``T``
    """

    def __init__(self, model, threads: int | None = None, check: bool = True):
        cached = ProjectionCachedScorer(model, threads=threads)
        self.forward, self.backward = cached.forward, cached.backward
        self.direction = {"forward": self.forward, "backward": self.backward}
        self.sequences, self.threads = cached.sequences, cached.threads
        self.head, self.pair_batch = cached.head, cached.pair_batch
        self.windows, self.steps = cached.windows, cached.steps
        self._branch_models = {"enhancer": cached.enhancer_branch, "promoter": cached.promoter_branch}
        self.branch = {b: _Branch(model, b) for b in ("enhancer", "promoter")}
        self._check = check
        self._reference: _Reference | None = None
        self._work: dict = {}

    # --- the reference ----------------------------------------------------------------
    def _states(self, direction, z: np.ndarray):
        """Every state of one direction over its steps: h, c shape=(S + 1, U), index = steps done."""
        u, n = direction.units, len(z)
        h, c = np.zeros((n + 1, u), np.float32), np.zeros((n + 1, u), np.float32)
        for q in range(n):
            hq, cq, _ = direction.run_numpy(z[None, q:q + 1], h[q:q + 1], c[q:q + 1], False)
            h[q + 1], c[q + 1] = hq[0], cq[0]
        return h, c

    def _features(self, seq_f: np.ndarray, seq_b: np.ndarray) -> np.ndarray:
        """The head's input from both directions' outputs in processing order, shape=(b, S, U) each."""
        if not self.sequences:
            return np.concatenate([seq_f[:, -1], seq_b[:, -1]], axis=-1)
        return np.concatenate([seq_f, seq_b[:, ::-1]], axis=-1)

    def _head(self, feats: np.ndarray) -> np.ndarray:
        out = [infer_batch(self.head, feats[s:s + self.pair_batch], self.pair_batch).reshape(-1)
               for s in range(0, len(feats), self.pair_batch)]
        return np.concatenate(out).astype(np.float64)

    def reference(self, enhancer, promoter) -> _Reference:
        """The pair's reference (kept for the next call with the same pair)."""
        e, p = _pair(enhancer, promoter)
        for b, x in (("enhancer", e), ("promoter", p)):
            if len(x) != self.windows[b]:
                raise ValueError(f"the {b} window has {len(x)} bases; the model reads {self.windows[b]}")
        ref = self._reference
        if ref is None or not (np.array_equal(ref.codes["enhancer"], e)
                               and np.array_equal(ref.codes["promoter"], p)):
            ref = self._reference = _Reference(self, {"enhancer": e, "promoter": p})
            if self._check:
                self._check_branches(ref)
                self._check = False
        return ref

    def _check_branches(self, ref: _Reference) -> None:
        for b, model in self._branch_models.items():
            want = np.asarray(model(ref.onehot[b][None], training=False))[0]
            if not np.allclose(ref.pooled[b], want, atol=1e-4 * max(1.0, np.abs(want).max())):
                raise ValueError(f"the model's {b} branch is not convolution -> max-pool -> bias/ReLU; "
                                 "use speidlib.interpret.attribution.ism")

    # --- mutants ----------------------------------------------------------------------
    def score_mutants(self, enhancer, promoter, branch: str, positions, bases) -> np.ndarray:
        """Sigmoid scores of single-base mutants of one pair, shape=(n,).

        Parameters
        ----------
        enhancer : shape=(We,) codes or (We, 4) one-hot; promoter likewise, shape=(Wp,)
        branch : ``"enhancer"`` or ``"promoter"``: the window the mutants change
        positions : shape=(n,), 0-based positions in that window
        bases : shape=(n,), the new base of each (0-3: A, C, G, T)
        """
        if branch not in self.branch:
            raise ValueError(f"branch must be 'enhancer' or 'promoter', got {branch!r}")
        ref = self.reference(enhancer, promoter)
        pos, base = np.asarray(positions, np.int64).reshape(-1), np.asarray(bases, np.int64).reshape(-1)
        if pos.shape != base.shape:
            raise ValueError(f"{len(pos)} positions but {len(base)} bases")
        window = self.windows[branch]
        if len(pos) and (pos.min() < 0 or pos.max() >= window or base.min() < 0 or base.max() > 3):
            raise ValueError(f"mutant positions must lie in 0..{window - 1} and bases in 0..3")
        br = self.branch[branch]
        # a base past the last pooled window's reach changes nothing (valid pooling drops it)
        changes = pos - br.width + 1 < self.steps[branch] * br.pool
        order = np.flatnonzero(changes)[np.argsort(pos[changes], kind="stable")]
        scores = np.full(len(pos), ref.score)
        steps = self.steps["enhancer"] + self.steps["promoter"]
        per = max(3 * 4 * br.reach * br.pool * br.kernel.shape[-1],
                  2 * 4 * self.forward.units * steps if self.sequences else 0)
        # at most MUTANT_BATCH_BYTES, and mutants of at most POOLS_PER_BATCH pooled positions at
        # a time: a batch's recurrences start at its first changed step
        chunk = max(16, min(MUTANT_BATCH_BYTES // per, 3 * POOLS_PER_BATCH * br.pool))
        with threadpool_limits(1, user_api="blas"):
            for s in range(0, len(order), chunk):
                rows = order[s:s + chunk]
                scores[rows] = self._score_chunk(ref, branch, pos[rows], base[rows])
        return scores

    def _buffers(self, shape: tuple) -> tuple[np.ndarray, np.ndarray]:
        """Two float32 work arrays of ``shape`` for the calling thread (grown, never shrunk)."""
        key = threading.get_ident()
        size = int(np.prod(shape))
        have = self._work.get(key)
        if have is None or have[0].size < size:
            have = self._work[key] = (np.empty(size, np.float32), np.empty(size, np.float32))
        return have[0][:size].reshape(shape), have[1][:size].reshape(shape)

    def _changed_pools(self, ref: _Reference, branch: str, pos: np.ndarray, base: np.ndarray):
        """Each mutant's changed pooled positions and the change of their projections.

        Returns
        -------
        first : shape=(n,), each mutant's first affected pooled position (time order, both windows)
        valid : shape=(n, m) bool, whether ``first + k`` is an affected pooled position
        dz : dict direction -> shape=(n, m, 4U), the projection change at ``first + k``
        """
        br, steps = self.branch[branch], self.steps[branch]
        w, p = br.width, br.pool
        lo = np.maximum(pos - w + 1, 0) // p                                   # first affected pool
        hi = np.minimum(pos, steps * p - 1) // p                               # last one
        t = lo[:, None] + np.arange(br.reach)                                  # (n, m)
        valid = t <= hi[:, None]
        j = np.minimum(t, steps - 1)[:, :, None] * p + np.arange(p)            # (n, m, p) conv rows
        d = pos[:, None, None] - j                                             # kernel column of the base
        inside = (d >= 0) & (d < w) & valid[:, :, None]
        dc = np.where(inside, d, w)                         # row w of the padded kernel: zeros
        old = ref.codes[branch][pos][:, None, None]         # N (4): the padded kernel's zero column
        # (n, m, p, K) in two buffers of this thread, reused: arrays this large are mapped
        # afresh by every allocation, and the page faults cost more than the arithmetic
        conv, change = self._buffers(j.shape + (br.kernel.shape[-1],))
        np.take(ref.conv[branch], j, axis=0, out=conv)
        flat = br.padded.reshape(-1, br.padded.shape[-1])                       # ((w + 1) * 5, K)
        conv += np.take(flat, dc * 5 + base[:, None, None], axis=0, out=change)
        conv -= np.take(flat, dc * 5 + old, axis=0, out=change)
        pooled = br.finish(conv.max(axis=2))                                   # (n, m, K)
        before = ref.pooled[branch][np.minimum(t, steps - 1)]
        diff = np.where(valid[..., None], pooled - before, 0.0).astype(np.float32)
        offset = 0 if branch == "enhancer" else self.steps["enhancer"]
        rows = diff.reshape(-1, diff.shape[-1])          # 2-D: numpy's stacked matmul was up to 100x slower
        dz = {d: (rows @ self.direction[d].kernel).reshape(*diff.shape[:2], -1) for d in self.direction}
        return lo + offset, valid, dz

    def _score_chunk(self, ref: _Reference, branch: str, pos, base) -> np.ndarray:
        # the changed pools of parts of the batch on threads side by side (numpy releases the GIL)
        parts = map_rows(lambda r: self._changed_pools(ref, branch, pos[r], base[r]), len(pos), self.threads)
        first, valid = np.concatenate([a for a, _, _ in parts]), np.concatenate([b for _, b, _ in parts])
        dz = {d: np.concatenate([c[d] for _, _, c in parts]) for d in self.direction}
        n, m = valid.shape
        total = self.steps["enhancer"] + self.steps["promoter"]
        mutant = np.broadcast_to(np.arange(n)[:, None], (n, m))[valid]
        step = (first[:, None] + np.arange(m))[valid]             # time order, both windows
        outs = {}
        for name, direction in self.direction.items():
            q = step if name == "forward" else total - 1 - step   # processing order
            q0, q1 = int(q.min()), int(q.max()) + 1
            # steps q0..q1 - 1 differ between mutants: their own inputs; the steps after
            # read the reference's inputs, one row shared by every mutant (no copy)
            z = np.broadcast_to(ref.z[name][q0:q1], (n, q1 - q0, ref.z[name].shape[1])).copy()
            z[mutant, q - q0] += dz[name][valid]
            tail = ref.z[name][None, q1:]
            h0, c0 = ref.h[name][q0], ref.c[name][q0]

            def run(r: slice, z=z, tail=tail, direction=direction, h0=h0, c0=c0):
                k = r.stop - r.start
                h, c, seq = direction.run_numpy(z[r], np.repeat(h0[None], k, 0), np.repeat(c0[None], k, 0),
                                                self.sequences)
                if tail.shape[1]:
                    h, c, rest = direction.run_numpy(tail, h, c, self.sequences, rows=np.zeros(k, np.int64))
                    seq = np.concatenate([seq, rest], axis=1) if self.sequences else None
                return seq if self.sequences else h[:, None]

            out = np.concatenate(map_rows(run, n, self.threads))
            if self.sequences:
                out = np.concatenate([np.broadcast_to(ref.h[name][1:q0 + 1], (n, q0, out.shape[2])), out],
                                     axis=1)
            outs[name] = out
        return self._head(self._features(outs["forward"], outs["backward"]))

    # --- the whole map ----------------------------------------------------------------
    def ism(self, enhancer, promoter, output: str = "logit") -> Attribution:
        """Saturation mutagenesis of both windows: as :func:`speidlib.interpret.attribution.ism`.

        Returns
        -------
        Attribution with ``enhancer`` shape=(We, 4) and ``promoter`` shape=(Wp, 4):
        ``f(mutant with base b at i) - f(reference)`` (0 at the reference base; at an N
        all four bases are alternatives), summaries ``-mean`` over the alternatives,
        ``reference`` the unmutated pair's output, all in ``output`` units.
        """
        _check_output(output)
        ref = self.reference(enhancer, promoter)
        reference = float(_transform(np.float64(ref.score), output))
        result = {}
        for branch in ("enhancer", "promoter"):
            x = ref.onehot[branch]
            pos, base = np.nonzero(x == 0)
            delta = np.zeros(x.shape, np.float64)
            scores = self.score_mutants(ref.codes["enhancer"], ref.codes["promoter"], branch, pos, base)
            delta[pos, base] = _transform(scores, output) - reference
            result[branch] = (delta, -delta.sum(axis=1) / (x == 0).sum(axis=1))
        return Attribution("ism", result["enhancer"][0], result["promoter"][0],
                           result["enhancer"][1], result["promoter"][1], reference, output)


def fast_ism(model, enhancer, promoter, output: str = "logit", threads: int | None = None) -> Attribution:
    """In-silico saturation mutagenesis of one pair by :class:`FastISM` (a new one per call).

    Parameters and result as :func:`speidlib.interpret.attribution.ism`; ``model`` must be a
    SPEID keras.Model (cut at its merge and BiLSTM like ``speid score``'s projection cache).
    Keep a :class:`FastISM` to map many pairs of one model.
    """
    return FastISM(model, threads=threads).ism(enhancer, promoter, output)
