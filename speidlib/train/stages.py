"""Two-stage SPEID training (preprint Section 2.3), with checkpoints and resume.

Stage 1, :func:`pretrain`
    The whole network on the balanced set (negatives plus the augmented,
    shifted positives), Adam, binary cross-entropy; validation on the
    balanced validation set after every epoch; the best epoch (by
    ``config.monitor``) is kept and training stops after ``config.patience``
    epochs without improvement (``config.keep_epoch == "last"``, the released
    code's protocol: every epoch runs and the last one is kept, in both stages).
Stage 2, :func:`retrain_head`
    Convolutions, merge BatchNorm and LSTM frozen (in inference mode: BatchNorm
    uses its moving statistics, dropout is off); the dense head is retrained
    on the original, imbalanced training pairs. Because the frozen part is a
    fixed function in this stage, its output is computed **once**
    (:func:`compute_features`) and the head is trained on the cached features;
    ``cache=False`` trains through the frozen full model instead (same result,
    for tests and benchmarks).

Every epoch ends with validation AUROC/AUPR, a tqdm bar line, and, when a
checkpoint directory is given, an atomic checkpoint: weights and optimizer
state go to new files, then ``state.json`` (the commit point) names them and
holds the history so far, then ``history.csv`` is rewritten from it. A run
killed at any moment resumes from the last committed epoch, and
``history.csv`` never repeats or skips an epoch.

Batch sources are anything ``keras.Model.fit`` takes that can also be
indexed: ``source[i] -> (x, y)`` for ``i < len(source)``, in a fixed order
within an epoch (a :class:`keras.utils.PyDataset` such as
:class:`speidlib.data.batches.PairBatches` or :class:`~speidlib.data.batches.ArrayBatches`).
:func:`train_run` is the one function that knows about ``RUN/dataset.h5``.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from pathlib import Path

import numpy as np

from speidlib import schema
from speidlib.data.batches import ArrayBatches, PairBatches
from speidlib.data.dataset import Dataset
from speidlib.io import atomic_path, sha256
from speidlib.model.build import build_model, feature_layers, split_model
from speidlib.model.infer import infer_batch, predict_source
from speidlib.model.jaspar_init import jaspar_init_table
from speidlib.model.presets import ModelConfig, get_config
from speidlib.model.tree import synchronize_batchnorm, walk_layers
from speidlib.run import DATASET_SHA256, MODEL_SHA256, Run, locked
from speidlib.options import record
from speidlib.train.checkpoints import Checkpoints
from speidlib.train.options import TrainOptions
from speidlib.train.small_tables import describe, recipe_of, small_table_warning, split_sizes
from speidlib.runtime import configure, distribution_strategy, keeps_process_state, replica_batch_size

logger = logging.getLogger(__name__)
MEMMAP_ABOVE_BYTES = 2 << 30   # cache stage-2 features on disk when larger than 2 GiB


def _examples(batches) -> int:
    """Number of examples of a batch source (all batches but the last of equal size)."""
    first_y = batches[0][1]
    last_y = batches[len(batches) - 1][1] if len(batches) > 1 else first_y
    return (len(batches) - 1) * len(first_y) + len(last_y)


def predict_batches(model, batches) -> tuple[np.ndarray, np.ndarray]:
    """Labels and predicted probabilities over one pass of a batch source (in its order).

    Returns
    -------
    y : shape=(n,) float32 labels
    p : shape=(n,) float64 probabilities
    """
    p, y = predict_source(model, batches)
    return y, p.astype(np.float64).reshape(-1)


def binary_scores(y, p) -> dict:
    """Validation figures of one epoch.

    Returns
    -------
    dict : ``val_loss`` (mean binary cross-entropy, probabilities clipped to
        [1e-7, 1 - 1e-7] as Keras does, no L2 term), ``val_auroc``, ``val_aupr``
        (average precision); the last two are NaN when only one class is present.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    y, p = np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64)
    q = np.clip(p, 1e-7, 1 - 1e-7)
    loss = float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))
    both = 0 < y.sum() < len(y)
    return {"val_loss": loss,
            "val_auroc": float(roc_auc_score(y, p)) if both else math.nan,
            "val_aupr": float(average_precision_score(y, p)) if both else math.nan}


