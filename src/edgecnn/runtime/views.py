"""Test-time views: a picture's answer as the mean of the model's scores on a few copies of it.

Why: a photo's item never comes back pixel for pixel as its Fashion-MNIST tile (a
little blur, a pixel of offset, a shadow's rest), and the seed CNN answers
differently for 3.8% of its own tiles shifted by one pixel (benchmarks/photos.py).
Averaging the scores over the mirror image and one-pixel shifts smooths that out: a
photo then gets its tile's class more often, and the tiles themselves are classified
a little better (README, "Photos of real items", has the measured figures).

Which views are sound depends on how the model was trained: a model trained on
mirrored items (edgecnn's flip-shift augmentation, Fashion-MNIST's default) may be
shown the mirror image; one trained without it (a user's folder of arrows or letters)
may not. `convert` writes the views a model was trained for into its embedded
metadata ("views"); the Classifier's default, "auto", reads them from there.

A view is made in the input tensor's own values, so every path of the Classifier
(a ready array, a prepared photo, a batch) shares this one implementation; the pixels
a shift moves in are the model's black background.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    import numpy as np

#: Each named set of views: (rows down, columns right, mirrored) per view; the picture itself first.
VIEW_SETS: dict[str, tuple[tuple[int, int, bool], ...]] = {
    "none": ((0, 0, False),),
    "flip": ((0, 0, False), (0, 0, True)),
    "shift": ((0, 0, False), (1, 0, False), (-1, 0, False), (0, 1, False), (0, -1, False)),
    "flip-shift": tuple((dy, dx, mirrored) for dy, dx in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))
                        for mirrored in (False, True)),
}
#: What --views accepts: a set's name, or "auto" (the model's own, from its metadata; else "none").
CHOICES = ("auto", *VIEW_SETS)


def check(name: Any) -> str:
    """`name` if it is one of CHOICES, else UsageError listing them."""
    if name not in CHOICES:
        raise UsageError(f"views must be one of {', '.join(CHOICES)} (got {name!r})")
    return name


def for_augment(augment: object) -> str:
    """The views a model may be shown, from the training augmentation it saw (train.json's recipe
    "augment"): a set is named after the augmentation that makes it sound ("shift", "flip-shift");
    anything else, "none" included, gets "none"."""
    return augment if augment in VIEW_SETS and isinstance(augment, str) else "none"


def suffix(name: str) -> str:
    """What a one-line description of a Classifier adds for its views: ", views NAME", or nothing for "none"."""
    return "" if name == "none" else f", views {name}"


def resolve(name: str, metadata: dict[str, Any] | None) -> str:
    """The set to use: `name` itself, or for "auto" the model's recorded views ("none" when it has none)."""
    check(name)
    if name != "auto":
        return name
    recorded = (metadata or {}).get("views")
    return recorded if recorded in VIEW_SETS else "none"


def expand(tensors: np.ndarray, name: str, background: Any) -> np.ndarray:
    """(N, H, W) input values as (N * V, H, W): each picture's V views, one after the other.

    `background` is the input value of a black pixel: what a shift moves in.
    """
    import numpy as np  # here, not above: the table is read where numpy is not wanted (documents, the CLI parser)

    views = VIEW_SETS[name]
    if len(views) == 1:
        return tensors
    n, height, width = tensors.shape
    out = np.full((n, len(views), height, width), background, dtype=tensors.dtype)
    for k, (dy, dx, mirrored) in enumerate(views):
        source = tensors[:, :, ::-1] if mirrored else tensors
        out[:, k, max(dy, 0):height + min(dy, 0), max(dx, 0):width + min(dx, 0)] = \
            source[:, max(-dy, 0):height + min(-dy, 0), max(-dx, 0):width + min(-dx, 0)]
    return out.reshape(n * len(views), height, width)


def combine(scores: np.ndarray, name: str) -> np.ndarray:
    """(N * V, classes) scores of `expand`ed pictures as (N, classes): each picture's mean over its views."""
    count = len(VIEW_SETS[name])
    if count == 1:
        return scores
    return scores.reshape(-1, count, scores.shape[-1]).mean(axis=1)
