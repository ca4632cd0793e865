"""One SPEID branch's convolution, max-pooling and ReLU as a single, faster layer.

A branch of SPEID computes ``relu(max_pool(conv(x) + b))`` (pooling before the
ReLU is exact, see :mod:`speidlib.model`). :class:`PooledConv1D` computes the
same function as the three plain layers ``Conv1D -> MaxPooling1D ->
Activation("relu")`` in the cheaper order::

    conv(x)  (no bias)  ->  max_pool  ->  + b  ->  relu

Adding the bias after the pooling is exact, not approximate: a per-kernel
constant commutes with a maximum, and rounding is monotone, so
``max_i fl(c_i + b) == fl(max_i c_i + b)`` bit for bit. The gain is in memory
traffic: the convolution's output is ``pool_size`` times larger than the
pooled one (100 x 2,961 x 1,024 floats, 1.2 GB, for a batch of the ``paper``
preset), and every elementwise pass over it is memory-bound on a CPU. The plain
layers add the bias to that large tensor and, in the backward pass, sum the
gradient over it for the bias gradient; here both happen on the pooled tensor.
The convolution and pooling themselves are the backend's own ops
(``keras.ops.conv``, ``keras.ops.max_pool``), so their gradients, ties in the
pooling window included, are exactly those of the plain layers.

The layer holds the same weights as ``Conv1D`` (``kernel`` of shape
``(kernel_size, channels, filters)``, then ``bias`` of shape ``(filters,)``,
in that order) and the attributes :mod:`speidlib.interpret` reads from a
``Conv1D`` (``kernel``, ``bias``, ``strides``, ``dilation_rate``, ``groups``,
``data_format``), so weights move between the two forms with
``get_weights``/``set_weights`` and kernel motifs are read the same way. Only
the output differs: it is the pooled, rectified tensor, not the per-position
convolution.

Only ``keras`` and ``keras.ops`` are used.
"""
from __future__ import annotations

import keras
from keras import ops

ACTIVATIONS = ("relu", "linear")


@keras.saving.register_keras_serializable(package="speidlib")
class PooledConv1D(keras.layers.Layer):
    """``Conv1D(valid) -> MaxPooling1D(pool, stride pool) -> activation`` in one layer.

    Parameters
    ----------
    filters : number of kernels K
    kernel_size : kernel width w (bp)
    pool_size : max-pool width and stride
    activation : ``"relu"`` or ``"linear"`` (no activation; the ``original`` preset)
    kernel_initializer, bias_initializer, kernel_regularizer : as for ``Conv1D``

    Input shape ``(b, L, C)``, output shape ``(b, (L - w + 1) // pool_size, K)``,
    equal (to float rounding of the convolution) to
    ``Activation(activation)(MaxPooling1D(pool_size)(Conv1D(filters, w)(x)))``.
    """

    def __init__(self, filters: int, kernel_size: int, pool_size: int, activation: str = "relu",
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        for name, v in (("filters", filters), ("kernel_size", kernel_size), ("pool_size", pool_size)):
            if int(v) != v or v < 1:
                raise ValueError(f"PooledConv1D {name} must be a positive integer, got {v}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"PooledConv1D activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.filters, self.kernel_size, self.pool_size = int(filters), int(kernel_size), int(pool_size)
        self.activation = activation
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        # what speidlib.interpret checks on a Conv1D
        self.strides, self.dilation_rate, self.groups = (1,), (1,), 1
        self.data_format = "channels_last"
        self.input_spec = keras.layers.InputSpec(ndim=3)

    def build(self, input_shape):
        length, channels = input_shape[1], input_shape[-1]
        if channels is None:
            raise ValueError("PooledConv1D needs a known number of input channels")
        if length is not None and length < self.kernel_size + self.pool_size - 1:
            raise ValueError(f"PooledConv1D input of length {length} is shorter than kernel_size + "
                             f"pool_size - 1 = {self.kernel_size + self.pool_size - 1}")
        self.kernel = self.add_weight(name="kernel", shape=(self.kernel_size, channels, self.filters),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer)

    def call(self, inputs):
        x = ops.conv(inputs, self.kernel, strides=1, padding="valid")
        x = ops.max_pool(x, pool_size=self.pool_size, strides=self.pool_size, padding="valid")
        x = ops.add(x, ops.cast(self.bias, x.dtype))
        return ops.relu(x) if self.activation == "relu" else x

    def compute_output_shape(self, input_shape):
        length = input_shape[1]
        pooled = None if length is None else (length - self.kernel_size + 1) // self.pool_size
        return (input_shape[0], pooled, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "pool_size": self.pool_size, "activation": self.activation,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer)}


@keras.saving.register_keras_serializable(package="speidlib")
def keras1_hard_sigmoid(x):
    """Keras 1's ``hard_sigmoid``, ``clip(0.2 * x + 0.5, 0, 1)``: the default recurrent
    (gate) activation of the LSTM the released SPEID code trained with. Keras 3's
    ``hard_sigmoid`` is a different curve (``relu6(x + 3) / 6``, slope 1/6).

    Parameters
    ----------
    x : tensor, any shape

    Returns
    -------
    tensor, the same shape, values in [0, 1]
    """
    return ops.clip(0.2 * x + 0.5, 0.0, 1.0)
