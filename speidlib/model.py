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

Every preset lives in :data:`PRESETS` (``paper``, ``original``, ``cpu``);
``ModelConfig.to_dict()`` is what a run records in ``RUN/config.json``.

Pooling before the ReLU, and one layer per branch
    ``max_pool(relu(x)) == relu(max_pool(x))`` exactly, because ReLU is
    monotone, and the pooled tensor is 20x smaller than the convolution's
    output, so the presets pool first. By default (``fused_conv=True``) each
    branch is one :class:`speidlib.fastconv.PooledConv1D` named
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
    initialiser). Biases start at 0. :func:`jaspar_init_table` lists which
    motif went where; it depends only on the config and the seed.

Only ``keras`` and ``keras.ops`` are used, so the model also runs on JAX.
The model is one flat functional graph, so ``model.get_layer(schema.ENHANCER_CONV)``
works; :func:`split_model` cuts it into the frozen *features* part and the
*head* (sharing the same layer objects) for stage 2 of training.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from . import schema

PAPER_KERNELS, PAPER_JASPAR_KERNELS = 1024, 525
JASPAR_MATRICES = ("pfm_centered", "pwm")


@dataclass(frozen=True)
class ModelConfig:
    """Every hyper-parameter of one SPEID variant (architecture and training).

    Attributes
    ----------
    name : preset name, recorded in ``RUN/config.json``
    n_kernels, kernel_size : convolution kernels per branch and their width (bp)
    pool_size : max-pool width and stride (bp)
    conv_activation : ``"relu"`` (preprint) or ``"linear"`` (released code)
    pool_before_activation : pool first, then ReLU (exact, faster); see module notes
    fused_conv : each branch's convolution, pooling and activation as one
        :class:`speidlib.fastconv.PooledConv1D` layer (bias added after the
        pooling: exact, and faster on a CPU); False builds the three plain
        Keras layers
    conv_l2 : L2 weight on the convolution kernels (0 = none)
    merge_dropout : dropout after the BatchNorm of the merged branches
    lstm_units : units per direction of the bidirectional LSTM
    lstm_return_sequences : keep the LSTM's whole output sequence and flatten it
    lstm_dropout : dropout after the BatchNorm of the LSTM output
    dense_units, dense_l2 : width and L2 weight of the dense layer
    dense_bn_after_relu : a second BatchNorm after the dense ReLU (preprint)
    dense_dropout : dropout after the dense block
    output_batchnorm : BatchNorm between the logit and the sigmoid (released code)
    n_jaspar_kernels : kernels per branch started from JASPAR motifs; None scales
        the preprint's 525 of 1,024 to ``n_kernels``
    jaspar_release : pyjaspar release of the CORE vertebrate matrices
    jaspar_matrix : ``"pfm_centered"`` (frequencies minus 0.25, as the released
        code) or ``"pwm"`` (log2-odds)
    learning_rate, batch_size : Adam step size and examples per batch (stage 1)
    retrain_learning_rate : Adam step size in stage 2 (None = ``learning_rate``)
    pretrain_epochs, retrain_epochs : default epochs of the two stages
    patience : epochs without validation improvement before stopping early
    monitor : ``"val_loss"`` (lower is better) or ``"val_auroc"`` (higher is better)
    retrain_class_weight : weight classes by sqrt(1/frequency) in stage 2
        (released code)
    shift_negatives : in stage 1, shift the negatives' windows at random too
        (a new shift every epoch; one fixed shift in validation). The preprint
        shifts only the augmented positives, so a centred element marks a
        negative, and a model learns the position instead of the sequence
        (on a 21,000-pair demo: test AUROC 0.89 with the preprint's protocol,
        0.95 with negatives shifted). ``paper`` and ``original`` keep the preprint's
        protocol; ``cpu`` shifts.
    pretrain_negatives : stage 1's negatives: ``"all"`` of them every epoch
        (the preprint, balanced by 20 shifted copies of each positive at its
        1:20 class ratio) or ``"match"``, as many as there are shifted
        positives, drawn afresh every epoch: balanced epochs with fewer copies
        per positive and more distinct positives for the same time (``cpu``,
        with ``--augment 4``).
    """

    name: str = "custom"
    n_kernels: int = PAPER_KERNELS
    kernel_size: int = 40
    pool_size: int = 20
    conv_activation: str = "relu"
    pool_before_activation: bool = True
    fused_conv: bool = True
    conv_l2: float = 0.0
    merge_dropout: float = 0.5
    lstm_units: int = 100
    lstm_return_sequences: bool = False
    lstm_dropout: float = 0.5
    dense_units: int = 925
    dense_l2: float = 1e-5
    dense_bn_after_relu: bool = True
    dense_dropout: float = 0.5
    output_batchnorm: bool = False
    n_jaspar_kernels: int | None = None
    jaspar_release: str = "JASPAR2024"
    jaspar_matrix: str = "pfm_centered"
    learning_rate: float = 1e-5
    batch_size: int = 100
    retrain_learning_rate: float | None = None
    pretrain_epochs: int = 32
    retrain_epochs: int = 80
    patience: int = 8
    monitor: str = "val_loss"
    retrain_class_weight: bool = False
    shift_negatives: bool = False
    pretrain_negatives: str = "all"

    def __post_init__(self):
        for f in ("n_kernels", "kernel_size", "pool_size", "lstm_units", "dense_units", "batch_size"):
            if int(getattr(self, f)) < 1:
                raise ValueError(f"ModelConfig.{f} must be a positive integer, got {getattr(self, f)}")
        if self.conv_activation not in ("relu", "linear"):
            raise ValueError(f"conv_activation must be 'relu' or 'linear', got {self.conv_activation!r}")
        if self.jaspar_matrix not in JASPAR_MATRICES:
            raise ValueError(f"jaspar_matrix must be one of {JASPAR_MATRICES}, got {self.jaspar_matrix!r}")
        if self.pretrain_negatives not in ("all", "match"):
            raise ValueError(f"pretrain_negatives must be 'all' or 'match', got {self.pretrain_negatives!r}")
        if self.monitor not in ("val_loss", "val_auroc"):
            raise ValueError(f"monitor must be 'val_loss' or 'val_auroc', got {self.monitor!r}")
        for f in ("merge_dropout", "lstm_dropout", "dense_dropout"):
            if not 0.0 <= getattr(self, f) < 1.0:
                raise ValueError(f"ModelConfig.{f} must lie in [0, 1), got {getattr(self, f)}")
        if self.n_jaspar_kernels is not None and not 0 <= self.n_jaspar_kernels <= self.n_kernels:
            raise ValueError(f"n_jaspar_kernels must lie in 0..n_kernels ({self.n_kernels}), "
                             f"got {self.n_jaspar_kernels}")

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
    # The preprint's text (Sections 2.1-2.2), trained as in Section 2.1.
    "paper": ModelConfig(name="paper"),
    # ma-compbio/SPEID pairwise/frozen_model/build_model.py and retraining_model3.py:
    # no ReLU after the convolutions, L2 1e-6 on conv and dense, Dropout 0.25
    # after the merge, LSTM sequences flattened, Dense 1000, BN before the
    # sigmoid, batches of 50, class-weighted retraining.
    "original": ModelConfig(
        name="original", conv_activation="linear", conv_l2=1e-6, merge_dropout=0.25,
        lstm_return_sequences=True, dense_units=1000, dense_l2=1e-6, dense_bn_after_relu=False,
        output_batchnorm=True, batch_size=50, retrain_class_weight=True),
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
    "cpu": ModelConfig(
        name="cpu", n_kernels=64, kernel_size=20, lstm_units=32, dense_units=64, merge_dropout=0.2,
        lstm_dropout=0.2, dense_dropout=0.2, dense_l2=1e-5, learning_rate=1e-3,
        batch_size=64, pretrain_epochs=12, retrain_epochs=6, patience=4, monitor="val_auroc",
        shift_negatives=True, pretrain_negatives="match"),
}


