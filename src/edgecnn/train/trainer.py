"""Training run: dataset in, model.keras + labels.txt + train.json out.

A run is reproducible (same seed, same data, same test accuracy on CPU) and leaves no
half-written model behind: every artifact is written to a temporary name first.

With `strategy` "mirrored" or "multiworker" the same job runs under tf.distribute
(see distributed.py); in a multi-worker run only the chief writes anything to OUT.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import __version__
from ..datasets import Dataset, load_dataset
from ..errors import UsageError
from ..fsutil import atomic_path, ensure_output_dir, write_json_atomic, write_labels_file
from .distributed import DEFAULT_CONNECT_TIMEOUT_S, STRATEGIES, Cluster, resolve_cluster

MODEL_FILE, LABELS_FILE, TRAIN_JSON = "model.keras", "labels.txt", "train.json"


@dataclass
class TrainConfig:
    dataset: str = "fashion-mnist"
    data_dir: str | None = None
    epochs: int = 10
    batch_size: int = 64
    validation_split: float = 0.1
    seed: int = 0
    limit: int | None = None
    out: str = "artifacts"
    patience: int = 3
    strategy: str = "default"
    workers: str | None = None  # "host:port,host:port" for multiworker; else TF_CONFIG
    task_index: int | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S

    def validate(self) -> None:
        if self.epochs < 1:
            raise UsageError(f"--epochs must be at least 1 (got {self.epochs})")
        if self.batch_size < 1:
            raise UsageError(f"--batch-size must be at least 1 (got {self.batch_size})")
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


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) pixels to the float32 (N, 28, 28, 1) in [0, 1] the model takes."""
    return (images.astype(np.float32) / 255.0)[..., np.newaxis]


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> tuple:
    order = np.random.default_rng(seed).permutation(len(y))
    n_val = max(1, int(round(len(y) * fraction)))
    if n_val >= len(y):
        raise UsageError(f"--validation-split {fraction} leaves no training images out of {len(y)}")
    val, train = order[:n_val], order[n_val:]
    return x[train], y[train], x[val], y[val]


def epoch_logger(epochs: int, log: Callable[[str], None]) -> Any:
    import keras

    class EpochLogger(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = logs or {}
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


def fit(model: Any, dataset: Dataset, config: TrainConfig, log: Callable[[str], None],
        strategy: Any = None) -> tuple[Any, dict]:
    """Fit with early stopping on validation loss; the best epoch's weights are kept.

    Under a tf.distribute `strategy` the same split is fed as tf.data at the global
    batch size, and validation runs through the strategy too, so every worker sees the
    same val_loss (averaged over all of them) and EarlyStopping stops them all at the
    same epoch; a worker that stopped alone would leave the others waiting in a collective.
    """
    import keras

    x_tr, y_tr, x_val, y_val = split_validation(
        to_model_input(dataset.x_train), dataset.y_train, config.validation_split, config.seed
    )
    if strategy is None:
        data = {"x": x_tr, "y": y_tr, "validation_data": (x_val, y_val), "batch_size": config.batch_size,
                "shuffle": True}
    else:
        from .distributed import distributed_dataset

        global_batch = config.batch_size * strategy.num_replicas_in_sync
        data = {"x": distributed_dataset(x_tr, y_tr, global_batch, config.seed, shuffle=True),
                "validation_data": distributed_dataset(x_val, y_val, global_batch, config.seed, shuffle=False),
                "shuffle": False}
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True)
    history = model.fit(**data, epochs=config.epochs, verbose=0, callbacks=[stop, epoch_logger(config.epochs, log)])
    sizes = {"train": int(len(y_tr)), "validation": int(len(y_val)), "test": int(len(dataset.y_test))}
    return history, sizes


def history_rows(history: Any) -> list[dict[str, float]]:
    keys = list(history.history)
    n = len(history.history[keys[0]]) if keys else 0
    return [{"epoch": i + 1, **{k: float(history.history[k][i]) for k in keys}} for i in range(n)]


def save_model(model: Any, dest: Path) -> None:
    with atomic_path(dest) as tmp:
        model.save(tmp)


def _train_default(dataset: Dataset, config: TrainConfig, log: Callable[[str], None]) -> tuple:
    """The single-process path: plain Keras, reproducible on CPU."""
    from ..tfenv import set_determinism
    from .model import build_model

    set_determinism(config.seed)
    model = build_model(dataset.num_classes)
    fit_started = time.perf_counter()
    history, sizes = fit(model, dataset, config, log)
    fit_seconds = time.perf_counter() - fit_started
    test_loss, test_acc = model.evaluate(to_model_input(dataset.x_test), dataset.y_test, verbose=0)
    return model, history, sizes, fit_seconds, test_loss, test_acc, 1