def compute_features(feature_extractor, batches, memmap_path=None, progress: bool = False):
    """Run the frozen part once over a batch source (inference mode).

    Parameters
    ----------
    feature_extractor : keras.Model from :func:`speidlib.model.split_model`
    batches : batch source yielding ``(x, y)``
    memmap_path : write the features to this ``.npy`` file (memory-mapped)
        instead of holding them in memory

    Returns
    -------
    features : shape=(n, 2 * lstm_units) or (n, T, 2 * lstm_units), float32
    labels : shape=(n,), float32, in the batch source's order
    """
    from tqdm.auto import tqdm

    n = _examples(batches)
    features = labels = None
    start, size = 0, len(batches[0][1])
    for i in tqdm(range(len(batches)), desc="frozen features", unit="batch", disable=not progress,
                  leave=False):
        x, y = batches[i][:2]
        f = np.asarray(infer_batch(feature_extractor, x, size), dtype=np.float32)
        if features is None:
            shape = (n, *f.shape[1:])
            if memmap_path is not None:
                features = np.lib.format.open_memmap(memmap_path, mode="w+", dtype=np.float32, shape=shape)
            else:
                features = np.empty(shape, dtype=np.float32)
            labels = np.empty(n, dtype=np.float32)
        features[start:start + len(f)] = f
        labels[start:start + len(f)] = np.asarray(y).reshape(-1)
        start += len(f)
    if start != n:
        raise ValueError(f"the batch source gave {start} examples, expected {n} "
                         "(all batches but the last must have the same size)")
    return features, labels


# --- one epoch's bookkeeping ------------------------------------------------------------
def _improved(monitor: str, value: float, best) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return best is None
    if best is None:
        return True
    return value < best if monitor == "val_loss" else value > best


def _stage_callback(stage, epochs, evaluate, checkpoints, monitor, patience, weights_model, progress,
                    keep_last=False):
    import keras
    from tqdm.auto import tqdm

    class StageCallback(keras.callbacks.Callback):
        """Progress bar, validation, best epoch, early stopping and checkpoint of one stage."""

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()
            self.bar = tqdm(total=self.params.get("steps"), desc=f"{stage} {epoch + 1}/{epochs}",
                            unit="batch", disable=not progress, dynamic_ncols=True)

        def on_train_batch_end(self, batch, logs=None):
            self.bar.update(1)
            if logs and "loss" in logs:
                self.bar.set_postfix(loss=f"{float(logs['loss']):.4f}", refresh=False)

        def on_epoch_end(self, epoch, logs=None):
            scores = evaluate()
            st = checkpoints.state
            row = {"stage": stage, "epoch": epoch + 1, "loss": float((logs or {}).get("loss", math.nan)),
                   **scores, "seconds": round(time.perf_counter() - self.t0, 3)}
            tag = f"{stage}_e{epoch + 1:04d}"
            value = scores[monitor]
            st["weights"] = checkpoints.save_weights(weights_model, tag)
            st["optimizer"] = checkpoints.save_optimizer(self.model.optimizer, tag)
            st["rng"] = checkpoints.save_rng([weights_model, self.model], tag)
            if keep_last or _improved(monitor, value, st["best_value"]):   # "last": each epoch wins
                st.update(best_value=None if math.isnan(value) else value, best_epoch=epoch + 1,
                          best_weights=st["weights"], wait=0)
                checkpoints.best_in_memory = weights_model.get_weights()
            else:
                st["wait"] += 1
            st["epoch"] = epoch + 1
            st["history"].append(row)
            checkpoints.commit()
            self.bar.set_postfix({k: f"{v:.4f}" for k, v in row.items()
                                  if k in ("loss", "val_loss", "val_auroc", "val_aupr")}, refresh=False)
            self.bar.close()
            if st["wait"] >= patience:
                self.model.stop_training = True

    return StageCallback()