def get_config(preset: "str | ModelConfig") -> ModelConfig:
    """The :class:`ModelConfig` of a preset name (or the config itself)."""
    if isinstance(preset, ModelConfig):
        return preset
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[preset]


# --- the network ----------------------------------------------------------------
def build_model(preset: "str | ModelConfig", enhancer_window: int, promoter_window: int,
                jaspar_init: bool = True, seed: int = 0):
    """Build (uncompiled) SPEID.

    Parameters
    ----------
    preset : a name in :data:`PRESETS` or a :class:`ModelConfig`
    enhancer_window, promoter_window : input lengths We, Wp in bp
    jaspar_init : start ``config.jaspar_kernels`` kernels per branch from JASPAR
        motifs (:func:`jaspar_init_table`); False gives Glorot-uniform kernels
    seed : seeds every initialiser and dropout layer, so equal seeds give
        equal models

    Returns
    -------
    keras.Model
        inputs ``[enhancer (b, We, 4), promoter (b, Wp, 4)]`` named
        ``schema.ENHANCER_INPUT`` / ``schema.PROMOTER_INPUT``; output the
        interaction probability, shape=(b, 1), float32.
    """
    import keras
    from keras import layers

    config = get_config(preset)
    windows = {schema.ENHANCER_INPUT: enhancer_window, schema.PROMOTER_INPUT: promoter_window}
    shortest = config.kernel_size + config.pool_size - 1
    for name, w in windows.items():
        if int(w) != w or w < shortest:
            raise ValueError(f"{name}_window must be an integer of at least {shortest} bp (kernel "
                             f"{config.kernel_size} + pool {config.pool_size} - 1) for preset "
                             f"{config.name!r}, got {w}")

    seeds = iter(range(seed * 1000, seed * 1000 + 1000))
    glorot = lambda: keras.initializers.GlorotUniform(seed=next(seeds))  # noqa: E731
    conv_reg = keras.regularizers.L2(config.conv_l2) if config.conv_l2 else None
    dense_reg = keras.regularizers.L2(config.dense_l2) if config.dense_l2 else None

    inputs, pooled = [], []
    for name, conv_name in ((schema.ENHANCER_INPUT, schema.ENHANCER_CONV),
                            (schema.PROMOTER_INPUT, schema.PROMOTER_CONV)):
        x = inp = keras.Input(shape=(int(windows[name]), 4), name=name)
        if config.fused_conv:
            from .fastconv import PooledConv1D

            pooled.append(PooledConv1D(config.n_kernels, config.kernel_size, config.pool_size,
                                       activation=config.conv_activation, kernel_initializer=glorot(),
                                       kernel_regularizer=conv_reg, name=conv_name)(x))
            inputs.append(inp)
            continue
        x = layers.Conv1D(config.n_kernels, config.kernel_size, padding="valid",
                          kernel_initializer=glorot(), kernel_regularizer=conv_reg, name=conv_name)(x)
        relu = config.conv_activation == "relu"
        if relu and not config.pool_before_activation:
            x = layers.Activation("relu", name=f"{name}_relu")(x)
        x = layers.MaxPooling1D(config.pool_size, strides=config.pool_size, name=f"{name}_pool")(x)
        if relu and config.pool_before_activation:
            x = layers.Activation("relu", name=f"{name}_relu")(x)
        inputs.append(inp)
        pooled.append(x)

    x = layers.Concatenate(axis=1, name="merge")(pooled)
    x = layers.BatchNormalization(name="merge_bn")(x)
    x = layers.Dropout(config.merge_dropout, seed=next(seeds), name="merge_dropout")(x)
    lstm = dict(units=config.lstm_units, return_sequences=config.lstm_return_sequences)
    forward = layers.LSTM(**lstm, kernel_initializer=glorot(),
                          recurrent_initializer=keras.initializers.Orthogonal(seed=next(seeds)),
                          name="lstm_forward")
    backward = layers.LSTM(**lstm, go_backwards=True, kernel_initializer=glorot(),
                           recurrent_initializer=keras.initializers.Orthogonal(seed=next(seeds)),
                           name="lstm_backward")
    features = layers.Bidirectional(forward, backward_layer=backward, name=schema.FEATURES_LAYER)(x)

    x = features
    for layer in _head_layers(config, glorot, next(seeds), dense_reg):
        x = layer(x)
    model = keras.Model(inputs, x, name=f"speid_{config.name}")

    if jaspar_init and config.jaspar_kernels:
        apply_jaspar_init(model, jaspar_init_table(config, seed), config.jaspar_matrix)
    return model