def _train_distributed(
    dataset: Dataset, config: TrainConfig, cluster: Cluster | None, log: Callable[[str], None]
) -> tuple:
    """mirrored / multiworker: model built and compiled inside strategy.scope().

    The test set is evaluated through the strategy as well: every worker must take
    part in its collectives, and all of them get the same accuracy.
    """
    from ..tfenv import import_tensorflow, set_determinism
    from .distributed import (
        check_workers_agree, distributed_dataset, keras_distribution_fixes, make_strategy, peer_failures_reported,
        run_fingerprint, wait_for_peers,
    )
    from .model import build_model

    if cluster is not None:
        import_tensorflow()  # before the wait: the port is unanswered from then until TF's server opens it
        wait_for_peers(cluster, config.connect_timeout, log)
    set_determinism(config.seed)
    strategy = make_strategy(config.strategy, cluster)
    replicas = int(strategy.num_replicas_in_sync)
    log(f"strategy {config.strategy}: {replicas} replica(s) in sync, global batch {config.batch_size * replicas} "
        f"({config.batch_size} per replica)")
    with strategy.scope():
        model = build_model(dataset.num_classes)
    with peer_failures_reported(cluster), keras_distribution_fixes(model, strategy):
        check_workers_agree(strategy, cluster, run_fingerprint(
            (dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test),
            (list(dataset.class_names), config.epochs, config.batch_size, config.validation_split, config.seed,
             config.patience, config.limit)))
        fit_started = time.perf_counter()
        history, sizes = fit(model, dataset, config, log, strategy)
        fit_seconds = time.perf_counter() - fit_started
        test_data = distributed_dataset(to_model_input(dataset.x_test), dataset.y_test,
                                        config.batch_size * replicas, config.seed, shuffle=False)
        test_loss, test_acc = model.evaluate(test_data, verbose=0)
    return model, history, sizes, fit_seconds, test_loss, test_acc, replicas


def distribution_report(config: TrainConfig, cluster: Cluster | None, replicas: int) -> dict[str, Any]:
    """train.json's record of how the run was spread: strategy, workers, global batch."""
    return {
        "strategy": config.strategy,
        "workers": cluster.num_workers if cluster else 1,
        "replicas_in_sync": replicas,
        "batch_size_per_replica": config.batch_size,
        "global_batch_size": config.batch_size * replicas,
        "cluster": list(cluster.addresses) if cluster else None,
        "cluster_source": cluster.source if cluster else None,
    }


def train(config: TrainConfig, log: Callable[[str], None] = print) -> TrainResult:
    """Run the whole training job described by `config` and write its artifacts.

    In a multi-worker run every worker calls this with the same config; only the
    chief creates OUT and writes to it. Keras 3 saves a .keras file from local
    variable values (no collective ops), so the other workers need not save anything,
    not even to a scratch folder.
    """
    config.validate()
    cluster = resolve_cluster(config.strategy, config.workers, config.task_index)
    chief = cluster is None or cluster.is_chief
    out = ensure_output_dir(config.out) if chief else Path(config.out)
    started = time.perf_counter()
    if cluster is not None:
        log(cluster.describe())
    dataset = load_dataset(config.dataset, config.data_dir, config.seed, config.limit, log)
    tag = " (SYNTHETIC data)" if dataset.synthetic else ""
    log(f"dataset {dataset.name}{tag}: {len(dataset.y_train)} train / {len(dataset.y_test)} test images, "
        f"{dataset.num_classes} classes")

    if config.strategy == "default":
        model, history, sizes, fit_seconds, test_loss, test_acc, replicas = _train_default(dataset, config, log)
    else:
        model, history, sizes, fit_seconds, test_loss, test_acc, replicas = _train_distributed(
            dataset, config, cluster, log)
    rows = history_rows(history)
    best = min(rows, key=lambda r: r.get("val_loss", float("inf")))["epoch"] if rows else 0
    log(f"test accuracy {test_acc:.4f}  loss {test_loss:.4f}{tag}")

    model_path = out / MODEL_FILE
    if chief:
        save_model(model, model_path)
        write_labels_file(out / LABELS_FILE, dataset.class_names)
    report = {
        "dataset": dataset.describe(),
        "synthetic": dataset.synthetic,
        "dataset_warnings": dataset.warnings,
        "split_sizes": sizes,
        "seed": config.seed,
        "epochs_requested": config.epochs,
        "epochs_run": len(rows),
        "best_epoch": best,
        "batch_size": config.batch_size,
        "validation_split": config.validation_split,
        "limit": config.limit,
        "history": rows,
        "test_accuracy": float(test_acc),
        "test_loss": float(test_loss),
        "fit_seconds": round(fit_seconds, 3),
        "seconds_per_epoch": round(fit_seconds / max(1, len(rows)), 3),
        "wall_time_s": round(time.perf_counter() - started, 3),
        "versions": versions(),
        "distribution": distribution_report(config, cluster, replicas),
        "artifacts": [MODEL_FILE, LABELS_FILE, TRAIN_JSON],
    }
    if cluster is not None and not chief:
        log(f"worker {cluster.index} is not the chief: nothing written here "
            f"(the chief, {cluster.addresses[0]}, writes the artifacts)")
        return TrainResult(out, model_path, report, written=False)
    write_json_atomic(out / TRAIN_JSON, report)
    log(f"wrote {model_path}, {out / LABELS_FILE}, {out / TRAIN_JSON}")
    return TrainResult(out, model_path, report)