def _run_stage(stage, fit_model, weights_model, train_batches, evaluate, epochs, patience, monitor,
               checkpoints, progress, callbacks, class_weight=None, keep_last=False) -> list[dict]:
    """Fit ``fit_model`` for the remaining epochs of ``stage``, then load its best weights
    (with ``keep_last``: every epoch runs, and the last one counts as the best)."""
    if keep_last:
        patience = math.inf
    st = checkpoints.state
    done = st["epoch"]
    if st["weights"] and done > 0:
        # the optimizer first: a weights file also holds the state of a compiled model's optimizer,
        # which Keras skips (with a warning) while the optimizer is unbuilt; the .optimizer.npz and
        # the weights file were written at the same epoch's end and hold the same state
        if st["optimizer"]:
            checkpoints.restore_optimizer(fit_model.optimizer, fit_model.trainable_variables,
                                          st["optimizer"])
        checkpoints.restore_weights(weights_model, st["weights"])
    if st.get("rng"):  # dropout masks continue as in an unbroken run
        checkpoints.restore_rng([weights_model, fit_model], st["rng"])
    if st["weights"] and done > 0:
        for _ in range(done):   # the batch source's order for epoch `done`, as in an unbroken run
            if hasattr(train_batches, "on_epoch_end"):
                train_batches.on_epoch_end()
    if done < epochs and st["wait"] < patience:
        cb = _stage_callback(stage, epochs, evaluate, checkpoints, monitor, patience, weights_model,
                             progress, keep_last)
        fit_model.fit(train_batches, epochs=epochs, initial_epoch=done, shuffle=False, verbose=0,
                      callbacks=[cb, *callbacks], class_weight=class_weight)
    if checkpoints.best_in_memory is not None:
        weights_model.set_weights(checkpoints.best_in_memory)
    elif st["best_weights"]:
        checkpoints.restore_weights(weights_model, st["best_weights"])
    checkpoints.best_in_memory = None
    return [r for r in st["history"] if r["stage"] == stage]


def _compile(model, learning_rate: float) -> None:
    import keras

    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                  loss="binary_crossentropy")


# --- the two stages -----------------------------------------------------------------------
def pretrain(model, train_batches, valid_batches, epochs: int | None = None,
             config: "str | ModelConfig" = "paper", learning_rate: float | None = None,
             checkpoints: Checkpoints | None = None, progress: bool = True, callbacks=()) -> list[dict]:
    """Stage 1: train the whole network on the balanced, augmented training set.

    Parameters
    ----------
    model : keras.Model from :func:`speidlib.model.build_model`
    train_batches : batches ``((enhancer (b, We, 4), promoter (b, Wp, 4)), label (b,))``;
        they shuffle themselves (``fit`` is called with ``shuffle=False``)
    valid_batches : the balanced validation set, same form
    epochs : default ``config.pretrain_epochs``
    config : preset name or :class:`ModelConfig` (learning rate, patience, monitor)
    learning_rate : overrides ``config.learning_rate``
    checkpoints : :class:`Checkpoints`; resumes from its state when it is in this stage
    progress : show a tqdm bar per epoch
    callbacks : extra Keras callbacks

    Returns
    -------
    list of dict : one history row per epoch of this stage (``schema.HISTORY_COLUMNS``).
        On return ``model`` holds the weights of the best epoch.
    """
    config = get_config(config)
    epochs = config.pretrain_epochs if epochs is None else int(epochs)
    checkpoints = checkpoints if checkpoints is not None else Checkpoints()
    if checkpoints.stage != schema.PRETRAIN:
        raise ValueError(f"the checkpoint is in stage {checkpoints.stage!r}, not {schema.PRETRAIN!r}")
    _set_trainable(model, True)
    _compile(model, config.learning_rate if learning_rate is None else learning_rate)
    evaluate = lambda: binary_scores(*predict_batches(model, valid_batches))  # noqa: E731
    return _run_stage(schema.PRETRAIN, model, model, train_batches, evaluate, epochs, config.patience,
                      config.monitor, checkpoints, progress, callbacks,
                      keep_last=config.keep_epoch == "last")


