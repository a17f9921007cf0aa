"""Class names where standard TFLite tooling looks for them: the TFLite Metadata schema.

edgecnn's own "edgecnn" entry is JSON that only edgecnn reads. LiteRT / MediaPipe's
image classifier, tflite-support's MetadataDisplayer and Android Studio's ML binding
read a different entry instead: a Model.metadata entry named "TFLITE_METADATA" whose
buffer holds a ModelMetadata flatbuffer (file identifier "M001", metadata_schema.fbs of
tensorflow/tflite-support), plus the files that metadata names, packed as a zip archive
appended to the .tflite file. This module writes both, with the `flatbuffers` package
(a [train] dependency) and the stdlib's zipfile; nothing here runs on the device.

What is written:

- ModelMetadata: name, description, version, min_parser_version and one SubGraphMetadata;
- input_tensor_metadata[0]: an ImageProperties content (GRAYSCALE) and a
  NormalizationOptions process unit (mean 0, std 255: pixels 0..255 become the model's
  0..1), which MediaPipe needs before it feeds a float model an image;
- output_tensor_metadata[0]: a FeatureProperties content and the associated file
  "labels.txt" of type TENSOR_AXIS_LABELS, one class name per line in index order.

The appended archive stores its files uncompressed (MediaPipe's extractor reads them in
place) and its offsets count from the start of the .tflite file, as MetadataPopulator's
`zipfile.ZipFile(model_file, "a")` writes them. The interpreters ignore bytes after the
flatbuffer, so the model runs unchanged in ai-edge-litert and tflite-runtime.

Checked with tflite-support 0.4.4's MetadataDisplayer (it lists and reads labels.txt).
MediaPipe's and the Task Library's ImageClassifier parse this metadata too, but refuse to
run the model: they take only 3-channel RGB float32/uint8 inputs ("Only RGB color space is
supported for now"; int8 input: "Requested one of these types: uint8/float32"), and
edgecnn's models are single-channel grayscale. The color space is written truthfully.
"""

from __future__ import annotations

import io
import zipfile
from typing import Sequence

from ..filenames import LABELS_FILE

#: Model.metadata entry name and file identifier standard tooling looks for.
METADATA_NAME = "TFLITE_METADATA"
FILE_IDENTIFIER = b"M001"
#: The oldest metadata parser that understands every field written here (all are from 1.0.0).
MIN_PARSER_VERSION = "1.0.0"

# Field (vtable slot) numbers of metadata_schema.fbs. A union field takes two slots:
# its type (a ubyte) and then its value.
_MM_NAME, _MM_DESCRIPTION, _MM_VERSION, _MM_SUBGRAPHS, _MM_MIN_PARSER = 0, 1, 2, 3, 7
_MM_FIELDS = 8
_SG_INPUTS, _SG_OUTPUTS, _SG_FIELDS = 2, 3, 7
_TM_NAME, _TM_DESCRIPTION, _TM_CONTENT, _TM_PROCESS_UNITS, _TM_FILES, _TM_FIELDS = 0, 1, 3, 4, 6, 7
_CONTENT_TYPE, _CONTENT_PROPS, _CONTENT_FIELDS = 0, 1, 3
_IMAGE_COLOR_SPACE, _IMAGE_FIELDS = 0, 2
_PU_TYPE, _PU_OPTIONS, _PU_FIELDS = 0, 1, 2
_NORM_MEAN, _NORM_STD, _NORM_FIELDS = 0, 1, 2
_AF_NAME, _AF_DESCRIPTION, _AF_TYPE, _AF_FIELDS = 0, 1, 2, 4

# Enum and union values.
CONTENT_FEATURE, CONTENT_IMAGE = 1, 2          # ContentProperties
PROCESS_NORMALIZATION = 1                      # ProcessUnitOptions
COLOR_GRAYSCALE = 2                            # ColorSpaceType
TENSOR_AXIS_LABELS = 2                         # AssociatedFileType

#: Pixels 0..255 -> the model's 0..1 input: (x - mean) / std.
NORMALIZATION_MEAN, NORMALIZATION_STD = 0.0, 255.0


