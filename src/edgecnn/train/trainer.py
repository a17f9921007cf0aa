"""Training run: dataset in, model.keras + labels.txt + train.json out.

A run is reproducible (same seed, same data, same test accuracy on CPU) and leaves no
half-written model behind: the three artifacts are staged and moved into OUT together,
train.json last (fsutil.OutputSet); a full disk leaves the previous run's files as they were.

With `strategy` "mirrored" or "multiworker" the same job runs under tf.distribute
(see distributed.py); in a multi-worker run only the chief writes anything to OUT.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..datasets import Dataset, load_dataset
from ..errors import UsageError
from ..filenames import LABELS_FILE, MODEL_FILE, TRAIN_JSON
from ..fsutil import OutputSet, labels_text, output_folder
from ..log import Log, get_logger
from ..progress import progress_bar
from ..runtime.modelinput import to_model_input
from .distributed import DEFAULT_CONNECT_TIMEOUT_S, STRATEGIES, Cluster, resolve_cluster
from .data import photo_pool
from .recipes import DEFAULT_RECIPE, Recipe, augment_for, compile_for, get_recipe, photos_for

logger = get_logger(__name__)



@dataclass
class TrainConfig:
    dataset: str = "fashion-mnist"
    data_dir: str | None = None
    recipe: str = DEFAULT_RECIPE
    epochs: int | None = None  # None: the recipe's
    batch_size: int | None = None  # None: the recipe's
    augment: str = "auto"  # see recipes.AUGMENTATIONS
    photos: float | None = None  # share of training images also shown as photos through prepare; None: the recipe's
    #                              (recipes.photos_for: 0.25 on Fashion-MNIST for the edgecnn recipe)
    validation_split: float = 0.1
    seed: int = 0
    limit: int | None = None
    out: str = "artifacts"
    patience: int | None = None  # None: the recipe's
    strategy: str = "default"
    workers: str | None = None  # "host:port,host:port" for multiworker; else TF_CONFIG
    task_index: int | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S

    def plan(self) -> Recipe:
        """The recipe with this run's overrides applied (augment still "auto" until the dataset is known)."""
        recipe = get_recipe(self.recipe)
        overrides = {k: v for k, v in (("epochs", self.epochs), ("batch_size", self.batch_size),
                                       ("patience", self.patience), ("photos", self.photos)) if v is not None}
        if self.augment != "auto":
            overrides["augment"] = self.augment
        return replace(recipe, **overrides)

    def validate(self) -> None:
        plan = self.plan()
        if plan.epochs < 1:
            raise UsageError(f"--epochs must be at least 1 (got {plan.epochs})")
        if plan.batch_size < 1:
            raise UsageError(f"--batch-size must be at least 1 (got {plan.batch_size})")
        if plan.patience is not None and plan.patience < 1:
            raise UsageError(f"--patience must be at least 1 (got {plan.patience})")
        augment_for(self.augment, "")
        photos_for(plan.photos, "")
        if not 0.0 < self.validation_split < 1.0:
            raise UsageError(f"--validation-split must be between 0 and 1 (got {self.validation_split})")
        if self.limit is not None and self.limit < 20:
            raise UsageError(f"--limit must be at least 20 images (got {self.limit})")
        if self.strategy not in STRATEGIES:
            raise UsageError(f"--strategy must be one of {', '.join(STRATEGIES)} (got '{self.strategy}')")
        if not self.connect_timeout > 0:
            raise UsageError(f"--connect-timeout must be more than 0 seconds (got {self.connect_timeout})")


@dataclass
class TrainResult:
    out_dir: Path
    model_path: Path
    report: dict[str, Any] = field(default_factory=dict)
    written: bool = True  # False on a non-chief worker of a multi-worker run: OUT untouched


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> tuple:
    order = np.random.default_rng(seed).permutation(len(y))
    n_val = max(1, int(round(len(y) * fraction)))
    if n_val >= len(y):
        raise UsageError(f"--validation-split {fraction} leaves no training images out of {len(y)}")
    val, train = order[:n_val], order[n_val:]
    return x[train], y[train], x[val], y[val]


