"""Build the SPEID network from a :class:`speidlib.model.presets.ModelConfig`.

:func:`build_model` gives the two-branch network (one convolution + max-pool
branch per element, merged along the sequence axis at ``schema.MERGE_LAYER``,
BatchNorm ``schema.MERGE_BATCHNORM``, a bidirectional LSTM
``schema.FEATURES_LAYER``, a dense head and a float32 sigmoid output);
:func:`split_model` cuts it into the part frozen in stage 2 and the head.
The presets, their sizes and their sources are described in
:mod:`speidlib.model.presets`.
"""
from __future__ import annotations

from speidlib import schema
from speidlib.model.jaspar_init import apply_jaspar_init, jaspar_init_table
from speidlib.model.presets import ModelConfig, get_config


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

    from speidlib.model.layers import keras1_hard_sigmoid

    config = get_config(preset)
    windows = {schema.ENHANCER_INPUT: enhancer_window, schema.PROMOTER_INPUT: promoter_window}
    shortest = config.kernel_size + (0 if config.global_pool else config.pool_size - 1)
    for name, w in windows.items():
        if int(w) != w or w < shortest:
            what = "the kernel" if config.global_pool else f"kernel {config.kernel_size} + pool {config.pool_size} - 1"
            raise ValueError(f"{name}_window must be an integer of at least {shortest} bp ({what}) for preset "
                             f"{config.name!r}, got {w}")

    seeds = iter(range(seed * 1000, seed * 1000 + 1000))
    glorot = lambda: keras.initializers.GlorotUniform(seed=next(seeds))  # noqa: E731
    conv_reg = keras.regularizers.L2(config.conv_l2) if config.conv_l2 else None
    dense_reg = keras.regularizers.L2(config.dense_l2) if config.dense_l2 else None

    inputs, pooled = [], []
    for name, conv_name in ((schema.ENHANCER_INPUT, schema.ENHANCER_CONV),
                            (schema.PROMOTER_INPUT, schema.PROMOTER_CONV)):
        x = inp = keras.Input(shape=(int(windows[name]), 4), name=name)
        pool = config.pool_width(windows[name])
        if config.fused_conv:
            from speidlib.model.layers import PooledConv1D

            pooled.append(PooledConv1D(config.n_kernels, config.kernel_size, pool,
                                       activation=config.conv_activation, kernel_initializer=glorot(),
                                       kernel_regularizer=conv_reg, name=conv_name)(x))
            inputs.append(inp)
            continue
        x = layers.Conv1D(config.n_kernels, config.kernel_size, padding="valid",
                          kernel_initializer=glorot(), kernel_regularizer=conv_reg, name=conv_name)(x)
        relu = config.conv_activation == "relu"
        if relu and not config.pool_before_activation:
            x = layers.Activation("relu", name=f"{name}_relu")(x)
        x = layers.MaxPooling1D(pool, strides=pool, name=f"{name}_pool")(x)
        if relu and config.pool_before_activation:
            x = layers.Activation("relu", name=f"{name}_relu")(x)
        inputs.append(inp)
        pooled.append(x)

    x = layers.Concatenate(axis=1, name=schema.MERGE_LAYER)(pooled)
    x = layers.BatchNormalization(name=schema.MERGE_BATCHNORM)(x)
    x = layers.Dropout(config.merge_dropout, seed=next(seeds), name="merge_dropout")(x)
    lstm = dict(units=config.lstm_units, return_sequences=config.lstm_return_sequences,
                recurrent_activation=(keras1_hard_sigmoid if config.lstm_recurrent_activation
                                      == "keras1_hard_sigmoid" else "sigmoid"))
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


def branch_and_pair_models(model):
    """Cut SPEID at the merge.

    Returns
    -------
    enhancer_branch : keras.Model, (b, We, 4) -> (b, Te, K)
    promoter_branch : keras.Model, (b, Wp, 4) -> (b, Tp, K)
    pair_part : keras.Model, [(b, Te, K), (b, Tp, K)] -> (b, 1)
    """
    import keras

    try:
        merge = model.get_layer(schema.MERGE_LAYER)
    except ValueError:
        raise ValueError(f"model {model.name!r} has no {schema.MERGE_LAYER!r} layer: it was not built by "
                         "speidlib.model.build_model") from None
    branch_out = merge.input
    inputs = {t.name: t for t in model.inputs}
    enh = keras.Model(inputs.get(schema.ENHANCER_INPUT, model.inputs[0]), branch_out[0], name="enhancer_branch")
    prom = keras.Model(inputs.get(schema.PROMOTER_INPUT, model.inputs[1]), branch_out[1], name="promoter_branch")
    ins = [keras.Input(shape=tuple(t.shape[1:]), name=f"{b}_features")
           for t, b in zip(branch_out, schema.BRANCHES)]
    names = [layer.name for layer in model.layers]
    x = merge(ins)
    for layer in model.layers[names.index(schema.MERGE_LAYER) + 1:]:
        x = layer(x)
    return enh, prom, keras.Model(ins, x, name="pair_part")


def model_inputs(model, enh, prom):
    """Order (enhancer, promoter) as the model's inputs: a list in ``model.inputs`` order.

    By the input names ``schema.ENHANCER_INPUT`` and ``schema.PROMOTER_INPUT``;
    a model without those names gets enhancer, then promoter.
    """
    names = [getattr(t, "name", "").split(":")[0] for t in getattr(model, "inputs", None) or []]
    by_name = {schema.ENHANCER_INPUT: enh, schema.PROMOTER_INPUT: prom}
    if sorted(names) == sorted(by_name):
        return [by_name[n] for n in names]
    return [enh, prom]
