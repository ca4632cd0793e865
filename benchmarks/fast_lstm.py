"""An LSTM whose input projection is one matrix product over all time steps (benchmark prototype).

Keras' LSTM on a CPU (no cuDNN) runs ``x_t @ kernel + h_{t-1} @ recurrent_kernel``
at every step of a Python-built loop: for SPEID (input 1,024 wide, 100 units,
246 steps) 90% of the LSTM's FLOPs are the input products, done as 246
small ``(b, 1024) @ (1024, 400)`` products forward and again in the backward
pass. :class:`ProjectedLSTM` computes ``sequences @ kernel + bias`` for all
steps as one ``(b * T, 1024) @ (1024, 400)`` product before the loop, and
the loop only adds ``h_{t-1} @ recurrent_kernel``. Same weights, same
function (to float rounding); on a GPU it defers to Keras (cuDNN).

A prototype for ``bench_train.py``'s ``fused_lstm`` variant; not used by speidlib.
"""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="speidlib_bench")
class ProjectedLSTM(keras.layers.LSTM):
    """``keras.layers.LSTM`` with the input projection hoisted out of the time loop (CPU)."""

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if _has_gpu() or self.dropout or self.recurrent_dropout or self.cell.implementation != 2:
            return super().inner_loop(sequences, initial_state, mask, training=training)
        cell = self.cell
        z_all = ops.matmul(sequences, cell.kernel)
        if cell.use_bias:
            z_all = ops.add(z_all, cell.bias)

        def step(z_t, states):
            h_tm1, c_tm1 = states
            z = ops.add(z_t, ops.matmul(h_tm1, cell.recurrent_kernel))
            c, o = cell._compute_carry_and_output_fused(ops.split(z, 4, axis=1), c_tm1)
            h = o * cell.activation(c)
            return h, [h, c]

        return keras.src.backend.rnn(step, z_all, list(initial_state), go_backwards=self.go_backwards,
                                     mask=mask, unroll=self.unroll, input_length=sequences.shape[1],
                                     zero_output_for_mask=self.zero_output_for_mask,
                                     return_all_outputs=self.return_sequences)


def _has_gpu() -> bool:
    if keras.config.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return bool(tf.config.list_logical_devices("GPU"))


def projected_bilstm(bilstm):
    """A Bidirectional of ProjectedLSTMs with the weights and config of ``bilstm``."""
    fwd, bwd = bilstm.forward_layer, bilstm.backward_layer
    new = keras.layers.Bidirectional(ProjectedLSTM.from_config(fwd.get_config()),
                                     backward_layer=ProjectedLSTM.from_config(bwd.get_config()),
                                     merge_mode=bilstm.merge_mode, name=bilstm.name)
    return new
