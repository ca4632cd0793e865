"""SPEID in Keras 3: presets, the network, and JASPAR initialisation.

The network (preprint Sections 2.1-2.2) has two branches, one per element,
each a 1-D convolution (kernels of 40 bp) with ReLU and max-pooling (20/20).
The pooled branch outputs are concatenated **along the sequence axis**, then
BatchNorm, Dropout, a bidirectional LSTM, BatchNorm, Dropout, a dense layer
with BatchNorm and ReLU, Dropout and a single sigmoid unit::

    enhancer (We, 4) -> enhancer_conv -> pool [-> ReLU] ┐
    promoter (Wp, 4) -> promoter_conv -> pool [-> ReLU] ┴> merge (axis 1)
      -> BN -> Dropout -> bilstm                       = the *features* part
      -> BN -> Dropout [-> Flatten] -> dense -> BN -> ReLU [-> BN] -> Dropout
      -> logit [-> BN] -> sigmoid                      = the *head*

Every preset lives in :data:`PRESETS` (``cpu``, ``paper``, ``original``: the command line's order);
``ModelConfig.to_dict()`` is what a run records in ``RUN/config.json``.

Pooling before the ReLU, and one layer per branch
    ``max_pool(relu(x)) == relu(max_pool(x))`` exactly, because ReLU is
    monotone, and the pooled tensor is 20x smaller than the convolution's
    output, so the presets pool first. By default (``fused_conv=True``) each
    branch is one :class:`speidlib.model.layers.PooledConv1D` named
    ``enhancer_conv`` / ``promoter_conv``: convolution without bias, max-pool,
    then bias and ReLU on the pooled tensor (also exact). It holds the
    ``Conv1D`` weights (``kernel``, ``bias``), so kernel motifs read the same
    way; its output is the pooled, rectified tensor. ``fused_conv=False``
    builds the plain ``Conv1D -> MaxPooling1D -> Activation`` layers
    (``pool_before_activation=False`` puts the ReLU first, as the preprint
    writes it). ``benchmarks/RESULTS.md`` measures the forms against each
    other.

JASPAR initialisation
    As in the preprint, 525 of 1,024 kernels per branch (the same share of
    smaller presets) start from JASPAR CORE vertebrate motifs (pyjaspar,
    default release JASPAR2024; the preprint used JASPAR2016, which
    ``jaspar_release`` can name), each at a uniform random offset inside the
    kernel. The preprint says "position weight matrix"; its released code
    wrote the position *frequency* matrix minus the 0.25 background, which
    keeps the values in [-0.25, 0.75], on the scale of the learned weights;
    that is the default (``jaspar_matrix="pfm_centered"``), log2-odds is
    ``"pwm"``. The rest of every kernel, and all other kernels, keep Keras'
    Glorot-uniform start (the preprint's "standard uniform" would put every
    weight in [0, 1); the released code, like this one, kept the framework's
    initialiser). Biases start at 0 (in `original`, motif kernels draw theirs from
    U(-1, 0), as released). :func:`jaspar_init_table` lists which
    motif went where; it depends only on the config and the seed.

Only ``keras`` and ``keras.ops`` are used, so the model also runs on JAX.
The model is one flat functional graph, so ``model.get_layer(schema.ENHANCER_CONV)``
works; :func:`split_model` cuts it into the frozen *features* part and the
*head* (sharing the same layer objects) for stage 2 of training.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

PAPER_KERNELS, PAPER_JASPAR_KERNELS = 1024, 525
JASPAR_MATRICES = ("pfm_centered", "pwm")
LSTM_RECURRENT_ACTIVATIONS = ("sigmoid", "keras1_hard_sigmoid")


@dataclass(frozen=True)
class ModelConfig:
    """Every hyper-parameter of one SPEID variant (architecture and training).

    Attributes
    ----------
    name : preset name, recorded in ``RUN/config.json``
    n_kernels, kernel_size : convolution kernels per branch and their width (bp)
    pool_size : max-pool width and stride (bp)
    global_pool : pool each branch over its whole window instead (one maximum per
        kernel and window: which motifs the window holds, not where; ``pool_size``
        is then unused). The recurrence then reads two steps, the enhancer's and
        the promoter's pooled kernels, so a network has far fewer features to
        spell an element's identity with: the data-efficiency change that let the
        ``cpu`` network learn the demo grammar from 500 positives
        (docs/learning_curve.md)
    conv_activation : ``"relu"`` (preprint) or ``"linear"`` (released code)
    pool_before_activation : pool first, then ReLU (exact, faster); see module notes
    fused_conv : each branch's convolution, pooling and activation as one
        :class:`speidlib.model.layers.PooledConv1D` layer (bias added after the
        pooling: exact, and faster on a CPU); False builds the three plain
        Keras layers
    conv_l2 : L2 weight on the convolution kernels (0 = none)
    merge_dropout : dropout after the BatchNorm of the merged branches
    lstm_units : units per direction of the bidirectional LSTM
    lstm_return_sequences : keep the LSTM's whole output sequence and flatten it
    lstm_dropout : dropout after the BatchNorm of the LSTM output
    lstm_recurrent_activation : the LSTM's gate activation: ``"sigmoid"`` (Keras 3's
        default) or ``"keras1_hard_sigmoid"`` (``clip(0.2 x + 0.5, 0, 1)``, Keras 1's
        default, which the released code trained with)
    dense_units, dense_l2 : width and L2 weight of the dense layer
    dense_bn_after_relu : a second BatchNorm after the dense ReLU (preprint)
    dense_dropout : dropout after the dense block
    output_batchnorm : BatchNorm between the logit and the sigmoid (released code)
    n_jaspar_kernels : kernels per branch started from JASPAR motifs; None scales
        the preprint's 525 of 1,024 to ``n_kernels``
    jaspar_release : pyjaspar release of the CORE vertebrate matrices
    jaspar_matrix : ``"pfm_centered"`` (frequencies minus 0.25, as the released
        code) or ``"pwm"`` (log2-odds)
    jaspar_offset_range : ``(lo, hi)`` or None: a motif of length ``L`` starts
        at a uniform offset ``lo <= offset <= hi - L`` of its kernel (read
        forward), and only motifs of at most ``hi - lo`` bp are drawn; None:
        anywhere in the kernel, ``0 <= offset <= kernel_size - L``
    jaspar_bias_range : ``(lo, hi)`` or None: each motif kernel's bias starts
        uniform in ``[lo, hi)``, drawn per branch; None: 0
    learning_rate, batch_size : Adam step size and examples per batch (stage 1)
    retrain_learning_rate : Adam step size in stage 2 (None = ``learning_rate``)
    pretrain_epochs, retrain_epochs : default epochs of the two stages
    patience : epochs without validation improvement before stopping early
    keep_epoch : ``"best"`` (the epoch best by ``monitor``, stopping early after
        ``patience``) or ``"last"`` (every epoch runs and the last one's weights
        are kept, as the released code did; the run's ``best_epochs`` then name
        the last epoch)
    monitor : ``"val_loss"`` (lower is better) or ``"val_auroc"`` (higher is better)
    retrain_class_weight : weight classes by sqrt(1/frequency) in stage 2
        (released code)
    shift_negatives : in stage 1, shift the negatives' windows at random too
        (a new shift every epoch; one fixed shift in validation). The preprint
        shifts only the augmented positives, so a centred element marks a
        negative, and a model can learn the position instead of the sequence
        (not measured by a committed script). ``paper`` and ``original`` keep the
        preprint's protocol; ``cpu`` shifts.
    pretrain_negatives : stage 1's negatives: ``"all"`` of them every epoch
        (the preprint, balanced by 20 shifted copies of each positive at its
        1:20 class ratio) or ``"match"``, as many as there are shifted
        positives, drawn afresh every epoch: balanced epochs with fewer copies
        per positive and more distinct positives for the same time (``cpu``,
        with ``--augment 4``).
    rc_augment : in stage 1, reverse-complement each training window (each
        branch on its own) with probability 1/2, drawn every epoch
    redraw_shifts : in stage 1, give every training example (the positive
        copies too) a fresh random shift every epoch
    epoch_examples : with ``pretrain_negatives="match"``, at least this many
        stage-1 training examples per epoch (half positive copies, cycled, half
        negatives), so that a small table gets as many steps per epoch as a
        large one; None: one pass over the positive copies
    swap_negatives : in stage 1, the fraction of each epoch's negatives replaced
        by partner swaps (one training positive's enhancer with another's
        promoter, never a known positive pair), so that an element's identity
        does not tell the label (:class:`speidlib.data.batches.PairBatches`)
    """

    name: str = "custom"
    n_kernels: int = PAPER_KERNELS
    kernel_size: int = 40
    pool_size: int = 20
    global_pool: bool = False
    conv_activation: str = "relu"
    pool_before_activation: bool = True
    fused_conv: bool = True
    conv_l2: float = 0.0
    merge_dropout: float = 0.5
    lstm_units: int = 100
    lstm_return_sequences: bool = False
    lstm_dropout: float = 0.5
    lstm_recurrent_activation: str = "sigmoid"
    dense_units: int = 925
    dense_l2: float = 1e-5
    dense_bn_after_relu: bool = True
    dense_dropout: float = 0.5
    output_batchnorm: bool = False
    n_jaspar_kernels: int | None = None
    jaspar_release: str = "JASPAR2024"
    jaspar_matrix: str = "pfm_centered"
    jaspar_offset_range: tuple[int, int] | None = None
    jaspar_bias_range: tuple[float, float] | None = None
    learning_rate: float = 1e-5
    batch_size: int = 100
    retrain_learning_rate: float | None = None
    pretrain_epochs: int = 32
    retrain_epochs: int = 80
    patience: int = 8
    keep_epoch: str = "best"
    monitor: str = "val_loss"
    retrain_class_weight: bool = False
    shift_negatives: bool = False
    pretrain_negatives: str = "all"
    rc_augment: bool = False
    redraw_shifts: bool = False
    epoch_examples: int | None = None
    swap_negatives: float = 0.0

    def __post_init__(self):
        for f in ("n_kernels", "kernel_size", "pool_size", "lstm_units", "dense_units", "batch_size"):
            if int(getattr(self, f)) < 1:
                raise ValueError(f"ModelConfig.{f} must be a positive integer, got {getattr(self, f)}")
        if self.conv_activation not in ("relu", "linear"):
            raise ValueError(f"conv_activation must be 'relu' or 'linear', got {self.conv_activation!r}")
        if self.lstm_recurrent_activation not in LSTM_RECURRENT_ACTIVATIONS:
            raise ValueError(f"lstm_recurrent_activation must be one of {LSTM_RECURRENT_ACTIVATIONS}, "
                             f"got {self.lstm_recurrent_activation!r}")
        if self.jaspar_matrix not in JASPAR_MATRICES:
            raise ValueError(f"jaspar_matrix must be one of {JASPAR_MATRICES}, got {self.jaspar_matrix!r}")
        if self.pretrain_negatives not in ("all", "match"):
            raise ValueError(f"pretrain_negatives must be 'all' or 'match', got {self.pretrain_negatives!r}")
        if self.keep_epoch not in ("best", "last"):
            raise ValueError(f"keep_epoch must be 'best' or 'last', got {self.keep_epoch!r}")
        if self.monitor not in ("val_loss", "val_auroc"):
            raise ValueError(f"monitor must be 'val_loss' or 'val_auroc', got {self.monitor!r}")
        if not 0.0 <= self.swap_negatives <= 1.0:
            raise ValueError(f"swap_negatives must lie in [0, 1], got {self.swap_negatives}")
        if self.epoch_examples is not None and int(self.epoch_examples) < 1:
            raise ValueError(f"epoch_examples must be a positive integer or None, got {self.epoch_examples}")
        if self.epoch_examples is not None and self.pretrain_negatives != "match":
            raise ValueError(f"epoch_examples needs matched stage-1 negatives; the {self.name!r} preset draws "
                             f"{self.pretrain_negatives!r} of them")
        for f in ("merge_dropout", "lstm_dropout", "dense_dropout"):
            if not 0.0 <= getattr(self, f) < 1.0:
                raise ValueError(f"ModelConfig.{f} must lie in [0, 1), got {getattr(self, f)}")
        for f in ("jaspar_offset_range", "jaspar_bias_range"):
            v = getattr(self, f)
            if v is not None:   # JSON gives lists: keep the frozen config hashable
                if len(v) != 2 or not v[0] < v[1]:
                    raise ValueError(f"ModelConfig.{f} must be (lo, hi) with lo < hi, got {v!r}")
                object.__setattr__(self, f, tuple(v))
        r = self.jaspar_offset_range
        if r is not None and not (0 <= r[0] and r[1] <= self.kernel_size and r[0] == int(r[0])
                                  and r[1] == int(r[1])):
            raise ValueError(f"ModelConfig.jaspar_offset_range must be whole positions within the "
                             f"{self.kernel_size}-bp kernel, got {r!r}")
        if self.n_jaspar_kernels is not None and not 0 <= self.n_jaspar_kernels <= self.n_kernels:
            raise ValueError(f"n_jaspar_kernels must lie in 0..n_kernels ({self.n_kernels}), "
                             f"got {self.n_jaspar_kernels}")

    def pool_width(self, window: int) -> int:
        """The max-pool width (and stride) of a branch whose window is ``window`` bp."""
        return int(window) - self.kernel_size + 1 if self.global_pool else self.pool_size

    @property
    def jaspar_kernels(self) -> int:
        """Kernels per branch initialised from JASPAR (525 of 1,024, scaled)."""
        if self.n_jaspar_kernels is not None:
            return int(self.n_jaspar_kernels)
        return int(round(PAPER_JASPAR_KERNELS / PAPER_KERNELS * self.n_kernels))

    @property
    def stage2_learning_rate(self) -> float:
        return self.learning_rate if self.retrain_learning_rate is None else self.retrain_learning_rate

    def replace(self, **changes) -> "ModelConfig":
        """A copy with some fields changed (checked again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """All fields plus the derived JASPAR kernel count, for ``RUN/config.json``."""
        return {**dataclasses.asdict(self), "jaspar_kernels": self.jaspar_kernels}

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        """Inverse of :meth:`to_dict` (derived keys are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


PRESETS: dict[str, ModelConfig] = {
    # Same architecture, sized to train on 2 CPU cores in minutes on the demo
    # data (windows of about 1 kb): 64 kernels of 20 bp (the planted motifs
    # are 12-20 bp; 40-bp kernels learned the demo grammar far more slowly
    # and memorised the few distinct positives), a smaller LSTM and dense
    # layer, lighter dropout, a 100x larger step size, and the best epoch
    # chosen by validation AUROC (validation loss rises with over-confidence
    # while the ranking still improves). Stage 1 shifts negatives too (no
    # positional cue) and draws as many negatives as shifted positives each
    # epoch, so 4 copies per positive (--augment 4) keep the epochs balanced
    # and short while the demo keeps TargetFinder's 1:20 class ratio.
    # Since issue 26 it is the learning curve's small-table recipe
    # (docs/learning_curve.md): each branch max-pooled over its whole window,
    # windows reverse-complemented and shifts redrawn every epoch, and at least
    # 16,000 stage-1 examples per epoch. It learns the demo grammar from 500
    # positives where the preset before it (the curve's cpu_v2) needed 5,000.
    "cpu": ModelConfig(
        name="cpu", n_kernels=64, kernel_size=20, lstm_units=32, dense_units=64, merge_dropout=0.2,
        lstm_dropout=0.2, dense_dropout=0.2, dense_l2=1e-5, learning_rate=1e-3,
        batch_size=64, pretrain_epochs=12, retrain_epochs=6, patience=4, monitor="val_auroc",
        shift_negatives=True, pretrain_negatives="match",
        global_pool=True, rc_augment=True, redraw_shifts=True, epoch_examples=16_000),
    # The preprint's text (Sections 2.1-2.2), trained as in Section 2.1.
    "paper": ModelConfig(name="paper"),
    # ma-compbio/SPEID pairwise/frozen_model/build_model.py and retraining_model3.py:
    # no ReLU after the convolutions, L2 1e-6 on conv and dense, Dropout 0.25
    # after the merge, LSTM sequences flattened, Dense 1000, BN before the
    # sigmoid, batches of 50, class-weighted retraining.
    # pairwise/util.py initialize_with_JASPAR: motif at np.random.randint(3, 30 - L + 1 - 3)
    # of the stored kernel, positions reversed; Theano's convolution flips the kernel, so
    # read forward the motif sits at 40 - start - L, i.e. 13 <= offset <= 37 - L; motif
    # kernels' biases U(-1, 0). Keras 1's LSTM gates: hard_sigmoid. Its motifs: every matrix of
    # DanQ's JASPAR_CORE_2016_vertebrates.npy, here JASPAR 2016's 519 CORE vertebrate matrices
    # (pyjaspar), one kernel each; not the 6 reverse complements it adds (README: which 6 depends
    # on the order of a file the repository does not hold).
    "original": ModelConfig(
        name="original", conv_activation="linear", conv_l2=1e-6, merge_dropout=0.25,
        jaspar_release="JASPAR2016", n_jaspar_kernels=519,
        lstm_return_sequences=True, dense_units=1000, dense_l2=1e-6, dense_bn_after_relu=False,
        output_batchnorm=True, batch_size=50, retrain_class_weight=True,
        jaspar_offset_range=(13, 37), jaspar_bias_range=(-1.0, 0.0),
        lstm_recurrent_activation="keras1_hard_sigmoid",
        # exactly 32 epochs, then 360 in retraining, each stage's last epoch kept
        retrain_epochs=360, keep_epoch="last"),
}


def get_config(preset: "str | ModelConfig") -> ModelConfig:
    """The :class:`ModelConfig` of a preset name (or the config itself)."""
    if isinstance(preset, ModelConfig):
        return preset
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[preset]