def class_weights(labels) -> dict:
    """Stage-2 class weights of the released code: sqrt(1 / class frequency)."""
    p = float(np.mean(labels))
    if not 0 < p < 1:
        raise ValueError("class weights need both classes in the training labels")
    return {0: (1 / (1 - p)) ** 0.5, 1: (1 / p) ** 0.5}


def retrain_head(model, train_batches, valid_batches, epochs: int | None = None,
                 config: "str | ModelConfig" = "paper", learning_rate: float | None = None,
                 cache: bool = True, shuffle: bool = True, seed: int = 0, batch_size: int | None = None,
                 checkpoints: Checkpoints | None = None, progress: bool = True, callbacks=()) -> list[dict]:
    """Stage 2: freeze everything up to the LSTM and retrain the dense head.

    Parameters
    ----------
    model : keras.Model from :func:`speidlib.model.build_model`, after stage 1
    train_batches : the original (imbalanced) training pairs; with ``cache=True``
        they are read once, in order, to compute the frozen features
    valid_batches : the original validation pairs
    epochs : default ``config.retrain_epochs``
    config : preset name or :class:`ModelConfig`
    learning_rate : overrides ``config.stage2_learning_rate``
    cache : train the head on features computed once (fast) instead of through
        the frozen network every epoch
    shuffle, seed : order of the cached features, a new one per epoch from
        ``(seed, epoch)``; ``shuffle=False`` keeps ``train_batches``' order
    batch_size : head batch size on cached features; default: that of ``train_batches``
    checkpoints : :class:`Checkpoints`; resumes from its state when it is in this stage

    Returns
    -------
    list of dict : one history row per epoch of this stage. ``model`` holds
        the best head on return; its layers are all trainable again.
    """
    config = get_config(config)
    epochs = config.retrain_epochs if epochs is None else int(epochs)
    lr = config.stage2_learning_rate if learning_rate is None else learning_rate
    checkpoints = checkpoints if checkpoints is not None else Checkpoints(None)
    if checkpoints.stage == schema.PRETRAIN and not checkpoints.state["history"]:
        checkpoints.state["stage"] = schema.RETRAIN
    if checkpoints.stage != schema.RETRAIN:
        raise ValueError(f"the checkpoint is in stage {checkpoints.stage!r}, not {schema.RETRAIN!r}")
    if checkpoints.state["weights"]:
        # the stage's start (the best pretrained weights) or its last epoch: before caching features
        checkpoints.restore_weights(model, checkpoints.state["weights"])

    feature_extractor, head = split_model(model)
    _set_trainable(model, False)
    try:
        if cache:
            fit_model, (train, valid_source) = head, _cached_sources(
                feature_extractor, train_batches, valid_batches, shuffle, seed, batch_size, progress,
                checkpoints)
            labels = train.label
        else:
            fit_model, train, valid_source = _through_frozen(model, feature_extractor, head), \
                train_batches, valid_batches
            labels = None
        _compile(fit_model, lr)
        evaluate = lambda: binary_scores(*predict_batches(fit_model, valid_source))  # noqa: E731
        weights = None
        if config.retrain_class_weight:
            weights = class_weights(labels if labels is not None else _all_labels(train_batches))
        rows = _run_stage(schema.RETRAIN, fit_model, model, train, evaluate, epochs, config.patience,
                          config.monitor, checkpoints, progress, callbacks, class_weight=weights,
                          keep_last=config.keep_epoch == "last")
    finally:
        _set_trainable(model, True)
        _drop_memmaps(checkpoints)
    return rows


