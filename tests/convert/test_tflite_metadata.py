"""Class names in the standard TFLite Metadata (TFLITE_METADATA + packed labels.txt).

The ModelMetadata flatbuffer is read back here with a reader written against
metadata_schema.fbs (tensorflow/tflite-support) by hand, not with the `flatbuffers`
package that wrote it, and the packed labels with the stdlib's zipfile: what
tflite-support's MetadataDisplayer and MediaPipe's metadata extractor read.
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest

from edgecnn.modelmeta import read_metadata, tflite_metadata_entries
from edgecnn.modelmeta import check_tflite_bytes

TFLITE_FILES = ["model_int8.tflite", "model_float32.tflite", "model_float16.tflite"]


class Table:
    """A flatbuffer table of `data` at `pos`: fields by their number in the .fbs file."""

    def __init__(self, data: bytes, pos: int) -> None:
        self.data, self.pos = data, pos
        self.vtable = pos - struct.unpack_from("<i", data, pos)[0]

    def _field(self, n: int) -> int | None:
        vt_size = struct.unpack_from("<H", self.data, self.vtable)[0]
        if 4 + 2 * n >= vt_size:
            return None
        off = struct.unpack_from("<H", self.data, self.vtable + 4 + 2 * n)[0]
        return self.pos + off if off else None

    def _ref(self, n: int) -> int | None:
        pos = self._field(n)
        return None if pos is None else pos + struct.unpack_from("<I", self.data, pos)[0]

    def byte(self, n: int) -> int:
        pos = self._field(n)
        return 0 if pos is None else self.data[pos]

    def string(self, n: int) -> str | None:
        pos = self._ref(n)
        if pos is None:
            return None
        length = struct.unpack_from("<I", self.data, pos)[0]
        return self.data[pos + 4:pos + 4 + length].decode("utf-8")

    def table(self, n: int) -> "Table | None":
        pos = self._ref(n)
        return None if pos is None else Table(self.data, pos)

    def tables(self, n: int) -> list["Table"]:
        pos = self._ref(n)
        if pos is None:
            return []
        count = struct.unpack_from("<I", self.data, pos)[0]
        return [Table(self.data, p + struct.unpack_from("<I", self.data, p)[0])
                for p in (pos + 4 + 4 * i for i in range(count))]

    def floats(self, n: int) -> list[float]:
        pos = self._ref(n)
        count = struct.unpack_from("<I", self.data, pos)[0]
        return list(struct.unpack_from(f"<{count}f", self.data, pos + 4))


def read_standard_metadata(buf: bytes) -> dict:
    """What standard tooling gets from a ModelMetadata buffer (metadata_schema.fbs field numbers)."""
    assert buf[4:8] == b"M001", "no M001 file identifier"
    model = Table(buf, struct.unpack_from("<I", buf, 0)[0])
    subgraph = model.tables(3)[0]                      # ModelMetadata.subgraph_metadata
    inp = subgraph.tables(2)[0]                        # SubGraphMetadata.input_tensor_metadata
    out = subgraph.tables(3)[0]                        # SubGraphMetadata.output_tensor_metadata
    unit = inp.tables(4)[0]                            # TensorMetadata.process_units
    norm = unit.table(1)                               # ProcessUnit.options (NormalizationOptions)
    in_content, out_content = inp.table(3), out.table(3)
    return {
        "min_parser_version": model.string(7),
        "input_content_type": in_content.byte(0),      # ContentProperties: 2 = ImageProperties
        "color_space": in_content.table(1).byte(0),    # ImageProperties.color_space: 2 = GRAYSCALE
        "process_unit_type": unit.byte(0),             # ProcessUnitOptions: 1 = NormalizationOptions
        "mean": norm.floats(0), "std": norm.floats(1),
        "output_content_type": out_content.byte(0),    # 1 = FeatureProperties
        "output_files": [(f.string(0), f.byte(2)) for f in out.tables(6)],  # name, type
    }


@pytest.mark.parametrize("name", TFLITE_FILES)
def test_converted_tflite_has_standard_labels(converted_dir: Path, name: str) -> None:
    path = converted_dir / name
    data = path.read_bytes()
    entries = tflite_metadata_entries(data)
    assert "edgecnn" in entries and "TFLITE_METADATA" in entries, sorted(entries)
    meta = read_standard_metadata(entries["TFLITE_METADATA"])
    assert meta == {
        "min_parser_version": "1.0.0", "input_content_type": 2, "color_space": 2, "process_unit_type": 1,
        "mean": [0.0], "std": [255.0], "output_content_type": 1,
        "output_files": [("labels.txt", 2)],           # AssociatedFileType.TENSOR_AXIS_LABELS
    }
    class_names = read_metadata(path)["class_names"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["labels.txt"]
        info = archive.getinfo("labels.txt")
        assert info.compress_type == zipfile.ZIP_STORED  # read in place by MediaPipe's extractor
        # Offsets count from the start of the .tflite file, as MetadataPopulator writes them.
        assert data[info.header_offset:info.header_offset + 4] == b"PK\x03\x04"
        labels = archive.read("labels.txt")
    assert labels.decode("utf-8").splitlines() == class_names
    assert labels == (converted_dir / "labels.txt").read_bytes()
    check_tflite_bytes(data, name)  # the appended archive does not upset the structure check


def test_appended_labels_keep_the_model_running(converted_dir: Path) -> None:
    """The packed model gives the same outputs as its bare flatbuffer in ai-edge-litert."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    data = (converted_dir / "model_float32.tflite").read_bytes()
    end = zipfile.ZipFile(io.BytesIO(data)).getinfo("labels.txt").header_offset
    results = []
    for content in (data, data[:end]):
        interpreter = Interpreter(model_content=content)
        interpreter.allocate_tensors()
        detail = interpreter.get_input_details()[0]
        interpreter.set_tensor(detail["index"], np.linspace(0, 1, int(np.prod(detail["shape"])),
                                                            dtype=np.float32).reshape(detail["shape"]))
        interpreter.invoke()
        results.append(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))
    assert end < len(data) and np.array_equal(results[0], results[1])


def test_model_metadata_and_packing_directly() -> None:
    from edgecnn.convert.tflite_metadata import model_metadata, pack_associated_files

    meta = read_standard_metadata(model_metadata(["cat", "dog"]))
    assert meta["output_files"] == [("labels.txt", 2)] and meta["min_parser_version"] == "1.0.0"
    with pytest.raises(ValueError, match="no class names"):
        model_metadata([])
    packed = pack_associated_files(b"not a model, just bytes", {"labels.txt": b"cat\ndog\n"})
    assert packed.startswith(b"not a model, just bytes")
    assert zipfile.ZipFile(io.BytesIO(packed)).read("labels.txt") == b"cat\ndog\n"
    with pytest.raises(ValueError, match="pack a bare model"):  # packing twice would list labels.txt twice
        pack_associated_files(packed, {"labels.txt": b"cat\ndog\n"})
