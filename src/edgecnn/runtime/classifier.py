"""Classify pictures with a .tflite or .onnx model: the same answers and API for every format.

The model itself says what it needs: the input's size, dtype and quantization come
from the interpreter, the class names and preprocessing from its embedded metadata
(or the files beside it, see labels.py). Pixels reach the model through one 256-entry
lookup table built at load time, mapping a 0-255 pixel of a light-on-dark item straight
to the input tensor's value: p / 255 for a float model, p - 128 for edgecnn's int8
model (scale 1/255, zero point -128), and so on for any scale, zero point, value range
or polarity. So quantizing costs one table lookup per pixel, the same for every model.

How a picture becomes a tensor
------------------------------
One general path, and one fast path that gives the same answer sooner.

*General path*: `prepare` turns the picture into uint8 (H, W) model pixels (light item
on black), then `quantize` maps them through the table. `prepare` has two cases:

- a *ready array*: a numpy array of the model's input size, (H, W), (H, W, 1) or the
  model's own (1, H, W, 1), with dtype uint8 (0-255) or float. It is taken as model
  pixels, already framed and light-on-dark (a Fashion-MNIST image): not polarity-checked,
  cropped or checked for "no item" (a blank array is classified, a blank file is NoItem).
  Floats are 0-1, or 0-255 when any value is above 1 (the rule is
  `preprocess.array_to_gray`'s, written there once), rounded to 256 levels like any pixel.
- anything else (a path, a Pillow image, a larger or RGB array, a camera frame) goes
  through `preprocess.prepare`: EXIF orientation, grayscale, automatic polarity from the
  border (also for a 28x28 *file*), crop, pad, area resize.

So a light-on-dark 28x28 picture gives the same answer as an array and as a file; a
dark-on-light one is inverted automatically as a file but taken as given as an array
(pass invert=True, or save it as a file). `invert=True`/`False` is applied to every
picture on both paths; `invert=None` never inverts a ready array.

*Fast path* (`classify` only), taken exactly when the picture is a uint8 ready array
(``type(image) is np.ndarray``, dtype uint8, ``image.shape`` a ready shape). Its tensor
is the general path's, value for value, built for less: when the table is a byte XOR
(edgecnn's int8 model: p - 128 is p ^ 0x80 read as int8, inverted p ^ 0x7F; a uint8
model with zero point 0: p itself) it is one XOR into a reused buffer, else one lookup,
with no copy beyond what the interpreter needs. `classify` ranks the
ten scores in plain Python and, for an 8-bit probability output, takes its Predictions
from a table made at load. Classifying a ready image costs about the bare interpreter
call: 1.07-1.10x on an AMD EPYC (benchmarks/runtime_overhead.py).

Threads
-------
One Classifier may be shared by several threads: every interpreter call (and the
reused input buffer of the fast path) runs under one lock, so answers are the same as
single-threaded and calls never trip over each other. Preprocessing runs outside the
lock, in parallel. The lock costs well under 1 us a call (the bare int8 call is tens to
hundreds of us); for parallel inference use one Classifier per thread.
"""

from __future__ import annotations

import math
import operator
import os
import threading
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from ..errors import EdgecnnError, ModelError, UsageError, one_line
from . import preprocess, views as test_views
from ..modelmeta import read_model
from .backends import Backend, TensorSpec, load_backend
from .integrity import check_manifest_digest
from .labels import ModelInfo, model_info


#: uint8's dtype: builtin dtypes are singletons, so the fast path tests it with `is` (cheaper than ==;
#: an equal dtype that is not this object just takes the general path, to the same answer).
_UINT8 = np.dtype(np.uint8)


class Prediction(NamedTuple):
    """One class of a classification: its name, its output index and a score in 0..1."""

    label: str
    index: int
    score: float