def _head_layers(config: ModelConfig, glorot, seed: int, dense_reg) -> list:
    """The dense head, in order (a plain chain, so it can be re-applied)."""
    from keras import layers

    head = [layers.BatchNormalization(name="lstm_bn"),
            layers.Dropout(config.lstm_dropout, seed=seed, name="lstm_dropout")]
    if config.lstm_return_sequences:
        head.append(layers.Flatten(name="flatten"))
    head += [layers.Dense(config.dense_units, kernel_initializer=glorot(),
                          kernel_regularizer=dense_reg, name="dense"),
             layers.BatchNormalization(name="dense_bn"),
             layers.Activation("relu", name="dense_relu")]
    if config.dense_bn_after_relu:
        head.append(layers.BatchNormalization(name="relu_bn"))
    head += [layers.Dropout(config.dense_dropout, seed=seed + 1, name="dense_dropout"),
             layers.Dense(1, kernel_initializer=glorot(), name="logit")]
    if config.output_batchnorm:
        head.append(layers.BatchNormalization(name="logit_bn"))
    # float32 output even under a mixed_float16 policy
    head.append(layers.Activation("sigmoid", dtype="float32", name=schema.OUTPUT_LAYER))
    return head


def split_model(model):
    """Cut SPEID into the part frozen in stage 2 and the dense head.

    Both parts share the layer objects (and so the weights) of ``model``:
    training the head trains ``model``'s head.

    Parameters
    ----------
    model : keras.Model from :func:`build_model` (or loaded from ``model.keras``)

    Returns
    -------
    feature_extractor : keras.Model, the two inputs -> LSTM output,
        shape=(b, 2 * lstm_units) or (b, T, 2 * lstm_units)
    head : keras.Model, features -> probability, shape=(b, 1)
    """
    import keras

    try:
        boundary = model.get_layer(schema.FEATURES_LAYER)
    except ValueError:
        raise ValueError(f"model {model.name!r} has no layer {schema.FEATURES_LAYER!r}: "
                         "it was not built by speidlib.model.build_model") from None
    feature_extractor = keras.Model(model.inputs, boundary.output, name="feature_extractor")
    names = [layer.name for layer in model.layers]
    head_layers = model.layers[names.index(schema.FEATURES_LAYER) + 1:]
    x = inp = keras.Input(shape=tuple(boundary.output.shape[1:]), name="features")
    for layer in head_layers:
        x = layer(x)
    return feature_extractor, keras.Model(inp, x, name="head")


