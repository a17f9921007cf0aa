"""Scale-out training on tf.distribute: strategy choice, cluster set-up, data sharding.

Three strategies, chosen with `edgecnn train --strategy`:

- `default`: one process, one device; the plain Keras path (and the reproducible one).
- `mirrored`: `tf.distribute.MirroredStrategy` over every local GPU (or the CPU).
- `multiworker`: `tf.distribute.MultiWorkerMirroredStrategy` across processes or
  machines, configured from `TF_CONFIG` or from `--workers host:port,... --task-index i`
  (which builds TF_CONFIG). Every worker runs the same command; the chief (worker 0,
  or the task of type `chief`) is the only one that writes artifacts.

Everything a user can get wrong here (bad TF_CONFIG, an index out of range, an address
listed twice, a worker that never comes up, a port held by another program) is caught
before TensorFlow starts its gRPC server, because a multi-worker job that fails later
usually hangs instead of failing - and inside TensorFlow's start-up it hangs deaf to
Ctrl-C and SIGTERM (TF 2.21 holds the GIL there). So, in order:

1. `resolve_cluster`: TF_CONFIG is checked by edgecnn.documents (size, depth, schema:
   `"index": true` is not 1), and no address may appear twice.
2. `wait_for_peers`: every worker listens on its own port and exchanges a hello
   (job id, task index, a random nonce) with every other; a worker that reaches
   itself, another job, or a program that is not an edgecnn worker does not count.
   Bounded by --connect-timeout; Ctrl-C and SIGTERM work throughout (plain Python).
3. `make_strategy`: TensorFlow's own cluster registration gets the same timeout
   (exit 2 with one line instead of waiting forever), SIGINT/SIGTERM kill the
   process outright while TensorFlow holds the GIL, and afterwards the Python
   handlers come back (TensorFlow installs its own SIGTERM handler there, which
   would otherwise swallow SIGTERM for the rest of the run).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import threading
import time
import types
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from .. import documents
from ..errors import ClusterError, EdgecnnError, UsageError, one_line
from ..log import Log, get_logger

if TYPE_CHECKING:  # the CLI imports this module to build --help: keep it light
    import numpy as np

STRATEGIES = ("default", "mirrored", "multiworker")
DEFAULT_CONNECT_TIMEOUT_S = 60.0
_PROBE_INTERVAL_S = 0.5
#: How long one hello exchange may take: peers answer at once, and a program that is
#: not an edgecnn worker (it accepts and says nothing) must not hold the check long.
_HELLO_TIMEOUT_S = 2.0
_HELLO_MAGIC = b"edgecnn-hello/1 "
#: The --connect-timeout of the last wait_for_peers, for make_strategy's own wait.
_join_timeout_s = DEFAULT_CONNECT_TIMEOUT_S

logger = get_logger(__name__)


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
    _no_duplicates(addresses, "--workers")
    if task_index is None:
        raise UsageError("--workers needs --task-index (0 on the chief, 1, 2, ... on the others)")
    if not 0 <= task_index < len(addresses):
        raise UsageError(f"--task-index {task_index} is out of range for {len(addresses)} workers (0-{len(addresses) - 1})")
    config = {"cluster": {"worker": list(addresses)}, "task": {"type": "worker", "index": task_index}}
    return Cluster(addresses, task_index, "worker", task_index, json.dumps(config), "--workers")


def _no_duplicates(addresses: tuple[str, ...], where: str) -> None:
    """Two tasks on one host:port cannot both run; the start-up check would reach itself."""
    seen: set[str] = set()
    for address in addresses:
        if address in seen:
            raise UsageError(f"{where} lists the address {address} twice: every task needs its own host:port")
        seen.add(address)


def cluster_from_tf_config(text: str) -> Cluster:
    """Parse and check TF_CONFIG the way MultiWorkerMirroredStrategy will read it.

    The JSON goes through edgecnn.documents (size, depth and schema), then the
    checks the schema cannot express. Raises UsageError, one line.
    """
    example = ('e.g. {"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
               '"task": {"type": "worker", "index": 0}}')
    config = documents.parse_json(documents.TF_CONFIG, text, "TF_CONFIG")
    cluster, task = config["cluster"], config["task"]
    jobs = {name: list(cluster.get(name) or []) for name in ("chief", "worker")}
    if not jobs["chief"] and not jobs["worker"]:
        raise UsageError(f'TF_CONFIG: the cluster needs a "chief" or "worker" job, {example}')
    for name, hosts in jobs.items():
        for host in hosts:
            split_address(host, f'TF_CONFIG cluster "{name}"')
    if len(jobs["chief"]) > 1:
        raise UsageError(f'TF_CONFIG: at most one "chief" (got {len(jobs["chief"])})')
    addresses = tuple(jobs["chief"]) + tuple(jobs["worker"])
    _no_duplicates(addresses, "TF_CONFIG")
    task_type, task_id = task.get("type"), task.get("index", 0)
    if task_type not in jobs or not jobs[task_type]:
        raise UsageError(f'TF_CONFIG: task type {task_type!r} is not a "chief" or "worker" job of the cluster')
    if not 0 <= task_id < len(jobs[task_type]):
        raise UsageError(f'TF_CONFIG: task index {task_id!r} is out of range for {len(jobs[task_type])} '
                         f'"{task_type}" task(s) (0-{len(jobs[task_type]) - 1})')
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


@dataclass(frozen=True)
class Hello:
    """What one worker tells another: which job (`run`), which task, and which process.

    `run` is a digest of the cluster's address list, so workers of another job (or an
    old one still holding a port) do not count; `nonce` is random per wait, so a
    worker whose address leads back to itself sees its own nonce and knows.
    """

    run: str
    index: int
    nonce: str

    @classmethod
    def for_cluster(cls, cluster: Cluster) -> "Hello":
        run = hashlib.sha256(json.dumps(list(cluster.addresses)).encode()).hexdigest()[:16]
        return cls(run, cluster.index, os.urandom(8).hex())

    def line(self) -> bytes:
        return _HELLO_MAGIC + json.dumps({"run": self.run, "index": self.index, "nonce": self.nonce}).encode() + b"\n"

    @classmethod
    def parse(cls, line: bytes, where: str) -> "Hello":
        """A peer's hello line; ClusterError if it is not one (another program on that port)."""
        if not line.startswith(_HELLO_MAGIC):
            raise ClusterError(f"{where}: answered, but not as an edgecnn worker (another program holds that port?)")
        obj = documents.parse_json(documents.HELLO, line[len(_HELLO_MAGIC):], where)
        return cls(obj["run"], obj["index"], obj["nonce"])