class Classifier:
    """A model file loaded once; `classify` a picture, `classify_batch` many.

    Thread-safe: interpreter calls are serialized by a lock (see the module docstring).

    Args:
      model_path: a .tflite (run by ai-edge-litert, tflite-runtime or tensorflow.lite,
        whichever is found first) or .onnx (onnxruntime) file.
      num_threads: interpreter threads (None: the interpreter's default).
      backend: "auto", "litert", "tflite_runtime", "tensorflow" or "onnxruntime".
      invert: None decides each picture's polarity from its border (never a ready
        array's, see the module docstring); True/False force it. Settable later (`invert`).
      views: test-time views (runtime/views.py): "auto" takes the ones the model's
        metadata records (a model converted by edgecnn from a flip-shift-trained Keras
        model: "flip-shift"; else "none"); "none", "flip", "shift" or "flip-shift" force
        a set. Each view is one more interpreter run per picture.

    Raises:
      UsageError: an argument of the wrong type or value (a model_path that is not a
        path, num_threads < 1, an unknown backend or one that cannot run this format,
        invert not None/True/False, views not one of views.CHOICES).
      ModelError: a model file that is missing, not a regular file, over
        files.MAX_MODEL_BYTES, corrupt, not a one-channel image classifier, with
        labels that do not match its outputs, or that fails to run on a blank picture;
        also when no interpreter for its format is installed (the message says what to
        pip install).
    """

    def __init__(self, model_path: str | os.PathLike[str], num_threads: int | None = None,
                 backend: str = "auto", invert: bool | None = None, views: str = "auto") -> None:
        from ..tfenv import quiet_stderr  # stdlib only; hides "Created XNNPACK delegate" lines

        num_threads, invert = _check_arguments(model_path, num_threads, backend, invert)
        test_views.check(views)
        self.path = Path(model_path)
        model = read_model(self.path)  # read and checked once: the interpreter, labels and digest check share it
        self._lock = threading.Lock()
        with quiet_stderr():
            self.backend: Backend = load_backend(model, num_threads, backend)
        self._run_one = self.backend.run_one
        self.height, self.width = _image_size(self.path, self.backend.input)
        self.num_classes = _num_classes(self.path, self.backend.output)
        self._indices = range(self.num_classes)
        self.info: ModelInfo = model_info(self.path, self.num_classes, model)
        check_manifest_digest(self.path, model.data)  # outside quiet_stderr: a changed model is warned about on stderr
        _check_color(self.path, self.info.preprocessing)
        self._names = tuple(self.info.class_names)  # every answer's labels; see class_names
        inp = self.backend.input
        self._one_shape = (1,) + tuple(d if d > 0 else 1 for d in inp.shape[1:])
        self._ready_shapes = frozenset({(self.height, self.width), (self.height, self.width, 1), self._one_shape})
        self._in_scale, self._in_zp = _input_quantization(inp, (self.info.metadata or {}).get("input"))
        self._lut = self._pixel_table()
        self._views = test_views.resolve(views, self.info.metadata)
        self.invert = invert  # the property: also builds the fast path's converters
        out = self.backend.output
        self._out_scale, self._out_zp = (out.scale, out.zero_point) if out.scale else (None, None)
        self._logits = False
        self._logits = self._outputs_are_logits()
        self._answers = self._answer_table()

    # ------------------------------------------------------------------ public API

    @property
    def invert(self) -> bool | None:
        """Polarity: None decides each picture's from its border (ready arrays: never), True/False force it.

        Setting it is honoured by every later call on every path (the fast path's
        converters are rebuilt). Raises UsageError for anything but None, True or False.
        """
        return self._invert

    @invert.setter
    def invert(self, value: bool | None) -> None:
        invert = _check_invert(value)
        ready_lut = self._lut[::-1].copy() if invert else self._lut
        ready = {shape: _ready_converter(ready_lut, shape, self._one_shape) for shape in self._ready_shapes}
        with self._lock:  # a call in flight keeps the converter (and buffer) it took
            self._invert, self._ready_lut, self._ready = invert, ready_lut, ready

    @property
    def views(self) -> str:
        """The test-time views every answer averages over ("none" for one run per picture; runtime/views.py)."""
        return self._views

    @property
    def class_names(self) -> list[str]:
        """The model's class names, by output index (a copy: read-only, like the answer table built from them).

        To relabel a model, put a labels.txt beside it without embedded names (see labels.py).
        """
        return list(self._names)

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) of the model's input image."""
        return self.height, self.width

    def describe(self) -> str:
        """One line: file, interpreter, input, labels source; for logs and --verbose output."""
        inp = self.backend.input
        quant = f" scale {inp.scale:.6g} zero point {inp.zero_point}" if inp.scale else ""
        return (f"{self.path.name}: {self.backend.name} {self.backend.version}, input {self.height}x{self.width} "
                f"{inp.dtype.name}{quant}, {self.num_classes} classes from {self.info.labels_source}"
                + test_views.suffix(self._views))

    def prepare(self, image: preprocess.ImageSource, color_order: str = "RGB") -> np.ndarray:
        """The model pixels for one picture: the general path's first half (module docstring).

        Args:
          image: a path, a Pillow image, or a numpy array (a ready array, grayscale, RGB,
            or a BGR OpenCV frame with color_order="BGR").
          color_order: "RGB" or "BGR", for 3-channel arrays.

        Returns:
          uint8 (H, W) pixels, light item on black, inverted as `invert` says; feed them
          (stacked) to `classify_prepared`.

        Raises:
          NoItem: a picture with no item in it (preprocess.prepare).
          ImageError: an unreadable file (named), NaN or infinite values, an array that
            is not an image.
          UsageError: a color_order other than "RGB"/"BGR".
        """
        if isinstance(image, np.ndarray) and image.shape in self._ready_shapes \
                and (image.dtype == np.uint8 or image.dtype.kind == "f"):  # a ready array
            pixels = image.reshape(self.height, self.width)
            if pixels.dtype != np.uint8:
                pixels = preprocess.array_to_gray(pixels)  # the one 0-1 / 0-255 float rule
            return 255 - pixels if self._invert else pixels
        return preprocess.prepare(image, (self.height, self.width), self._invert, color_order)

    def quantize(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 model pixels (0-255, light item on black) as the input tensor's values, same shape.

        The general path's second half. Raises numpy's own errors only, for `pixels`
        that cannot be read as uint8 (no edgecnn check: it is a table lookup).
        """
        return self._lut[np.asarray(pixels, np.uint8)]

    def classify(self, image: preprocess.ImageSource, top_k: int = 3, *, color_order: str = "RGB") -> list[Prediction]:
        """The top_k classes for one picture, best first.

        Args:
          image: as for `prepare`; a uint8 ready array takes the fast path (module docstring).
          top_k: how many classes (capped at the model's number of classes).
          color_order: "RGB" or "BGR", for 3-channel arrays.

        Returns:
          top_k Predictions, best first; ties go to the lower index.

        Raises:
          NoItem, ImageError, UsageError: as for `prepare`; UsageError also for a top_k
            that is not a whole number of at least 1.
          ModelError: the interpreter fails on the input, or a float model answers NaN
            or infinite scores.
        """
        if self._views != "none":  # several interpreter runs, averaged: the batch path
            return self.classify_prepared(self.prepare(image, color_order)[None], top_k)[0]
        fast = self._ready.get(image.shape) if type(image) is np.ndarray and image.dtype is _UINT8 else None
        if fast is None:  # the general path; preprocessing outside the lock
            x = self._lut[self.prepare(image, color_order)].reshape(self._one_shape)
            with self._lock:
                raw = self._run_one(x).ravel().tolist()
        else:
            with self._lock:  # the converter's reused buffer and the interpreter's tensors are shared
                raw = self._run_one(fast(image)).ravel().tolist()
        return self._top(raw, top_k)

    def classify_batch(self, images: Sequence[preprocess.ImageSource] | np.ndarray, top_k: int = 3, *,
                       color_order: str = "RGB") -> list[list[Prediction]]:
        """`classify` for many pictures at once (one interpreter call per 64): a list per picture.

        Raises what `probabilities` and `classify` raise; the first bad picture stops the
        batch (the CLI, camera and serve prepare each picture first to carry on past one).
        """
        return self.rank(self.probabilities(images, color_order=color_order), top_k)

    def classify_prepared(self, pixels: np.ndarray, top_k: int = 3) -> list[list[Prediction]]:
        """`classify_batch` for pixels returned by `prepare`, taken as they are (not inverted again).

        Args:
          pixels: uint8 (N, H, W) (or (H, W) for one), e.g. np.stack of `prepare` results.
          top_k: as for `classify`.

        Returns:
          One list of Predictions per picture; the same as `classify` of each source.

        Raises:
          UsageError: pixels that are not uint8, empty, or not a whole number of H x W
            pictures; a bad top_k.
          ModelError: the interpreter fails, or a float model answers NaN or infinity.
        """
        return self.rank(self.probabilities_prepared(pixels), top_k)

    def probabilities_prepared(self, pixels: np.ndarray) -> np.ndarray:
        """`probabilities` for pixels returned by `prepare`: (N, classes) float32 scores, views averaged.

        What a worker process of parallel.py computes and sends back; `rank` turns the
        scores into the Predictions `classify_prepared` returns. Raises UsageError and
        ModelError as `classify_prepared` does.
        """
        pixels = np.asarray(pixels)
        if pixels.dtype != np.uint8 or pixels.size % (self.height * self.width) or not pixels.size:
            raise UsageError(f"classify_prepared takes uint8 (N, {self.height}, {self.width}) pixels from prepare "
                             f"(got {pixels.dtype} {pixels.shape})")
        return self._probabilities_of(self._lut[pixels.reshape((-1, self.height, self.width))])

    def probabilities(self, images: Sequence[preprocess.ImageSource] | np.ndarray, *,
                      color_order: str = "RGB") -> np.ndarray:
        """Scores for N pictures (e.g. a uint8 (N, 28, 28) array, or a list of paths).

        Returns:
          (N, classes) float32 scores in 0..1 (softmaxed if the model outputs logits).

        Raises:
          UsageError: `images` is one picture (a path, or an array with fewer than 3
            dimensions) rather than a sequence; a bad color_order.
          NoItem, ImageError: as for `prepare`, for the first bad picture.
          ModelError: the interpreter fails, or a float model answers NaN or infinity.
        """
        if isinstance(images, np.ndarray) and images.ndim >= 3 and images.shape[1:] in self._ready_shapes \
                and images.dtype == np.uint8:
            tensors = self._ready_lut[images.reshape((-1, self.height, self.width))]  # ready: one lookup for all
        elif isinstance(images, (str, os.PathLike)) or (isinstance(images, np.ndarray) and images.ndim < 3) \
                or not hasattr(images, "__iter__"):
            raise UsageError(f"classify_batch takes a sequence of images (got {type(images).__name__}); "
                             "use classify for one")
        else:
            pixels = [self.prepare(image, color_order) for image in images]
            tensors = self._lut[np.stack(pixels)] if pixels else np.zeros((0, self.height, self.width), np.uint8)
        return self._probabilities_of(tensors)

    # ------------------------------------------------------------------ interpreter calls

    def _probabilities_of(self, tensors: np.ndarray) -> np.ndarray:
        """(N, classes) scores for (N, H, W) input-tensor values, each the mean over its test-time views."""
        if len(tensors) == 0:
            return np.zeros((0, self.num_classes), np.float32)
        tensors = test_views.expand(tensors, self._views, self._lut[0])
        raw = self._run_batch(tensors.reshape((len(tensors),) + self._one_shape[1:]))
        return test_views.combine(self._scores(raw.reshape(len(tensors), -1)), self._views)

    def _run_batch(self, batch: np.ndarray) -> np.ndarray:
        """Raw outputs for a batch, under the lock; a model that fails on a batch is run one by one.

        Why: an ONNX graph with a fixed batch of 1 inside (a Reshape to [1, ...]) loads and
        runs single images, then fails on a batch. Raises ModelError (one line) if even a
        single image fails.
        """
        with self._lock:
            try:
                return self.backend.run(batch)
            except EdgecnnError:
                raise
            except Exception as exc:
                if len(batch) < 2:
                    raise self._run_error(exc) from exc
            try:
                return np.concatenate([np.array(self._run_one(x.reshape(self._one_shape))) for x in batch])
            except Exception as exc:
                raise self._run_error(exc) from exc

    def _run_error(self, exc: Exception) -> ModelError:
        """An interpreter's exception as one line naming the model."""
        return ModelError(f"{self.path}: the model fails to run ({one_line(exc)})")

    # ------------------------------------------------------------------ input side

    def _pixel_table(self) -> np.ndarray:
        """Input-tensor value for each 0-255 light-on-dark pixel (see the module docstring)."""
        unit = np.arange(256, dtype=np.float32) / np.float32(255)
        pre = self.info.preprocessing
        if pre.get("polarity") == "dark-on-light":
            unit = 1.0 - unit
        low, high = (float(v) for v in pre.get("value_range") or (0.0, 1.0))
        values = unit if (low, high) == (0.0, 1.0) else low + unit.astype(np.float64) * (high - low)
        dtype = self.backend.input.dtype
        if dtype.kind == "f":
            return values.astype(dtype)
        info = np.iinfo(dtype)
        return np.clip(np.round(values.astype(np.float64) / self._in_scale) + self._in_zp, info.min, info.max).astype(dtype)

    # ------------------------------------------------------------------ output side

    def _scores(self, raw: np.ndarray) -> np.ndarray:
        scores = raw.astype(np.float32)
        if self._out_scale:
            scores = (scores - np.float32(self._out_zp)) * np.float32(self._out_scale)
        elif not np.isfinite(scores).all():
            raise self._non_finite()
        if self._logits:
            scores = np.exp(scores - scores.max(axis=1, keepdims=True))
            scores /= scores.sum(axis=1, keepdims=True)
        return scores

    def _non_finite(self) -> ModelError:
        """A float model answering NaN or infinity has broken weights: no label from it can be trusted."""
        return ModelError(f"{self.path}: the model's output has NaN or infinite scores (corrupt weights?)")

    def rank(self, scores: np.ndarray, top_k: int = 3) -> list[list[Prediction]]:
        """Top_k Predictions of each row of an (N, classes) score array (from `probabilities`).

        Ties go to the lower index, as in `classify`. Raises UsageError for a bad top_k.
        """
        k = self._check_top_k(top_k)
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        names = self._names
        return [[Prediction(names[i], int(i), float(row[i])) for i in idx] for row, idx in zip(scores, order)]

    def _top(self, raw: list, top_k: int) -> list[Prediction]:
        """Best top_k of one raw output row, in plain Python: faster than numpy for ten numbers.

        Dequantizing is monotonic, so the raw values are ranked first and only the
        top_k are dequantized. Ties go to the lower index, as numpy's argmax does.
        """
        if top_k == 1 and type(top_k) is int:
            order: Sequence[int] = (raw.index(max(raw)),)
        else:
            if type(top_k) is not int or not 1 < top_k <= len(raw):
                top_k = self._check_top_k(top_k)
            order = sorted(self._indices, key=raw.__getitem__, reverse=True)[:top_k]
        answers = self._answers
        if answers is not None:
            return [answers[i][raw[i]] for i in order]
        names, new = self._names, tuple.__new__  # tuple.__new__: a NamedTuple minus its slow __new__
        if not self._out_scale and not math.isfinite(sum(raw)):  # float output: NaN/inf poison the sum
            raise self._non_finite()
        if self._logits:
            scores = self._softmax_list(raw)
            return [new(Prediction, (names[i], i, scores[i])) for i in order]
        if self._out_scale:
            scale, zp = self._out_scale, self._out_zp
            return [new(Prediction, (names[i], i, (raw[i] - zp) * scale)) for i in order]
        return [new(Prediction, (names[i], i, raw[i])) for i in order]

    def _answer_table(self) -> list[list[Prediction]] | None:
        """For an 8-bit probability output: the Prediction for every (class, raw value), made once.

        `_top` then only looks its answers up: table[i][v] is class i scored (v - zero
        point) * scale, exactly what it would compute; an int8 value -128..-1 indexes the
        list from its end, so the list is laid out by v modulo 256. 10 classes: 2,560
        shared, immutable tuples. None for float outputs and logits (softmax needs the row).
        """
        dtype = self.backend.output.dtype
        if not self._out_scale or self._logits or dtype.kind not in "iu" or dtype.itemsize != 1:
            return None
        scale, zp, new = self._out_scale, self._out_zp, tuple.__new__
        values = sorted(range(np.iinfo(dtype).min, np.iinfo(dtype).max + 1), key=lambda v: v % 256)
        return [[new(Prediction, (name, i, (v - zp) * scale)) for v in values] for i, name in enumerate(self._names)]

    def _softmax_list(self, raw: list) -> list[float]:
        values = [(v - self._out_zp) * self._out_scale for v in raw] if self._out_scale else raw
        peak = max(values)
        exps = [math.exp(v - peak) for v in values]
        total = sum(exps)
        return [e / total for e in exps]

    def _check_top_k(self, top_k: int) -> int:
        """top_k as an int of at most num_classes; UsageError for 0, 1.5, "3", True..."""
        k = _whole_number(top_k)
        if k is None or k < 1:
            raise UsageError(f"top_k must be a whole number of at least 1 (got {top_k!r})")
        return min(k, self.num_classes)

    def _outputs_are_logits(self) -> bool:
        """Run two blank pictures once (also a warm-up); softmax the outputs unless they already sum to 1."""
        batch = np.stack([self._lut[np.zeros((self.height, self.width), np.uint8)],
                          self._lut[np.full((self.height, self.width), 128, np.uint8)]])
        try:
            scores = np.concatenate([self._scores(self.backend.run_one(x.reshape(self._one_shape)).reshape(1, -1))
                                     for x in batch])
        except ModelError:
            raise  # NaN or infinite scores on blank pictures: broken weights, said at load time
        except Exception as exc:
            raise ModelError(f"{self.path}: the model loads but fails to run ({one_line(exc)})") from exc
        tolerance = 0.02 + (self._out_scale or 0.0) * self.num_classes
        sums_to_one = bool(np.all(np.abs(scores.sum(axis=1) - 1.0) <= tolerance))
        in_range = bool(scores.min() >= -0.01 and scores.max() <= 1.01)
        return not (sums_to_one and in_range)


def _whole_number(value: Any) -> int | None:
    """value as an int if it is an integer (numpy's included) and not a bool, else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def _check_arguments(model_path: Any, num_threads: Any, backend: Any, invert: Any) -> tuple[int | None, bool | None]:
    """Classifier's arguments checked before anything is loaded: UsageError, never TypeError."""
    if not isinstance(model_path, (str, os.PathLike)):
        raise UsageError(f"model_path must be a file path (got {type(model_path).__name__})")
    threads = None if num_threads is None else _whole_number(num_threads)
    if num_threads is not None and (threads is None or threads < 1):
        raise UsageError(f"num_threads must be None or a whole number of at least 1 (got {num_threads!r})")
    if not isinstance(backend, str):
        raise UsageError(f"backend must be a name such as 'auto' (got {backend!r})")
    return threads, _check_invert(invert)


def _check_invert(invert: Any) -> bool | None:
    """None, True or False (numpy's bool too), else UsageError."""
    if invert is not None and not isinstance(invert, (bool, np.bool_)):
        raise UsageError(f"invert must be None, True or False (got {invert!r})")
    return None if invert is None else bool(invert)


def _ready_converter(lut: np.ndarray, shape: tuple[int, ...], one: tuple[int, ...]) -> Callable[[np.ndarray], np.ndarray]:
    """The fast path for one ready uint8 shape: image to input tensor, as cheap as possible.

    `lut` is the table for ready arrays (reversed when inverting). When it is a byte XOR
    (see the module docstring) one XOR into a reused buffer replaces the lookup; an
    identity table (a uint8 model with zero point 0, not inverted) is a reshape. The
    buffer is shared, like the interpreter: callers hold the Classifier's lock around it.
    """
    as_bytes = lut.view(np.uint8) if lut.dtype.itemsize == 1 else None
    if as_bytes is not None and np.array_equal(as_bytes, np.arange(256, dtype=np.uint8) ^ as_bytes[0]):
        if as_bytes[0] == 0 and lut.dtype == np.uint8:
            return lambda image: image.reshape(one)
        key = np.array(as_bytes[0], np.uint8)  # a 0-d array: numpy converts a Python int on every call
        buf = np.empty(shape, np.uint8)
        view, bitwise_xor = buf.view(lut.dtype).reshape(one), np.bitwise_xor

        def xor(image: np.ndarray) -> np.ndarray:
            bitwise_xor(image, key, buf)
            return view

        return xor
    take = lut.take
    return lambda image: take(image).reshape(one)


def _image_size(path: Path, spec: TensorSpec) -> tuple[int, int]:
    """(H, W) of a one-channel image input (NHWC, NCHW or NHW), else a one-line ModelError."""
    shape = spec.shape
    if len(shape) == 4 and shape[3] == 1:
        height, width = shape[1], shape[2]
    elif len(shape) == 4 and shape[1] == 1:
        height, width = shape[2], shape[3]
    elif len(shape) == 3:
        height, width = shape[1], shape[2]
    elif len(shape) == 4 and 3 in (shape[1], shape[3]):
        raise ModelError(f"{path}: model input {list(shape)} is a 3-channel (RGB) image, but edgecnn feeds "
                         "1-channel grayscale pixels; use a grayscale model (edgecnn train makes 28x28x1)")
    else:
        raise ModelError(f"{path}: model input shape {list(shape)} is not a one-channel image (N, H, W, 1)")
    if height < 1 or width < 1:
        raise ModelError(f"{path}: model input shape {list(shape)} has no fixed image size")
    return height, width


def _num_classes(path: Path, spec: TensorSpec) -> int:
    dims = [d for d in spec.shape[1:] if d != 1] or [spec.shape[-1]]
    if len(dims) != 1 or dims[0] < 2:
        raise ModelError(f"{path}: model output shape {list(spec.shape)} is not one score per class")
    return dims[0]


def _check_color(path: Path, preprocessing: dict[str, Any]) -> None:
    color = str(preprocessing.get("color", "grayscale")).lower()
    if color not in ("grayscale", "gray", "grey", "l"):
        raise ModelError(f"{path}: model metadata asks for {color} input, but the model takes one channel")


def _input_quantization(spec: TensorSpec, meta_input: Any) -> tuple[float, int]:
    """Scale and zero point of an integer input: the model's own, else its metadata, else raw pixels."""
    if spec.scale:
        return spec.scale, int(spec.zero_point or 0)
    if isinstance(meta_input, dict) and meta_input.get("scale"):
        return float(meta_input["scale"]), int(meta_input.get("zero_point") or 0)
    if spec.dtype.kind in "iu":
        return 1.0 / 255.0, -128 if spec.dtype == np.int8 else 0
    return 1.0, 0
