"""Scale-out training on tf.distribute: strategy choice, cluster set-up, data sharding.

Three strategies, chosen with `edgecnn train --strategy`:

- `default`: one process, one device; the plain Keras path (and the reproducible one).
- `mirrored`: `tf.distribute.MirroredStrategy` over every local GPU (or the CPU).
- `multiworker`: `tf.distribute.MultiWorkerMirroredStrategy` across processes or
  machines, configured from `TF_CONFIG` or from `--workers host:port,... --task-index i`
  (which builds TF_CONFIG). Every worker runs the same command; the chief (worker 0,
  or the task of type `chief`) is the only one that writes artifacts.

Everything a user can get wrong here (bad TF_CONFIG, an index out of range, a worker
that never comes up) is caught before TensorFlow starts its gRPC server, because a
multi-worker job that fails later usually hangs instead of failing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import time
import types
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

from ..errors import EdgecnnError, UsageError

if TYPE_CHECKING:  # the CLI imports this module to build --help: keep it light
    import numpy as np

STRATEGIES = ("default", "mirrored", "multiworker")
DEFAULT_CONNECT_TIMEOUT_S = 60.0
_PROBE_INTERVAL_S = 0.5


@dataclass(frozen=True)
class Cluster:
    """Who takes part in a multi-worker run and which of them this process is.

    `addresses` lists every training task in TF's order (the `chief` task, if any,
    then the `worker` tasks); `index` is this process's position in that list, so
    index 0 is always the chief.
    """

    addresses: tuple[str, ...]
    index: int
    task_type: str
    task_id: int
    tf_config: str
    source: str  # "--workers" or "TF_CONFIG": named in error messages and train.json

    @property
    def num_workers(self) -> int:
        return len(self.addresses)

    @property
    def is_chief(self) -> bool:
        return self.index == 0

    @property
    def address(self) -> str:
        return self.addresses[self.index]

    @property
    def peers(self) -> tuple[str, ...]:
        return tuple(a for i, a in enumerate(self.addresses) if i != self.index)

    def describe(self) -> str:
        role = "chief" if self.is_chief else "non-chief: writes nothing"
        return f"worker {self.index} of {self.num_workers} at {self.address} ({role}), cluster from {self.source}"


def split_address(address: str, where: str) -> tuple[str, int]:
    """'host:port' (or '[v6]:port') to (host, port), or a UsageError naming `where`."""
    host, sep, port_text = address.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(f"{where}: '{address}' is not host:port (port 1-65535)")
    return host, int(port_text)


def cluster_from_workers(workers: str, task_index: int | None) -> Cluster:
    """The cluster that `--workers a:p,b:q --task-index i` describes, with its TF_CONFIG."""
    addresses = tuple(a.strip() for a in workers.split(",") if a.strip())
    if not addresses:
        raise UsageError("--workers: give at least one host:port")
    for address in addresses:
        split_address(address, "--workers")
    if len(set(addresses)) != len(addresses):
        raise UsageError(f"--workers lists an address twice: {','.join(addresses)}")
    if task_index is None:
        raise UsageError("--workers needs --task-index (0 on the chief, 1, 2, ... on the others)")
    if not 0 <= task_index < len(addresses):
        raise UsageError(f"--task-index {task_index} is out of range for {len(addresses)} workers (0-{len(addresses) - 1})")
    config = {"cluster": {"worker": list(addresses)}, "task": {"type": "worker", "index": task_index}}
    return Cluster(addresses, task_index, "worker", task_index, json.dumps(config), "--workers")


def cluster_from_tf_config(text: str) -> Cluster:
    """Parse and check TF_CONFIG the way MultiWorkerMirroredStrategy will read it."""
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"TF_CONFIG is not valid JSON ({exc})") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise UsageError('TF_CONFIG needs "cluster" and "task" objects, e.g. '
                         '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}')
    jobs = {name: cluster.get(name) or [] for name in ("chief", "worker")}
    for name, hosts in jobs.items():
        if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
            raise UsageError(f'TF_CONFIG: cluster "{name}" must be a list of "host:port" strings')
        for host in hosts:
            split_address(host, f'TF_CONFIG cluster "{name}"')
    if len(jobs["chief"]) > 1:
        raise UsageError(f'TF_CONFIG: at most one "chief" (got {len(jobs["chief"])})')
    task_type, task_id = task.get("type"), task.get("index", 0)
    if task_type not in jobs or not jobs[task_type]:
        raise UsageError(f'TF_CONFIG: task type {task_type!r} is not a "chief" or "worker" job of the cluster')
    if not isinstance(task_id, int) or not 0 <= task_id < len(jobs[task_type]):
        raise UsageError(f'TF_CONFIG: task index {task_id!r} is out of range for {len(jobs[task_type])} '
                         f'"{task_type}" task(s) (0-{len(jobs[task_type]) - 1})')
    addresses = tuple(jobs["chief"]) + tuple(jobs["worker"])
    index = task_id if task_type == "chief" else len(jobs["chief"]) + task_id
    return Cluster(addresses, index, task_type, task_id, text, "TF_CONFIG")


def resolve_cluster(
    strategy: str, workers: str | None, task_index: int | None, environ: Mapping[str, str] = os.environ
) -> Cluster | None:
    """The multi-worker cluster for this run, or None for the single-process strategies.

    `--workers` wins over an inherited TF_CONFIG so that a command line always means
    what it says; TF_CONFIG is read only for `--strategy multiworker`.
    """
    if strategy not in STRATEGIES:
        raise UsageError(f"--strategy must be one of {', '.join(STRATEGIES)} (got '{strategy}')")
    if strategy != "multiworker":
        if workers is not None or task_index is not None:
            raise UsageError("--workers and --task-index need --strategy multiworker")
        return None
    if workers is not None:
        return cluster_from_workers(workers, task_index)
    if task_index is not None:
        raise UsageError("--task-index needs --workers (or set TF_CONFIG instead of both)")
    text = environ.get("TF_CONFIG", "").strip()
    if not text:
        raise UsageError("--strategy multiworker needs --workers host:port,host:port --task-index i, or TF_CONFIG")
    return cluster_from_tf_config(text)


def _can_connect(address: str, timeout_s: float) -> bool:
    host, port = split_address(address, "worker address")
    try:
        with socket.create_connection((host, port), timeout=max(0.05, timeout_s)):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def _answering_on(port: int, address: str) -> Iterator[None]:
    """Listen on this worker's own port while it waits for the others.

    Every worker checks every other before TensorFlow opens its server on that port;
    without a stand-in listener, two workers would each wait for the other forever.
    Closed again just before TensorFlow binds the same port (SO_REUSEADDR).
    """
    dual = socket.has_dualstack_ipv6()  # answer on IPv4 and IPv6, as TensorFlow's server does
    try:
        sock = socket.create_server(("", port), family=socket.AF_INET6 if dual else socket.AF_INET,
                                    backlog=64, dualstack_ipv6=dual)  # sets SO_REUSEADDR
    except OSError as exc:
        raise UsageError(f"this worker's address {address}: port {port} cannot be opened here "
                         f"({exc.strerror or exc}); is another job using it?") from None
    try:
        yield
    finally:
        sock.close()


def wait_for_peers(cluster: Cluster, timeout_s: float, log: Callable[[str], None] = print) -> None:
    """Return once every other worker answers on its port; UsageError after `timeout_s`.

    TensorFlow itself waits for a missing worker without a word: creating the
    strategy with one worker absent was still blocked after 10 minutes here (TF 2.21),
    deaf to SIGTERM. So the check comes first. The others may start a few seconds
    later, so refused connections are retried until the deadline.
    """
    pending = list(cluster.peers)
    if not pending:
        return
    log(f"waiting up to {timeout_s:g} s for {len(pending)} other worker(s): {', '.join(pending)}")
    deadline = time.monotonic() + timeout_s
    with _answering_on(split_address(cluster.address, "this worker's address")[1], cluster.address):
        while True:
            pending = [a for a in pending if not _can_connect(a, min(2.0, deadline - time.monotonic()))]
            left = deadline - time.monotonic()
            if not pending:
                return
            if left <= 0:
                raise UsageError(f"worker {pending[0]} cannot be reached within {timeout_s:g} s: start the same "
                                 f"command there with its --task-index, and check that port is open")
            time.sleep(min(_PROBE_INTERVAL_S, left))


def make_strategy(name: str, cluster: Cluster | None) -> Any:
    """The tf.distribute strategy; for multiworker, TF_CONFIG is set first, as TF reads it there."""
    from ..tfenv import import_tensorflow

    tf = import_tensorflow()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    assert cluster is not None
    os.environ["TF_CONFIG"] = cluster.tf_config
    return tf.distribute.MultiWorkerMirroredStrategy()


def run_fingerprint(arrays: tuple[Any, ...], settings: tuple[Any, ...]) -> int:
    """24 bits of SHA-256 over the data and the flags that must match on every worker."""
    digest = hashlib.sha256(repr(settings).encode())
    for array in arrays:
        digest.update(repr((array.shape, str(array.dtype))).encode())
        digest.update(array.tobytes())
    return int.from_bytes(digest.digest()[:3], "big")


def check_workers_agree(strategy: Any, cluster: Cluster | None, fingerprint: int) -> None:
    """UsageError on every worker unless all of them hold the same data and flags.

    DATA sharding hands each worker its slice of *its own* copy of the data, so
    copies that differ (another --limit or --seed, other files) would train on a
    silent mix, and different --epochs would leave one worker waiting for the
    others. Each worker contributes (f, f*f) to one all-reduce: the sums equal
    (n*f, n*f*f) for every worker only when all fingerprints are equal, and every
    worker sees the same sums, so either all go on or all stop.
    """
    if cluster is None or cluster.num_workers < 2:
        return
    import tensorflow as tf

    f = float(fingerprint)  # < 2**24, so f*f and its sum over workers are exact in float64
    sums = strategy.reduce("SUM", tf.constant([f, f * f], tf.float64), axis=None).numpy()
    n = cluster.num_workers
    if sums[0] != n * f or sums[1] != n * f * f:
        raise UsageError("the workers disagree on the data set or the training flags: start every worker with the "
                         "same --dataset, --limit, --seed, --epochs, --batch-size, --validation-split, --patience "
                         "and the same data files")


@contextlib.contextmanager
def peer_failures_reported(cluster: Cluster | None) -> Iterator[None]:
    """Turn 'another worker died' into one line instead of a page of gRPC traceback.

    When a worker process ends mid-run, the others' next collective fails within a
    few seconds (UnavailableError, "Connection reset by peer"); nothing has been
    written yet, and the only fix is to start the job again on every worker.
    """
    if cluster is None:
        yield
        return
    import tensorflow as tf

    lost = (tf.errors.UnavailableError, tf.errors.AbortedError, tf.errors.CancelledError,
            tf.errors.DeadlineExceededError)
    try:
        yield
    except lost as exc:
        raise EdgecnnError(f"lost contact with another worker during training ({type(exc).__name__}); nothing "
                           f"was written: start the same command again on every worker") from exc


def distributed_dataset(x: np.ndarray, y: np.ndarray, global_batch: int, seed: int, shuffle: bool) -> Any:
    """A tf.data pipeline that tf.distribute splits across workers by DATA sharding.

    Why DATA and not FILE or an explicit `shard()`: every worker holds the whole data
    set in memory, built identically from the same seed (synthetic) or the same files,
    so there are no files to hand out (AUTO would fall back to DATA with a warning).
    With DATA, each worker runs the same pipeline - same seeded shuffle, batches of the
    global size - and keeps only its own slice of every batch, so the slices are
    disjoint, cover the data once per epoch, and Keras's `fit` can take the dataset
    as it is. The cost, every worker shuffling the full set, is small for images in
    memory. Batches are global-sized: tf.distribute splits them per replica.
    """
    from ..tfenv import import_tensorflow

    tf = import_tensorflow()
    data = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        data = data.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return data.batch(global_batch).with_options(options).prefetch(tf.data.AUTOTUNE)


@contextlib.contextmanager
def keras_distribution_fixes(model: Any, strategy: Any) -> Iterator[None]:
    """Work around two Keras 3 bugs that break `fit` under MultiWorkerMirroredStrategy.

    Checked with Keras 3.15 / TF 2.21 (keras-team/keras#20585, still open):
    1. `fit` peeks one batch to build metrics and optimizer and averages it across
       replicas with `strategy.reduce` on the (x, y) tuple, which the multi-worker
       strategy cannot reduce ("unsupported type PerReplica"). Only the shapes are
       needed, so this replica's own batch is used instead.
    2. Every step averages the per-replica loss and metrics with
       `strategy.reduce("MEAN", v, axis=0)`, which fails on scalars. The fix averages
       them across all workers (axis=None), so every worker logs the same numbers and
       EarlyStopping stops all of them at the same epoch.
    Both patches apply only inside this block and are undone after it.
    """
    import tensorflow as tf

    try:
        from keras.src.backend.tensorflow import trainer as keras_tf_trainer
    except ImportError:  # a Keras without these internals: nothing to patch
        yield
        return
    original_reduce = getattr(keras_tf_trainer, "reduce_per_replica", None)
    is_multi_worker = getattr(keras_tf_trainer, "_collective_all_reduce_multi_worker", None)
    if original_reduce is None or is_multi_worker is None or not hasattr(model, "_symbolic_build"):
        yield
        return

    def local(value: Any) -> Any:
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def maybe_symbolic_build(self: Any, iterator: Any = None, data_batch: Any = None) -> None:
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = next(batches)
                break
        with strategy.scope():
            self._symbolic_build(data_batch=tf.nest.map_structure(local, data_batch))

    def reduce_per_replica(values: Any, strategy_: Any, reduction: str = "auto") -> Any:
        if reduction in ("auto", "mean") and is_multi_worker(strategy_):
            def mean(value: Any) -> Any:
                if isinstance(value, tf.distribute.DistributedValues):
                    return strategy_.reduce("MEAN", value, axis=None)
                return value

            return tf.nest.map_structure(mean, values)
        return original_reduce(values, strategy_, reduction=reduction)

    model._maybe_symbolic_build = types.MethodType(maybe_symbolic_build, model)
    keras_tf_trainer.reduce_per_replica = reduce_per_replica
    try:
        yield
    finally:
        keras_tf_trainer.reduce_per_replica = original_reduce
        with contextlib.suppress(AttributeError):
            del model._maybe_symbolic_build