def model_metadata(class_names: Sequence[str], name: str = "edgecnn image classifier",
                   version: str = "", description: str = "") -> bytes:
    """A ModelMetadata flatbuffer naming `class_names` as the output's TENSOR_AXIS_LABELS."""
    import flatbuffers  # the [train] extra installs it

    if not class_names:
        raise ValueError("no class names to write")
    b = flatbuffers.Builder(1024)

    def string(text: str) -> int:
        return b.CreateString(text)

    def offsets(items: list[int]) -> int:
        b.StartVector(4, len(items), 4)
        for item in reversed(items):
            b.PrependUOffsetTRelative(item)
        return b.EndVector()

    def floats(values: list[float]) -> int:
        b.StartVector(4, len(values), 4)
        for value in reversed(values):
            b.PrependFloat32(value)
        return b.EndVector()

    def table(fields: int, refs: dict[int, int], small: dict[int, int] | None = None) -> int:
        """A table of `fields` slots: offsets to built objects, then one-byte enums/union types."""
        b.StartObject(fields)
        for slot, offset in refs.items():
            b.PrependUOffsetTRelativeSlot(slot, offset, 0)
        for slot, value in (small or {}).items():
            b.PrependUint8Slot(slot, value, 0)
        return b.EndObject()

    def content(kind: int, props: int) -> int:
        return table(_CONTENT_FIELDS, {_CONTENT_PROPS: props}, {_CONTENT_TYPE: kind})

    # Input: a grayscale image, 0..255 pixels normalized to 0..1.
    image_content = content(CONTENT_IMAGE, table(_IMAGE_FIELDS, {}, {_IMAGE_COLOR_SPACE: COLOR_GRAYSCALE}))
    norm = table(_NORM_FIELDS, {_NORM_MEAN: floats([NORMALIZATION_MEAN]), _NORM_STD: floats([NORMALIZATION_STD])})
    units = offsets([table(_PU_FIELDS, {_PU_OPTIONS: norm}, {_PU_TYPE: PROCESS_NORMALIZATION})])
    input_meta = table(_TM_FIELDS, {_TM_NAME: string("image"),
                                    _TM_DESCRIPTION: string("Grayscale image, light item on a dark background"),
                                    _TM_CONTENT: image_content, _TM_PROCESS_UNITS: units})

    # Output: one probability per class, labelled by labels.txt.
    labels = table(_AF_FIELDS, {_AF_NAME: string(LABELS_FILE),
                                _AF_DESCRIPTION: string("Class names, one per line, in output index order")},
                   {_AF_TYPE: TENSOR_AXIS_LABELS})
    output_meta = table(_TM_FIELDS, {_TM_NAME: string("probability"),
                                     _TM_DESCRIPTION: string(f"Probabilities of the {len(class_names)} classes"),
                                     _TM_CONTENT: content(CONTENT_FEATURE, table(0, {})),
                                     _TM_FILES: offsets([labels])})
    subgraph = table(_SG_FIELDS, {_SG_INPUTS: offsets([input_meta]), _SG_OUTPUTS: offsets([output_meta])})

    texts = {slot: string(text) for slot, text in
             ((_MM_NAME, name), (_MM_DESCRIPTION, description), (_MM_VERSION, version),
              (_MM_MIN_PARSER, MIN_PARSER_VERSION)) if text}
    root = table(_MM_FIELDS, {**texts, _MM_SUBGRAPHS: offsets([subgraph])})
    b.Finish(root, file_identifier=FILE_IDENTIFIER)
    return bytes(b.Output())


def pack_associated_files(tflite_bytes: bytes, files: dict[str, bytes]) -> bytes:
    """`tflite_bytes` followed by a zip archive of `files`, stored uncompressed.

    The archive is written in append mode onto the model's own bytes, so its offsets are
    positions in the whole .tflite file (what MetadataPopulator writes and MediaPipe reads).
    """
    if zipfile.is_zipfile(io.BytesIO(tflite_bytes)):  # zipfile would add to that archive
        raise ValueError("the model already has packed files: pack a bare model")
    buffer = io.BytesIO(tflite_bytes)
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_STORED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # same bytes every run
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


__all__ = ["METADATA_NAME", "FILE_IDENTIFIER", "MIN_PARSER_VERSION", "LABELS_FILE", "TENSOR_AXIS_LABELS",
           "model_metadata", "pack_associated_files"]