def epoch_logger(epochs: int, steps: int, log: Log) -> Any:
    """One line per epoch; on a terminal, also a progress bar within the epoch (tqdm, when installed)."""
    import keras

    class EpochLogger(keras.callbacks.Callback):
        bar: Any = None

        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._start = time.perf_counter()
            self.bar = progress_bar(steps, f"epoch {epoch + 1}/{epochs}")

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            if self.bar is not None:
                self.bar.update(1)

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if self.bar is not None:
                self.bar.close()
            logs = logs or {}
            self.seconds.append(round(time.perf_counter() - self._start, 3))
            log(
                f"epoch {epoch + 1}/{epochs}  loss {logs.get('loss', float('nan')):.4f}  "
                f"acc {logs.get('accuracy', float('nan')):.4f}  val_loss {logs.get('val_loss', float('nan')):.4f}  "
                f"val_acc {logs.get('val_accuracy', float('nan')):.4f}  ({time.perf_counter() - self._start:.1f} s)"
            )

    return EpochLogger()


def versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "edgecnn": __version__,
    }


@dataclass
class Split:
    """The training data cut into train / validation (seeded), plus the test split."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @classmethod
    def of(cls, dataset: Dataset, fraction: float, seed: int) -> "Split":
        parts = split_validation(to_model_input(dataset.x_train), dataset.y_train, fraction, seed)
        return cls(*parts, to_model_input(dataset.x_test), dataset.y_test)

    def sizes(self) -> dict[str, int]:
        return {"train": int(len(self.y_train)), "validation": int(len(self.y_val)), "test": int(len(self.y_test))}


def compile_model(model: Any, plan: Recipe, split: Split, global_batch: int) -> None:
    """The recipe's optimizer and loss; its schedule spans every step of every epoch."""
    compile_for(model, plan, steps_per_epoch=-(-len(split.y_train) // global_batch), epochs=plan.epochs)


def fit(model: Any, split: Split, plan: Recipe, num_classes: int, seed: int, log: Log,
        global_batch: int, photos: tuple[np.ndarray, np.ndarray] | None = None) -> Any:
    """Fit for the recipe's epochs and keep the weights of its best validation epoch.

    The same tf.data pipelines serve one process and tf.distribute (batches are
    global-sized; a strategy splits them per replica). Validation runs through the
    strategy too, so every worker sees the same metric and, with patience, stops at
    the same epoch; a worker that stopped alone would leave the others waiting.
    `photos`: `data.photo_pool`'s output (None: tiles only), made by the caller.
    """
    import keras

    from .data import batches

    train_data = batches(split.x_train, split.y_train, batch_size=global_batch, num_classes=num_classes, seed=seed,
                         shuffle=True, augment=plan.augment, photos=photos)
    val_data = batches(split.x_val, split.y_val, batch_size=global_batch, num_classes=num_classes, seed=seed)
    keep_best = keras.callbacks.EarlyStopping(monitor=plan.select_on, patience=plan.patience or plan.epochs,
                                              restore_best_weights=True)
    steps = -(-len(split.y_train) // global_batch)
    logger = epoch_logger(plan.epochs, steps, log)
    history = model.fit(train_data, validation_data=val_data, epochs=plan.epochs, verbose=0, shuffle=False,
                        callbacks=[keep_best, logger])
    history.history["seconds"] = logger.seconds  # each epoch's wall time, into train.json's history
    return history


def evaluate_test(model: Any, split: Split, num_classes: int, seed: int, global_batch: int) -> tuple[float, float]:
    """(loss, accuracy) on the test split, through the same pipeline (and strategy) as training."""
    from .data import batches

    test_data = batches(split.x_test, split.y_test, batch_size=global_batch, num_classes=num_classes, seed=seed)
    loss, acc = model.evaluate(test_data, verbose=0)
    return float(loss), float(acc)


def history_rows(history: Any) -> list[dict[str, float]]:
    keys = list(history.history)
    n = len(history.history[keys[0]]) if keys else 0
    return [{"epoch": i + 1, **{k: float(history.history[k][i]) for k in keys}} for i in range(n)]


def best_epoch(rows: list[dict[str, float]], metric: str) -> int:
    """The 1-based epoch whose weights were kept: the best `metric` (highest accuracy, lowest loss)."""
    scored = [r for r in rows if metric in r]
    if not scored:
        return 0
    pick = max if "acc" in metric else min
    return int(pick(scored, key=lambda r: r[metric])["epoch"])


@dataclass
class Fitted:
    """What either training path hands back to `_train`: the model and what train.json records of the fit."""

    model: Any
    history: Any
    split_sizes: dict[str, int]
    fit_seconds: float
    test_loss: float
    test_accuracy: float
    replicas: int = 1


def _train_default(dataset: Dataset, config: TrainConfig, plan: Recipe, log: Log) -> Fitted:
    """The single-process path: plain Keras, reproducible on CPU."""
    from ..tfenv import set_determinism
    from .model import build_model

    split = Split.of(dataset, config.validation_split, config.seed)
    photos = photo_pool(split.x_train, plan.photos, config.seed, log)  # before TensorFlow: its workers are forked
    set_determinism(config.seed)
    model = build_model(dataset.num_classes)
    compile_model(model, plan, split, plan.batch_size)
    fit_started = time.perf_counter()
    history = fit(model, split, plan, dataset.num_classes, config.seed, log, plan.batch_size, photos)
    fit_seconds = time.perf_counter() - fit_started
    test_loss, test_acc = evaluate_test(model, split, dataset.num_classes, config.seed, plan.batch_size)
    return Fitted(model, history, split.sizes(), fit_seconds, test_loss, test_acc)


def _train_distributed(
    dataset: Dataset, config: TrainConfig, plan: Recipe, cluster: Cluster | None, log: Log
) -> Fitted:
    """mirrored / multiworker: model built and compiled inside strategy.scope().

    The test set is evaluated through the strategy as well: every worker must take
    part in its collectives, and all of them get the same accuracy.
    """
    from ..tfenv import import_tensorflow, set_determinism
    from .distributed import (
        check_workers_agree, keras_distribution_fixes, make_strategy, peer_failures_reported, run_fingerprint,
        wait_for_peers,
    )
    from .model import build_model

    if cluster is not None:
        import_tensorflow()  # before the wait: the port is unanswered from then until TF's server opens it
        wait_for_peers(cluster, config.connect_timeout, log)
    set_determinism(config.seed)
    strategy = make_strategy(config.strategy, cluster, join_timeout_s=config.connect_timeout)
    replicas = int(strategy.num_replicas_in_sync)
    global_batch = plan.batch_size * replicas
    log(f"strategy {config.strategy}: {replicas} replica(s) in sync, global batch {global_batch} "
        f"({plan.batch_size} per replica)")
    split = Split.of(dataset, config.validation_split, config.seed)
    with strategy.scope():
        model = build_model(dataset.num_classes)
        compile_model(model, plan, split, global_batch)
    with peer_failures_reported(cluster), keras_distribution_fixes(model, strategy):
        check_workers_agree(strategy, cluster, run_fingerprint(
            (dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test),
            (list(dataset.class_names), config.validation_split, config.seed, config.limit,
             *sorted(plan.as_dict().items()))))
        fit_started = time.perf_counter()
        history = fit(model, split, plan, dataset.num_classes, config.seed, log, global_batch,
                      photo_pool(split.x_train, plan.photos, config.seed, log))
        fit_seconds = time.perf_counter() - fit_started
        test_loss, test_acc = evaluate_test(model, split, dataset.num_classes, config.seed, global_batch)
    return Fitted(model, history, split.sizes(), fit_seconds, test_loss, test_acc, replicas)


def distribution_report(config: TrainConfig, batch_size: int, cluster: Cluster | None, replicas: int) -> dict[str, Any]:
    """train.json's record of how the run was spread: strategy, workers, global batch."""
    return {
        "strategy": config.strategy,
        "workers": cluster.num_workers if cluster else 1,
        "replicas_in_sync": replicas,
        "batch_size_per_replica": batch_size,
        "global_batch_size": batch_size * replicas,
        "cluster": list(cluster.addresses) if cluster else None,
        "cluster_source": cluster.source if cluster else None,
    }


def train(config: TrainConfig, log: Log = logger.info) -> TrainResult:
    """Run the whole training job described by `config` and write its artifacts.

    In a multi-worker run every worker calls this with the same config; only the
    chief creates OUT and writes to it. Keras 3 saves a .keras file from local
    variable values (no collective ops), so the other workers need not save anything,
    not even to a scratch folder. A failed run removes the output folder it created; a full
    disk raises WriteError (exit 2) with the previous artifacts unchanged.
    """
    config.validate()
    cluster = resolve_cluster(config.strategy, config.workers, config.task_index)
    if cluster is not None and not cluster.is_chief:
        return _train(config, cluster, Path(config.out), log)
    with output_folder(config.out) as out:
        return _train(config, cluster, out, log)


def _train(config: TrainConfig, cluster: Cluster | None, out: Path, log: Log) -> TrainResult:
    chief = cluster is None or cluster.is_chief
    started = time.perf_counter()
    if cluster is not None:
        log(cluster.describe())
    dataset = load_dataset(config.dataset, config.data_dir, config.seed, config.limit, log)
    tag = " (SYNTHETIC data)" if dataset.synthetic else ""
    log(f"dataset {dataset.name}{tag}: {len(dataset.y_train)} train / {len(dataset.y_test)} test images, "
        f"{dataset.num_classes} classes")
    plan = config.plan()
    plan = replace(plan, augment=augment_for(plan.augment, dataset.name), photos=photos_for(plan.photos, dataset.name))
    log(f"recipe {plan.name}: {plan.epochs} epochs, batch {plan.batch_size}, {plan.optimizer} "
        f"{plan.learning_rate:g} ({plan.schedule}), augment {plan.augment}, photos {plan.photos:g}, "
        f"keeps the best {plan.select_on}")

    if config.strategy == "default":
        fitted = _train_default(dataset, config, plan, log)
    else:
        fitted = _train_distributed(dataset, config, plan, cluster, log)
    model, history, sizes, fit_seconds = fitted.model, fitted.history, fitted.split_sizes, fitted.fit_seconds
    test_loss, test_acc, replicas = fitted.test_loss, fitted.test_accuracy, fitted.replicas
    rows = history_rows(history)
    best = best_epoch(rows, plan.select_on)
    log(f"test accuracy {test_acc:.4f}  loss {test_loss:.4f}{tag}")

    model_path = out / MODEL_FILE
    report = {
        "dataset": dataset.describe(),
        "synthetic": dataset.synthetic,
        "dataset_warnings": dataset.warnings,
        "split_sizes": sizes,
        "seed": config.seed,
        "recipe": plan.as_dict(),
        "epochs_requested": plan.epochs,
        "epochs_run": len(rows),
        "best_epoch": best,
        "batch_size": plan.batch_size,
        "validation_split": config.validation_split,
        "limit": config.limit,
        "history": rows,
        "test_accuracy": float(test_acc),
        "test_loss": float(test_loss),
        "fit_seconds": round(fit_seconds, 3),
        "seconds_per_epoch": round(fit_seconds / max(1, len(rows)), 3),
        "wall_time_s": round(time.perf_counter() - started, 3),
        "versions": versions(),
        "distribution": distribution_report(config, plan.batch_size, cluster, replicas),
        "artifacts": [MODEL_FILE, LABELS_FILE, TRAIN_JSON],
    }
    if cluster is not None and not chief:
        log(f"worker {cluster.index} is not the chief: nothing written here "
            f"(the chief, {cluster.addresses[0]}, writes the artifacts)")
        return TrainResult(out, model_path, report, written=False)
    with OutputSet(out) as files:
        with files.writing(MODEL_FILE) as staged:
            model.save(staged)
        files.write_bytes(LABELS_FILE, labels_text(dataset.class_names))
        files.write_json(TRAIN_JSON, report)
        files.commit(last=TRAIN_JSON)
    log(f"wrote {model_path}, {out / LABELS_FILE}, {out / TRAIN_JSON}")
    return TrainResult(out, model_path, report)