def _set_trainable(model, trainable: bool) -> None:
    for layer in feature_layers(model):
        layer.trainable = trainable


def _all_labels(batches) -> np.ndarray:
    return np.concatenate([np.asarray(batches[i][1]).reshape(-1) for i in range(len(batches))])


def _cached_sources(feature_extractor, train_batches, valid_batches, shuffle, seed, batch_size,
                    progress, checkpoints):
    sources = []
    for name, batches in (("train", train_batches), ("valid", valid_batches)):
        path = None
        if checkpoints.directory is not None:
            n = _examples(batches)
            per_example = _features_per_example(feature_extractor)
            if n * per_example * 4 > MEMMAP_ABOVE_BYTES:
                checkpoints.directory.mkdir(parents=True, exist_ok=True)
                path = checkpoints.directory / f"features_{name}.npy"
        f, y = compute_features(feature_extractor, batches, memmap_path=path, progress=progress)
        bs = batch_size or (len(batches[0][1]) if name == "train" else 1024)
        sources.append(ArrayBatches(f, y, batch_size=bs, shuffle=shuffle and name == "train", seed=seed))
    return sources


def _features_per_example(feature_extractor) -> int:
    return int(np.prod(feature_extractor.output.shape[1:]))


def _drop_memmaps(checkpoints) -> None:
    if checkpoints.directory is not None and checkpoints.directory.exists():
        for p in checkpoints.directory.glob("features_*.npy"):
            try:
                p.unlink()
            except OSError:
                pass


def _through_frozen(model, feature_extractor, head):
    """The full model with its frozen part forced into inference mode (no cache)."""
    import keras

    class InferenceMode(keras.layers.Layer):
        def __init__(self, inner, **kwargs):
            super().__init__(**kwargs)
            self.inner = inner

        def call(self, inputs):
            return self.inner(inputs, training=False)

    frozen = InferenceMode(feature_extractor, name="frozen_features", trainable=False)
    inputs = [keras.Input(shape=tuple(t.shape[1:]), name=t.name.split(":")[0]) for t in model.inputs]
    return keras.Model(inputs, head(frozen(inputs)), name="speid_frozen")


