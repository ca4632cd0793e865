"""A straightforward Keras port of SPEID's layers, kept for comparison only.

The preprint's layer order, written the obvious way, with none of the
workbench's speed-ups: each branch is ``Conv1D(1024, 40, activation="relu")``
(the ReLU, and the bias, applied to the full convolution output) followed by
``MaxPooling1D(20)``; then the merge along the sequence axis, BatchNorm,
Dropout 0.5, a bidirectional LSTM of 100 units per direction, BatchNorm,
Dropout 0.5, Dense 925 (L2 1e-5), BatchNorm, ReLU, BatchNorm, Dropout 0.5 and
one sigmoid unit. It computes the same function as ``speidlib.model``'s
``paper`` preset (same layer names, so weights copy across by name; see
:func:`copy_weights`), which pools before the ReLU.

Used by ``benchmarks/bench_train.py``; nothing in ``speidlib`` imports it.
"""
from __future__ import annotations


def build_naive_speid(enhancer_window: int = 3000, promoter_window: int = 2000, n_kernels: int = 1024,
                      kernel_size: int = 40, pool_size: int = 20, lstm_units: int = 100,
                      dense_units: int = 925, dense_l2: float = 1e-5, dropout: float = 0.5, seed: int = 0):
    """SPEID as the preprint describes it, layer by layer.

    Returns
    -------
    keras.Model : inputs ``[enhancer (b, We, 4), promoter (b, Wp, 4)]``, output (b, 1)
    """
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    branches, inputs = [], []
    for name, window in (("enhancer", enhancer_window), ("promoter", promoter_window)):
        inp = keras.Input(shape=(window, 4), name=name)
        x = layers.Conv1D(n_kernels, kernel_size, activation="relu", name=f"{name}_conv")(inp)
        x = layers.MaxPooling1D(pool_size, name=f"{name}_pool")(x)
        inputs.append(inp)
        branches.append(x)
    x = layers.Concatenate(axis=1, name="merge")(branches)
    x = layers.BatchNormalization(name="merge_bn")(x)
    x = layers.Dropout(dropout, name="merge_dropout")(x)
    x = layers.Bidirectional(layers.LSTM(lstm_units), name="bilstm")(x)
    x = layers.BatchNormalization(name="lstm_bn")(x)
    x = layers.Dropout(dropout, name="lstm_dropout")(x)
    x = layers.Dense(dense_units, kernel_regularizer=keras.regularizers.L2(dense_l2), name="dense")(x)
    x = layers.BatchNormalization(name="dense_bn")(x)
    x = layers.Activation("relu", name="dense_relu")(x)
    x = layers.BatchNormalization(name="relu_bn")(x)
    x = layers.Dropout(dropout, name="dense_dropout")(x)
    x = layers.Dense(1, activation="sigmoid", name="logit")(x)
    return keras.Model(inputs, x, name="naive_speid")


def copy_weights(source, target) -> int:
    """Copy weights layer by layer where names match (``source`` -> ``target``).

    Returns the number of layers copied; a layer with weights in ``target``
    but no namesake in ``source`` raises ``ValueError``.
    """
    by_name = {layer.name: layer for layer in source.layers if layer.weights}
    copied = 0
    for layer in target.layers:
        if not layer.weights:
            continue
        if layer.name not in by_name:
            raise ValueError(f"layer {layer.name!r} of {target.name!r} has no namesake in {source.name!r}")
        layer.set_weights(by_name[layer.name].get_weights())
        copied += 1
    return copied