def feature_layers(model) -> list:
    """The layers frozen in stage 2 (inputs up to and including the LSTM)."""
    names = [layer.name for layer in model.layers]
    return model.layers[:names.index(schema.FEATURES_LAYER) + 1]


# --- JASPAR initialisation --------------------------------------------------------
def motif_values(motif, kind: str = "pfm_centered") -> np.ndarray:
    """Kernel values for one JASPAR motif, shape=(length, 4), A/C/G/T columns.

    ``"pfm_centered"``: position frequencies minus the 0.25 background, in
    [-0.25, 0.75] (what the released SPEID code wrote into its kernels).
    ``"pwm"``: log2-odds against a uniform background, pseudocount 0.8.
    """
    if kind == "pfm_centered":
        return motif.pfm() - 0.25
    if kind == "pwm":
        return motif.pwm()
    raise ValueError(f"jaspar_matrix must be one of {JASPAR_MATRICES}, got {kind!r}")


def jaspar_init_table(preset: "str | ModelConfig", seed: int = 0):
    """Which JASPAR motif starts which kernel, and where.

    ``config.jaspar_kernels`` distinct motifs no longer than the kernel are
    drawn at random from the release's CORE vertebrate matrices and given to
    kernels 0, 1, ... of **both** branches (the branches start alike, as in
    the released code; their other kernels differ). Each motif sits at a
    uniform random offset ``0 <= offset <= kernel_size - length``. The draw
    depends only on the config and ``seed``.

    Returns
    -------
    pandas.DataFrame
        one row per (branch, kernel): ``branch, kernel, matrix_id, name,
        offset, length, release``.
    """
    import pandas as pd

    from .jaspar import load_motifs

    config = get_config(preset)
    motifs = [m for m in load_motifs(config.jaspar_release) if m.length <= config.kernel_size]
    n = config.jaspar_kernels
    if n > len(motifs):
        raise ValueError(f"{config.jaspar_release} has only {len(motifs)} CORE vertebrate motifs of at "
                         f"most {config.kernel_size} bp, but {n} JASPAR kernels were asked for")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(motifs), size=n, replace=False)
    rows = []
    for kernel, i in enumerate(chosen):
        m = motifs[i]
        offset = int(rng.integers(0, config.kernel_size - m.length + 1))
        for branch in schema.BRANCHES:
            rows.append((branch, kernel, m.matrix_id, m.name, offset, m.length, config.jaspar_release))
    return pd.DataFrame(rows, columns=["branch", "kernel", "matrix_id", "name", "offset", "length",
                                       "release"])


def apply_jaspar_init(model, table, kind: str = "pfm_centered") -> None:
    """Write motifs into the conv kernels, as listed in ``table`` (in place).

    A kernel has shape=(kernel_size, 4, n_kernels) and Keras convolves
    without flipping, so ``kernel[offset:offset + length, :, k]`` holds the
    motif in its forward orientation. Other positions keep their initial
    (Glorot-uniform) values; biases stay 0.
    """
    from .jaspar import load_motifs

    conv_names = {"enhancer": schema.ENHANCER_CONV, "promoter": schema.PROMOTER_CONV}
    cache: dict[str, dict] = {}
    for branch, rows in table.groupby("branch"):
        layer = model.get_layer(conv_names[branch])
        kernel, *rest = layer.get_weights()
        for r in rows.itertuples():
            if r.release not in cache:
                cache[r.release] = {m.matrix_id: m for m in load_motifs(r.release)}
            values = motif_values(cache[r.release][r.matrix_id], kind)
            if r.offset + len(values) > kernel.shape[0] or r.kernel >= kernel.shape[2]:
                raise ValueError(f"JASPAR table row {r.Index}: {r.matrix_id} at offset {r.offset} does "
                                 f"not fit kernel {r.kernel} of shape {kernel.shape}")
            kernel[r.offset:r.offset + len(values), :, r.kernel] = values
        layer.set_weights([kernel, *rest])