# --- a whole run ------------------------------------------------------------------------------
def train_stages(run_dir, model, config: "str | ModelConfig", pretrain_sources, retrain_sources,
                 pretrain_epochs: int | None = None, retrain_epochs: int | None = None,
                 resume: bool = False, seed: int = 0, run_record: dict | None = None,
                 progress: bool = True, callbacks=()) -> "TrainResult":
    """Both stages with checkpoints in ``RUN/checkpoints`` and ``RUN/history.csv``.

    Parameters
    ----------
    run_dir : the run directory
    model : freshly built SPEID (its weights are replaced when resuming)
    config : the resolved :class:`ModelConfig`
    pretrain_sources : ``(train_batches, valid_batches)`` of stage 1 (balanced)
    retrain_sources : ``(train_batches, valid_batches)`` of stage 2 (original pairs,
        read once in order)
    pretrain_epochs, retrain_epochs : defaults from the config
    resume : continue from the last committed epoch; without it, earlier
        checkpoints are discarded
    run_record : what the run was started with; resuming with a different one
        is refused
    progress, callbacks : as in :func:`pretrain`

    Returns
    -------
    :class:`TrainResult`: ``RUN/model.keras`` (the best head on the best pretrained
    network), the history rows and each stage's best epoch.
    """
    run = Run(run_dir)
    run.path.mkdir(parents=True, exist_ok=True)
    record = json.loads(json.dumps(run_record or {"preset": config.to_dict()}))
    ck = Checkpoints(run.checkpoints, run.history)
    state = ck.load() if resume else None
    if state is not None and state["run"] != record:
        diff = sorted(k for k in set(state["run"]) | set(record) if state["run"].get(k) != record.get(k))
        raise ValueError(f"{ck.directory} belongs to a run started with different settings "
                         f"({', '.join(diff)}); resume with the same settings or train without --resume")
    if state is None:
        if resume:
            logger.info("no checkpoint in %s; starting afresh", ck.directory)
        ck.clear()
        ck.state = Checkpoints.fresh_state(record)
        ck.write_history()

    if ck.stage == schema.PRETRAIN:
        pretrain(model, *pretrain_sources, epochs=pretrain_epochs, config=config, checkpoints=ck,
                 progress=progress, callbacks=callbacks)
        _next_stage(ck, model, schema.RETRAIN)
    if ck.stage == schema.RETRAIN:
        retrain_head(model, *retrain_sources, epochs=retrain_epochs, config=config, seed=seed,
                     checkpoints=ck, progress=progress, callbacks=callbacks)
        _next_stage(ck, model, "done")
    else:
        ck.restore_weights(model, ck.state["weights"])

    save_model(model, run.model)
    return TrainResult(run.model, list(ck.state["history"]), dict(ck.state["best_epochs"]))


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """What :func:`train_stages` returns.

    model_path : ``RUN/model.keras``
    history : one dict per epoch (``schema.HISTORY_COLUMNS``)
    best_epochs : stage -> the epoch whose weights were kept
    """

    model_path: Path
    history: list
    best_epochs: dict

    def best(self) -> dict:
        """stage -> that stage's best epoch's row (epoch, val_loss, val_auroc, val_aupr)."""
        return {stage: next(({k: r[k] for k in ("epoch", "val_loss", "val_auroc", "val_aupr")}
                             for r in self.history if r["stage"] == stage and r["epoch"] == epoch), None)
                for stage, epoch in self.best_epochs.items()}

    def epochs_run(self) -> dict:
        return {s: sum(r["stage"] == s for r in self.history) for s in (schema.PRETRAIN, schema.RETRAIN)}


def save_model(model, path) -> None:
    """Save ``model`` to a ``.keras`` file atomically, without optimizer state.

    The saved graph is the same (same layers and names), uncompiled: a
    prediction model, small and free of a stale training state.
    """
    import keras

    export = keras.Model(model.inputs, model.outputs, name=model.name)
    with atomic_path(path, suffix=".keras") as tmp:   # refuses a non-file at path, as every writer
        export.save(tmp)


def _next_stage(ck: Checkpoints, model, stage: str) -> None:
    """Commit the end of a stage: its best weights become the next stage's start."""
    old = ck.state
    ck.state = Checkpoints.fresh_state(old["run"], stage)
    ck.state["history"] = old["history"]
    ck.state["best_epochs"] = {**old.get("best_epochs", {}), old["stage"]: old["best_epoch"]}
    ck.state["weights"] = ck.save_weights(model, f"{stage}_start" if stage != "done" else "final")
    if stage != "done":
        ck.state["rng"] = ck.save_rng([model], f"{stage}_start")
    ck.commit()


def save_initial_kernels(model, path) -> None:
    """Write the conv kernels a network starts from (npz, atomic): the null of ``speid motifs``.

    ``<branch>_kernel`` shape=(w, 4, K) and ``<branch>_bias`` shape=(K,) for
    each branch (layers ``schema.ENHANCER_CONV`` / ``PROMOTER_CONV``, nested
    sub-models included); read back by :func:`speidlib.interpret.null.initial_kernels`.
    """
    layers = {}
    for layer in walk_layers(model):
        layers.setdefault(layer.name, layer)
    arrays = {}
    for branch, name in (("enhancer", schema.ENHANCER_CONV), ("promoter", schema.PROMOTER_CONV)):
        if name not in layers:
            raise ValueError(f"model {model.name!r} has no layer {name!r}")
        arrays[f"{branch}_kernel"] = np.asarray(layers[name].kernel.numpy(), np.float32)
        arrays[f"{branch}_bias"] = np.asarray(layers[name].bias.numpy(), np.float32)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


