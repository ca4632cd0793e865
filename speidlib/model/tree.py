"""A model's layer tree: the one walker over a Keras model's layers, nested sub-models included."""
from __future__ import annotations


def walk_layers(model):
    """Every layer inside ``model``, breadth first, nested models' layers included (not ``model``).

    Yields
    ------
    keras.layers.Layer, in the order of ``model.layers``, then each sub-model's layers
    """
    stack = list(getattr(model, "layers", []) or [])
    while stack:
        layer = stack.pop(0)
        yield layer
        stack.extend(getattr(layer, "layers", []) or [])


def find_layer(model, name: str):
    """The first layer called ``name`` inside ``model`` (:func:`walk_layers` order).

    Raises ValueError naming the layers that are there when none matches.
    """
    seen = []
    for layer in walk_layers(model):
        if layer.name == name:
            return layer
        seen.append(layer.name)
    raise ValueError(f"model {model.name!r} has no layer named {name!r}; its layers are {seen}")


def synchronize_batchnorm(model, synchronized: bool = True) -> int:
    """Make every BatchNormalization layer of ``model`` use global batch statistics.

    Under a mirrored strategy (:func:`speidlib.runtime.distribution_strategy`) each
    replica sees only its share of the batch; with ``synchronized=True`` (TensorFlow
    backend) the layers all-reduce their moments, so a training step equals the
    single-device step on the whole batch. Nested models are searched. Returns the
    number of layers changed.
    """
    import keras

    if synchronized and keras.config.backend() != "tensorflow":
        return 0
    changed = 0
    for layer in walk_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization) and layer.synchronized != synchronized:
            layer.synchronized = bool(synchronized)
            changed += 1
    return changed