class _ReachedItself(UsageError):
    """The address leads back to this very worker: waiting longer cannot help."""


class _Lines:
    """Lines from a socket, each at most MAX_HELLO_BYTES, each before a deadline.

    Buffered: a peer's hello and its "ok" may arrive in one packet.
    """

    def __init__(self, conn: socket.socket) -> None:
        self.conn, self.buffer = conn, b""

    def next(self, deadline: float) -> bytes:
        """The next line; OSError (socket.timeout at the deadline) otherwise."""
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out")
            if len(self.buffer) > documents.MAX_HELLO_BYTES:
                raise ConnectionResetError("sent more than a hello")
            self.conn.settimeout(left)
            chunk = self.conn.recv(4096)
            if not chunk:
                raise ConnectionResetError("closed the connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line


def _greet(address: str, index: int, me: Hello, timeout_s: float) -> str | None:
    """Hello to the worker expected at `address` as task `index`: None if it is that worker, else why not.

    Raises _ReachedItself when the address leads back to this worker.
    """
    host, port = split_address(address, "worker address")
    deadline = time.monotonic() + max(0.05, timeout_s)
    try:
        with socket.create_connection((host, port), timeout=max(0.05, timeout_s)) as conn:
            conn.sendall(me.line())
            theirs = Hello.parse(_Lines(conn).next(deadline), f"worker {address}")
            problem = None
            if theirs.nonce == me.nonce:
                raise _ReachedItself(f"worker address {address} leads back to this worker itself (the same host:port "
                                     f"under two names?): give every task its own host:port")
            if theirs.run != me.run:
                problem = "a worker of another job answers there (its worker list differs from this one)"
            elif theirs.index != index:
                problem = f"the worker there says it is task {theirs.index}, not {index}"
            conn.sendall(b"ok\n" if problem is None else b"no\n")
            return problem
    except _ReachedItself:
        raise
    except (ClusterError, UsageError) as exc:  # a stranger's answer, or a malformed hello
        return str(exc).split(": ", 1)[-1]
    except socket.timeout:
        return "it accepted the connection but sent no edgecnn hello (another program holds that port?)"
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__


class _HelloServer:
    """This worker's own port while it waits: answers every peer's hello, remembers who confirmed.

    Every worker checks every other before TensorFlow opens its server on that port;
    without this stand-in, two workers would each wait for the other forever. A peer
    counts as `confirmed` once it has checked this worker's hello and said "ok": only
    then may this worker close the port and hand it to TensorFlow (SO_REUSEADDR).
    """

    def __init__(self, address: str, me: Hello, num_workers: int) -> None:
        self.me, self.num_workers = me, num_workers
        self.confirmed: set[int] = set()
        port = split_address(address, "this worker's address")[1]
        dual = socket.has_dualstack_ipv6()  # answer on IPv4 and IPv6, as TensorFlow's server does
        try:
            self.sock = socket.create_server(("", port), family=socket.AF_INET6 if dual else socket.AF_INET,
                                             backlog=64, dualstack_ipv6=dual)  # sets SO_REUSEADDR
        except OSError as exc:
            raise ClusterError(f"this worker's address {address}: port {port} cannot be opened here "
                             f"({exc.strerror or exc}); is another job using it?") from exc
        self.sock.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="edgecnn-hello", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        deadline = time.monotonic() + _HELLO_TIMEOUT_S
        try:
            conn.sendall(self.me.line())
            lines = _Lines(conn)
            theirs = Hello.parse(lines.next(deadline), "peer")
            if (lines.next(deadline) == b"ok" and theirs.run == self.me.run and theirs.nonce != self.me.nonce
                    and theirs.index != self.me.index and 0 <= theirs.index < self.num_workers):
                self.confirmed.add(theirs.index)
        except (OSError, EdgecnnError):
            pass  # a port scanner, a closed connection, a stranger: nothing to remember

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def wait_for_peers(cluster: Cluster, timeout_s: float, log: Log = logger.info) -> None:
    """Return once every other worker of this job has answered, and confirmed this one; UsageError after `timeout_s`.

    TensorFlow itself waits for a missing worker without a word: creating the
    strategy with one worker absent was still blocked after 10 minutes here (TF 2.21),
    deaf to SIGINT and SIGTERM. So this check comes first, in plain Python (a signal
    ends it at once), and a port that merely accepts connections is not enough: the
    peer must answer with this job's hello and the task index its address stands for.
    The others may start a few seconds later, so failures are retried until the
    deadline, except an address that leads back to this worker (UsageError at once).
    """
    global _join_timeout_s
    _join_timeout_s = timeout_s
    peers = {i: a for i, a in enumerate(cluster.addresses) if i != cluster.index}
    if not peers:
        return
    log(f"waiting up to {timeout_s:g} s for {len(peers)} other worker(s): {', '.join(peers.values())}")
    me = Hello.for_cluster(cluster)
    deadline = time.monotonic() + timeout_s
    why = {i: "no answer yet" for i in peers}
    server = _HelloServer(cluster.address, me, cluster.num_workers)
    try:
        while True:
            for i in [i for i in peers if i in why]:
                problem = _greet(peers[i], i, me, min(_HELLO_TIMEOUT_S, deadline - time.monotonic()))
                if problem is None:
                    del why[i]
                else:
                    why[i] = problem
            unconfirmed = sorted(set(peers) - server.confirmed)
            if not why and not unconfirmed:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise ClusterError(_not_joined(cluster, peers, why, unconfirmed, timeout_s))
            time.sleep(min(_PROBE_INTERVAL_S, left))
    finally:
        server.close()


def _not_joined(cluster: Cluster, peers: dict[int, str], why: dict[int, str], unconfirmed: list[int],
                timeout_s: float) -> str:
    """The one line for a worker that is not there (or cannot reach this one) at the deadline."""
    if why:
        i = min(why)
        return (f"worker {peers[i]} (task {i}) has not joined within {timeout_s:g} s: {why[i]}; start the same "
                f"command there as task {i}, and check that its port is open")
    i = unconfirmed[0]
    return (f"worker {peers[i]} (task {i}) answers but has not reached this worker within {timeout_s:g} s: check "
            f"that {cluster.address} can be reached from there")


def make_strategy(name: str, cluster: Cluster | None, join_timeout_s: float | None = None) -> Any:
    """The tf.distribute strategy; for multiworker, TF_CONFIG is set first, as TF reads it there.

    For multiworker, TensorFlow's own wait for the cluster is bounded by `join_timeout_s`
    (default: the --connect-timeout wait_for_peers was given): UsageError, exit 2, if a
    worker that passed the hello check has not registered with TensorFlow by then.
    """
    from ..tfenv import import_tensorflow

    tf = import_tensorflow()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    assert cluster is not None
    os.environ["TF_CONFIG"] = cluster.tf_config
    timeout_s = _join_timeout_s if join_timeout_s is None else join_timeout_s
    _bound_cluster_registration(tf, cluster, timeout_s)
    try:
        with _signals_end_the_process():
            return tf.distribute.MultiWorkerMirroredStrategy()
    except tf.errors.OpError as exc:
        raise ClusterError(f"the other workers did not all join TensorFlow's cluster within {timeout_s:g} s "
                         f"({one_line(exc).split('. ')[0]}); "
                         f"start the same command again on every worker") from exc


def _bound_cluster_registration(tf: Any, cluster: Cluster, timeout_s: float) -> None:
    """Configure TF's coordination service as MultiWorkerMirroredStrategy would, plus a registration timeout.

    Without `cluster_register_with_barrier`, the timeout is not applied (TF 2.21) and a
    worker whose peer vanished after the hello check waits forever inside TF. If this
    TF has no such settings, the strategy configures the service itself, unbounded.
    """
    try:
        from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
        from tensorflow.python.distribute import multi_worker_util
        from tensorflow.python.eager import context

        spec = {job: hosts for job, hosts in json.loads(cluster.tf_config)["cluster"].items() if hosts}
        jobs = [coordination_config_pb2.CoordinatedJob(name=job, num_tasks=len(spec[job]))
                for job in ("chief", "worker") if job in spec]
        context.context().configure_coordination_service(
            service_type="standalone", service_leader=multi_worker_util.coordination_leader(spec),
            coordinated_jobs=jobs, cluster_register_timeout_in_ms=max(1, int(timeout_s * 1000)))
        context.context().coordination_service.cluster_register_with_barrier = True
    except (ImportError, AttributeError, ValueError):
        return


@contextlib.contextmanager
def _signals_end_the_process() -> Iterator[None]:
    """SIGINT/SIGTERM at their default action (end the process) inside TF's start-up, then Python's again.

    TensorFlow starts its server holding the GIL, so no Python handler (nor thread)
    runs until it returns: the default action is the only one that works there. It
    also installs a SIGTERM handler of its own (preemption notice) that ignores the
    signal; restoring the previous handlers afterwards takes SIGTERM back. Main thread only.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in previous:
        signal.signal(s, signal.SIG_DFL)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)


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
        raise ClusterError(f"lost contact with another worker during training ({type(exc).__name__}); nothing "
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