@locked("train")
@keeps_process_state()
def train_run(run_dir, options: TrainOptions | None = None, *, progress: bool = True, callbacks=(),
              **changes) -> Path:
    """Train SPEID on ``RUN/dataset.h5``: what ``speid train RUN`` runs.

    Writes ``RUN/model.keras``, ``RUN/history.csv``, ``RUN/checkpoints/``,
    ``RUN/jaspar_init.csv`` (unless ``random_init``) and the ``train`` part of
    ``RUN/config.json``, all atomically.

    Parameters
    ----------
    run_dir : a run directory prepared by ``speid prepare``
    options : a :class:`speidlib.train.options.TrainOptions` (default: its defaults), with any
        of its fields replaced by ``changes``, e.g. ``train_run(run, preset="cpu", seed=1)``:
        the preset (a name or a :class:`ModelConfig`), epochs (None: the preset's),
        ``random_init``, ``resume`` (from ``RUN/checkpoints``: same preset, seed and init),
        ``seed`` (CPU runs repeat exactly), ``mixed_precision`` (float16 on a GPU; ignored,
        with a warning, on CPU), ``threads`` (TensorFlow's; None: all cores), ``zero_branch``
        (train and later evaluate with that input zeroed: the single-element ablation),
        ``shift_negatives`` (shift negatives at random in stage 1 too, so that an element's
        position says nothing about the label; None: the preset's), ``devices`` (None: every
        visible GPU; ``"cpu"``, ``"0,1"`` or device names; with more than one, both stages run
        under ``tf.distribute.MirroredStrategy``, see
        :func:`speidlib.runtime.distribution_strategy`) and the data-efficiency options
        (``rc_augment``, ``redraw_shifts``, ``epoch_examples``, ``swap_negatives``: the preset's
        unless given)
    progress : tqdm bars
    callbacks : extra Keras callbacks for both stages

    Returns
    -------
    Path of ``RUN/model.keras``.

    The run directory is locked meanwhile (:func:`speidlib.rundir.run_lock`);
    the dataset's content hash must be the one ``prepare`` recorded, and it is
    recorded beside the model (``config.json``) and in the checkpoints, so a
    resume from checkpoints of another dataset is refused.
    """
    from tqdm.auto import tqdm

    options = (options or TrainOptions()).replace(**changes)
    params = options.resolved()
    config, seed, resume = params.preset, params.seed, params.resume
    run = Run(run_dir)
    dataset_path = run.dataset
    if not dataset_path.exists():
        raise ValueError(f"{dataset_path} does not exist: run `speid prepare {run}` first")
    dataset_hash = sha256(dataset_path)
    recorded = run.dataset_sha256()
    if recorded and recorded != dataset_hash:
        raise ValueError(f"{dataset_path} is not the dataset `speid prepare` recorded in "
                         f"{run.config_file} (its content hash differs): run "
                         f"`speid prepare ... --run {run} --overwrite` again")
    if resume:
        state_path = run.checkpoint_state
        try:
            made_from = json.loads(state_path.read_text()).get("run", {}).get(DATASET_SHA256)
        except (OSError, ValueError, AttributeError):
            made_from = None  # no checkpoint, or a damaged one: Checkpoints.load says which
        run.check_dataset(made_from, f"the checkpoint in {run.checkpoints}")
    t0 = time.perf_counter()
    info = configure(seed=seed, threads=params.threads, mixed_precision=params.mixed_precision)
    strategy = distribution_strategy(params.devices)
    replicas = int(strategy.num_replicas_in_sync)
    info = {**info, "replicas": replicas,
            "replica_batch_size": replica_batch_size(config.batch_size, replicas)}
    if replicas > 1:
        info["device"] = f"{replicas} devices ({', '.join(strategy.extended.worker_devices)})"
    message = (f"training on {info['device']} (Keras backend {info['backend']}, "
               f"policy {info['policy']})")
    logger.info(message)
    if progress:
        tqdm.write(message)

    ds = Dataset.load(dataset_path)
    we, wp = ds.enhancer_window, ds.promoter_window
    sizes = split_sizes(ds)
    warning = small_table_warning(sizes, recipe_of(config))
    logger.info("what the splits hold:\n%s", describe(sizes))
    if progress:
        tqdm.write(describe(sizes))
    if warning:   # shown with --quiet too (logging's last-resort handler prints warnings)
        logger.warning(warning)
    with strategy.scope():
        model = build_model(config, we, wp, jaspar_init=not params.random_init, seed=seed)
    synchronize_batchnorm(model, replicas > 1)
    if not resume or not run.initial_kernels.exists():
        save_initial_kernels(model, run.initial_kernels)
    jaspar = _write_jaspar_table(run, config, params.random_init, resume, seed)

    parameters = record(params)   # what TrainOptions declares recorded, as the run resolved it
    # what a checkpoint must have been made with for --resume (the epochs may change)
    resumable = {k: parameters[k] for k in ("preset", "random_init", "seed", "zero_branch", "shift_negatives")}
    checkpoint_record = {**resumable, "enhancer_window": we, "promoter_window": wp, DATASET_SHA256: dataset_hash}
    train_config = {**checkpoint_record, **parameters, "device": info, "jaspar": jaspar, "resumed": bool(resume),
                    "status": "running"}
    run.write_record("train", train_config)

    stage1, stage2 = _stage_sources(ds, config, seed, params.zero_branch, params.shift_negatives)
    with strategy.scope():
        result = train_stages(run, model, config, stage1, stage2, params.pretrain_epochs, params.retrain_epochs,
                              resume=resume, seed=seed, run_record=checkpoint_record, progress=progress,
                              callbacks=callbacks)
    if replicas > 1:   # RUN/model.keras as a single-device model (it loads on any backend)
        synchronize_batchnorm(model, False)
        save_model(model, result.model_path)
    run.write_record("train", {**train_config, "status": "done", "best": result.best(),
                                    MODEL_SHA256: sha256(result.model_path),
                                    "epochs_run": result.epochs_run(),
                                    "seconds": round(time.perf_counter() - t0, 1)})
    return result.model_path


