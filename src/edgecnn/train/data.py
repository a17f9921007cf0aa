"""The tf.data pipelines training reads: shuffled, one-hot, optionally augmented.

Augmentation is applied to the data, outside the model, so the saved model is the
seed CNN and nothing else. It is seeded and stateless (each batch's random numbers
come from a seeded random stream that changes every epoch), so a run is
reproducible, and every worker of a multi-worker run builds the same batches.

Photo training (`photo_pool`): a share of the training images is turned once into
photo-like pictures (datasets.photos) and passed through the runtime's `prepare`, so
the model sees prepare's residue (soft edges, leftover shadow, a tilted item); each
epoch, each of those images is shown as its photo version with probability one half.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..log import Log, get_logger
from .recipes import MAX_SHIFT_PX

logger = get_logger(__name__)

#: The photo version of a pooled image replaces it in an epoch with this probability.
PHOTO_PROBABILITY = 0.5
#: Pool pictures are made in frames up to this long side: ten times faster than 1280x960.
POOL_MAX_SIDE = 320
#: Pool pictures per task given to a worker process.
POOL_CHUNK = 500


def photo_pool(x: np.ndarray, share: float, seed: int,
               log: Log = logger.info, workers: int | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """Photo versions of a seeded `share` of `x` (float32 (N, 28, 28, 1) in 0..1), made once.

    Returns (photos, pooled): photos has x's shape and dtype (zeros where not pooled),
    pooled marks the images that have one; None when share is 0. A picture that
    `prepare` calls "no item" keeps no photo version (counted in the log line).

    The pictures are made in `workers` processes (default: the cores this process may
    use), POOL_CHUNK images per task. Each picture is seeded by (seed, its place in the
    pool), so the pool is the same whatever the number of workers. On Linux the workers
    are forked (spawned workers would re-run a user's script that has no `__main__`
    guard); the trainer makes the pool before TensorFlow is imported, so no thread of
    it is forked. Workers ignore Ctrl-C: this process gets KeyboardInterrupt and ends them.
    """
    if share <= 0:
        return None
    import multiprocessing

    from ..runtime.parallel import default_workers

    started = time.perf_counter()
    chosen = np.sort(np.random.default_rng((seed, 12)).permutation(len(x))[:int(round(share * len(x)))])
    tiles = np.rint(x[chosen, ..., 0] * 255).astype(np.uint8)
    tasks = [(tiles[start:start + POOL_CHUNK], start, seed) for start in range(0, len(chosen), POOL_CHUNK)]
    workers = min(workers or default_workers(), len(tasks))
    if workers <= 1:
        parts = [_pool_part(task) for task in tasks]
    else:
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        with multiprocessing.get_context(method).Pool(workers, initializer=_ignore_sigint) as pool:
            parts = list(pool.imap(_pool_part, tasks))  # leaving the block ends the workers, also on Ctrl-C
    pixels = np.concatenate([p[0] for p in parts])
    made = np.concatenate([p[1] for p in parts])
    photos = np.zeros_like(x)
    pooled = np.zeros(len(x), bool)
    photos[chosen[made], ..., 0] = pixels[made].astype(np.float32) / 255.0
    pooled[chosen[made]] = True
    log(f"photo pool: {pooled.sum()} of {len(x)} training images as photo-like pictures through prepare "
        f"({len(chosen) - pooled.sum()} answered 'no item'), {workers} process(es), "
        f"{time.perf_counter() - started:.0f} s")
    return photos, pooled


def _ignore_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _pool_part(task: tuple[np.ndarray, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """One chunk of the pool: (uint8 prepared pictures, made) for tiles numbered from `first`."""
    from ..datasets.photos import variant
    from ..errors import NoItem
    from ..runtime.preprocess import prepare

    tiles, first, seed = task
    pixels = np.zeros_like(tiles)
    made = np.zeros(len(tiles), bool)
    for k, tile in enumerate(tiles):
        try:
            pixels[k] = prepare(variant(tile, first + k, seed, POOL_MAX_SIDE).pixels, tile.shape)
            made[k] = True
        except NoItem:
            continue
    return pixels, made


def batches(x: np.ndarray, y: np.ndarray, *, batch_size: int, num_classes: int, seed: int,
            shuffle: bool = False, augment: str = "none",
            photos: tuple[np.ndarray, np.ndarray] | None = None) -> Any:
    """A tf.data pipeline of (images, one-hot labels) batches of `batch_size`.

    Sharded by DATA under tf.distribute: every worker holds the whole set in memory,
    built identically from the same seed or files, runs the same pipeline, and keeps
    only its own slice of each (global-sized) batch, so the slices are disjoint and
    cover the data once per epoch. The cost, every worker shuffling the full set, is
    small for images in memory. `photos`: `photo_pool`'s output, swapped in per image
    with probability PHOTO_PROBABILITY, a new draw every epoch.
    """
    from ..tfenv import import_tensorflow

    tf = import_tensorflow()
    if photos is None:
        data = tf.data.Dataset.from_tensor_slices((x, y))
    else:
        data = tf.data.Dataset.from_tensor_slices((x, y, photos[0], photos[1]))
    if shuffle:
        data = data.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
    data = data.batch(batch_size)
    if photos is not None:
        draws = tf.data.Dataset.random(seed=seed + 1, rerandomize_each_iteration=True).batch(2)
        data = tf.data.Dataset.zip((data, draws)).map(lambda batch, s: (swap_photos(*batch, s), batch[1]))
    if augment != "none":
        streams = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        data = tf.data.Dataset.zip((data, streams)).map(
            lambda xy, s: (augment_batch(xy[0], s, augment), xy[1]))
    data = data.map(lambda images, labels: (images, tf.one_hot(labels, num_classes)))
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return data.with_options(options).prefetch(tf.data.AUTOTUNE)


def swap_photos(images: Any, labels: Any, photos: Any, pooled: Any, stream: Any) -> Any:
    """Each pooled image replaced by its photo version with probability PHOTO_PROBABILITY."""
    import tensorflow as tf

    seed = tf.cast(stream % (2**31 - 1), tf.int32)
    take = pooled & (tf.random.stateless_uniform(tf.shape(pooled), seed=seed) < PHOTO_PROBABILITY)
    return tf.where(take[:, None, None, None], photos, images)


def augment_batch(images: Any, stream: Any, kind: str) -> Any:
    """Random horizontal flip (for "flip-shift") and a random shift of up to MAX_SHIFT_PX, per image.

    The shift pads with 0 (the black background) and crops back to 28x28 at a random
    offset, as if the item had been framed a little off-centre.
    """
    import tensorflow as tf

    n = tf.shape(images)[0]
    seed = tf.cast(stream % (2**31 - 1), tf.int32)
    if kind == "flip-shift":
        flip = tf.random.stateless_uniform([n], seed=seed) < 0.5
        images = tf.where(flip[:, None, None, None], tf.reverse(images, axis=[2]), images)
    pad = MAX_SHIFT_PX
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
    offsets = tf.random.stateless_uniform([n, 2], seed=seed[::-1], minval=0, maxval=2 * pad + 1, dtype=tf.int32)
    size = tf.shape(images)[1]
    rows = offsets[:, :1] + tf.range(size)[None, :]
    cols = offsets[:, 1:] + tf.range(size)[None, :]
    shifted = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(shifted, cols, axis=2, batch_dims=1)
