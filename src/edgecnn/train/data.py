"""The tf.data pipelines training reads: shuffled, one-hot, optionally augmented.

Augmentation is applied to the data, outside the model, so the saved model is the
seed CNN and nothing else. It is seeded and stateless (each batch's random numbers
come from a seeded random stream that changes every epoch), so a run is
reproducible, and every worker of a multi-worker run builds the same batches.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .recipes import MAX_SHIFT_PX


def batches(x: np.ndarray, y: np.ndarray, *, batch_size: int, num_classes: int, seed: int,
            shuffle: bool = False, augment: str = "none") -> Any:
    """A tf.data pipeline of (images, one-hot labels) batches of `batch_size`.

    Sharded by DATA under tf.distribute: every worker holds the whole set in memory,
    built identically from the same seed or files, runs the same pipeline, and keeps
    only its own slice of each (global-sized) batch, so the slices are disjoint and
    cover the data once per epoch. The cost, every worker shuffling the full set, is
    small for images in memory.
    """
    from ..tfenv import import_tensorflow

    tf = import_tensorflow()
    data = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        data = data.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
    data = data.batch(batch_size)
    if augment != "none":
        streams = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        data = tf.data.Dataset.zip((data, streams)).map(
            lambda xy, s: (augment_batch(xy[0], s, augment), xy[1]))
    data = data.map(lambda images, labels: (images, tf.one_hot(labels, num_classes)))
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return data.with_options(options).prefetch(tf.data.AUTOTUNE)


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