def _write_jaspar_table(run: Run, config: ModelConfig, random_init: bool, resume: bool,
                        seed: int) -> dict | None:
    """Write ``RUN/jaspar_init.csv`` (kept when resuming); its record for config.json, or None."""
    table_path = run.jaspar_init
    if random_init or not config.jaspar_kernels:
        if table_path.exists() and not resume:
            table_path.unlink()
        return None
    if not resume or not table_path.exists():
        with atomic_path(table_path) as tmp:
            jaspar_init_table(config, seed).to_csv(tmp, index=False)
    return {"release": config.jaspar_release, "kernels_per_branch": config.jaspar_kernels,
            "matrix": config.jaspar_matrix, "table": schema.JASPAR_INIT_FILE}


def _stage_sources(ds: Dataset, config: ModelConfig, seed: int, zero_branch, shift_negatives: bool):
    """Batch sources ``(train, valid)`` of stage 1 (balanced, shifted) and stage 2 (original pairs)."""
    kw = dict(batch_size=config.batch_size, seed=seed, zero_branch=zero_branch)
    kw1 = dict(kw, shift_negatives=shift_negatives, negatives=config.pretrain_negatives)
    augment = dict(rc_augment=config.rc_augment, redraw_shifts=config.redraw_shifts,
                   epoch_examples=config.epoch_examples, swap_negatives=config.swap_negatives)
    stage1 = (PairBatches(ds, schema.TRAIN, balanced=True, shuffle=True, **kw1, **augment),
              PairBatches(ds, schema.VALID, balanced=True, shuffle=False, **kw1))
    stage2 = (PairBatches(ds, schema.TRAIN, balanced=False, shuffle=False, **kw),
              PairBatches(ds, schema.VALID, balanced=False, shuffle=False, **kw))
    return stage1, stage2
