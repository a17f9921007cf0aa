"""Issue 13's fuzz run, in the suite: hostile model files, documents and images, counted.

Every input goes through the real code in a child process (driver.py, many inputs per
child; a crash or a hang is pinned on its input and rerun alone, see harness.py):

1. mutants of the session's model_int8.tflite and model.onnx - bit flips, byte
   overwrites, truncations, duplicated chunks, flatbuffer offsets / protobuf varints set
   to huge values - each run by `edgecnn classify --json` on two pictures;
2. malformed embedded metadata, manifest.json, train.json, labels.txt and TF_CONFIG -
   deep nesting, huge numbers, NaN, wrong types, invalid UTF-8, duplicate keys - through
   edgecnn.documents, edgecnn.modelmeta, edgecnn.runtime.labels,
   edgecnn.datasets.recorded and edgecnn.train.distributed, and through `edgecnn classify`
   with the document embedded in or beside the model;
3. hostile pictures (truncated, decompression bombs, 1xN strips, 16-bit, palette, CMYK,
   float TIFF, zero bytes, FIFOs, link loops, forged names) among good ones through
   `edgecnn classify FOLDER`: good files still classified, exit 1 for the bad ones.

Outcomes: clean error, success, traceback, unclean, hang, crash (harness.py says which is
which); the tests assert no traceback, unclean output, hang or crash, and print the counts.
The default corpus takes well under a minute; `FUZZ=1 pytest tests/fuzz` (or
`pytest -m fuzz tests/fuzz`) adds the larger one.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgecnn import modelmeta

from . import documents_corpus as docs
from .harness import TALLIES, Outcome, Tally, parse_answers, run_jobs
from .images_corpus import _item, hostile_folder, mutated_images
from .mutate import encode_varint, mutants

SEED = 13  # the number; the fuzz corpus uses other seeds


def _report(tally: Tally) -> None:
    TALLIES.append(tally)
    print("\n" + tally.line())
    assert not tally.bad, f"{len(tally.bad)} inputs failed badly:\n{tally.failures()}"


def _tally(name: str, outcomes: list[Outcome], started: float) -> Tally:
    tally = Tally(name, time.monotonic() - started)
    for outcome in outcomes:
        tally.add(outcome)
    return tally


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two pictures every model mutant classifies: a photo-like one and a ready 28x28 one."""
    folder = tmp_path_factory.mktemp("pictures")
    Image.fromarray(_item(seed=3)).save(folder / "photo.png")
    ready = np.zeros((28, 28), np.uint8)
    ready[6:22, 9:19] = 200
    Image.fromarray(ready).save(folder / "ready.png")
    return folder


# --------------------------------------------------------------------------- 1. model mutants


def model_jobs(model: Path, count: int, seed: int, pictures: Path) -> list[dict]:
    fmt = model.suffix[1:]
    jobs = []
    for n, (kind, edits) in enumerate(mutants(model.read_bytes(), fmt, count, seed)):
        jobs.append({"kind": "cli", "label": f"{model.name} {kind} #{n}",
                     "model": {"src": str(model), "edits": edits, "name": f"mutant{model.suffix}"},
                     "argv": ["classify", "--model", "{model}", "--json", "--threads", "1", str(pictures)]})
    return jobs


def _model_corpus(converted_dir: Path, pictures: Path, tmp_path: Path, name: str, count: int, seed: int) -> None:
    started = time.monotonic()
    model = converted_dir / name
    outcomes = run_jobs(model_jobs(model, count, seed, pictures), tmp_path / "jobs")
    tally = _tally(f"model mutants of {name} (seed {seed})", outcomes, started)
    for o in outcomes:
        tally.notes[f"{o.job['label'].split()[1]} {o.kind}"] += 1
    _report(tally)


@pytest.mark.parametrize("name", ["model_int8.tflite", "model.onnx"])
def test_model_mutants(converted_dir: Path, pictures: Path, tmp_path: Path, name: str) -> None:
    _model_corpus(converted_dir, pictures, tmp_path, name, 500, SEED)


@pytest.mark.fuzz
@pytest.mark.parametrize("name", ["model_int8.tflite", "model.onnx", "model_float16.tflite"])
def test_model_mutants_corpus(converted_dir: Path, pictures: Path, tmp_path: Path, name: str) -> None:
    _model_corpus(converted_dir, pictures, tmp_path, name, 1000, 1013)


#: ONNX mutants, each a bug the first fuzz run found, now fixed. The fixture model is retrained per
#: session (deterministically, but library versions may move bytes), so an edit may miss its target
#: in another session's model; the test then still requires a clean answer.
KNOWN_BAD_ONNX = {
    # float weights overwritten with 0x7f bytes (3.4e38): the photo's scores are NaN; classify
    # prints "score": NaN (not JSON) / "(nan)" and exits 0 - a silent wrong answer.
    "nan-score": [["write", 161052, "7f" * 64]],
    # one bit flipped in a shape's dimension name (seed 1013, bitflip #575): onnxruntime's NodeArg.shape
    # raises UnicodeDecodeError in backends._onnx_spec, a traceback instead of one line and exit 2.
    "onnx-shape-utf8-traceback": [["flip", 979534, 7]],
    # a varint of the graph made 2 (seed 1013, huge #349): the model loads, fails in Reshape, and
    # ONNX Runtime's red "[E:onnxruntime:...]" log line comes on stderr before edgecnn's one line.
    "ort-log-on-stderr": [["splice", 411, 412, "02"]],
}


@pytest.mark.parametrize("bug", sorted(KNOWN_BAD_ONNX))
def test_known_bad_onnx_mutant(converted_dir: Path, pictures: Path, tmp_path: Path, bug: str) -> None:
    model = converted_dir / "model.onnx"
    job = {"kind": "cli", "label": f"model.onnx {bug}", "argv": ["classify", "--model", "{model}", "--json",
                                                                   str(pictures)],
           "model": {"src": str(model), "edits": KNOWN_BAD_ONNX[bug], "name": "mutant.onnx"}}
    [outcome] = run_jobs([job], tmp_path / "jobs")
    assert outcome.kind in ("success", "clean_error"), outcome.detail


#: TFLite mutants, each a crash a fuzz run found, now refused by modelmeta's check. Pinned by offset
#: in the session's fixture model like KNOWN_BAD_ONNX (an edit may miss in another session's model;
#: the test then still requires a clean answer); tests/runtime/test_modelmeta_tflite.py builds the
#: same edit from the golden model by locating the tensor, so it does not depend on offsets.
KNOWN_BAD_TFLITE = {
    # seed 1013, bitflip #170 (its shape flip; its other flip, 67696 bit 5, only changes a weight):
    # conv1's weights as float32 (DEQUANTIZE's output, a non-constant tensor) [64, 3, 3, 1] ->
    # [64, 3, 2051, 1]. LiteRT 2.3's XNNPACK delegate unpacks the float16 weights by the output's
    # shape, reading 393792 values from a 576-value buffer: SIGSEGV in allocate_tensors.
    "float16-dequantize-shape-segfault": ("model_float16.tflite", [["flip", 492741, 3]]),
}


@pytest.mark.parametrize("bug", sorted(KNOWN_BAD_TFLITE))
def test_known_bad_tflite_mutant(converted_dir: Path, pictures: Path, tmp_path: Path, bug: str) -> None:
    name, edits = KNOWN_BAD_TFLITE[bug]
    model = converted_dir / name
    job = {"kind": "cli", "label": f"{name} {bug}", "argv": ["classify", "--model", "{model}", "--json",
                                                               "--threads", "1", str(pictures)],
           "model": {"src": str(model), "edits": edits, "name": f"mutant{model.suffix}"}}
    [outcome] = run_jobs([job], tmp_path / "jobs")
    assert outcome.kind in ("success", "clean_error"), outcome.detail


# --------------------------------------------------------------------------- 2. documents


def _onnx_metadata_span(data: bytes) -> tuple[int, int]:
    """(start, end) of ModelProto's metadata_props entry whose key is "edgecnn"."""
    from .mutate import _varint

    pos = 0
    while pos < len(data):
        start = pos
        key, pos = _varint(data, pos)
        wire = key & 7
        if wire == 0:
            _, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            if key >> 3 == 14 and b"\x0a\x07edgecnn" in data[pos:pos + 12]:
                return start, pos + length
            pos += length
        else:
            pos += 8 if wire == 1 else 4
    raise AssertionError("no edgecnn metadata entry")


def _onnx_entry(value: bytes) -> bytes:
    entry = b"\x0a\x07edgecnn" + b"\x12" + encode_varint(len(value)) + value
    return b"\x72" + encode_varint(len(entry)) + entry  # field 14, wire type 2


def document_jobs(converted_dir: Path, trained_dir: Path, pictures: Path, work: Path, count: int,
                  seed: int) -> list[dict]:
    """Reader jobs for every malformed document, and `edgecnn classify` jobs where a model reads it."""
    work.mkdir(parents=True, exist_ok=True)
    onnx, tflite = converted_dir / "model.onnx", converted_dir / "model_int8.tflite"
    # The models without their embedded description, so that manifest.json and labels.txt are read.
    bare = work / "bare"
    bare.mkdir()
    (bare / "model.onnx").write_bytes(onnx.read_bytes().replace(b"edgecnn", b"edgecnX"))
    (bare / "model_int8.tflite").write_bytes(tflite.read_bytes().replace(b"edgecnn", b"edgecnX"))
    classify = ["classify", "--json", "--threads", "1", str(pictures), "--model"]
    jobs: list[dict] = []

    def folder(kind: str, n: int, name: str, data: bytes, model: str | None = None) -> Path:
        place = work / kind / f"{n:04d}"
        place.mkdir(parents=True)
        (place / name).write_bytes(data)
        if model:
            (place / model).symlink_to(bare / model)
        return place

    manifest = json.loads((converted_dir / "manifest.json").read_text())
    for n, (label, data) in enumerate(docs.json_mutants(manifest, count, seed)):
        model = ("model.onnx", "model_int8.tflite")[n % 2]
        place = folder("manifest", n, "manifest.json", data, model)
        jobs.append({"kind": "reader", "reader": "manifest", "arg": str(place / "manifest.json"), "label": label})
        jobs.append({"kind": "reader", "reader": "model_info", "arg": str(place / model), "label": label})
        jobs.append({"kind": "cli", "argv": classify + [str(place / model)], "label": f"manifest {label}"})

    train = json.loads((trained_dir / "train.json").read_text())
    for n, (label, data) in enumerate(docs.json_mutants(train, count, seed + 1)):
        place = folder("train", n, "train.json", data)
        jobs.append({"kind": "reader", "reader": "train_json", "arg": str(place / "model.keras"), "label": label})

    names = (converted_dir / "labels.txt").read_text().split("\n")
    names = [name for name in names if name]
    for n, (label, data) in enumerate(docs.labels_mutants(names, max(20, count // 2), seed + 2)):
        model = ("model.onnx", "model_int8.tflite")[n % 2]
        place = folder("labels", n, "labels.txt", data, model)
        jobs.append({"kind": "reader", "reader": "labels", "arg": str(place / "labels.txt"), "label": label})
        jobs.append({"kind": "cli", "argv": classify + [str(place / model)], "label": f"labels {label}"})

    meta = modelmeta.read_metadata(onnx)
    onnx_bytes = onnx.read_bytes()
    span = _onnx_metadata_span(onnx_bytes)
    tflite_bytes = tflite.read_bytes()
    raw_meta = modelmeta.embedded_entry(tflite)
    meta_at = tflite_bytes.find(raw_meta)
    for n, (label, data) in enumerate(docs.json_mutants(meta, count, seed + 3)):
        place = folder("embedded", n, "entry.bin", data)
        jobs.append({"kind": "reader", "reader": "embedded", "arg": str(place / "entry.bin"), "label": label})
        edit = ["splice", span[0], span[1], _onnx_entry(data).hex()]
        jobs.append({"kind": "cli", "argv": classify + ["{model}"], "label": f"embedded onnx {label}",
                     "model": {"src": str(onnx), "edits": [edit], "name": "model.onnx"}})
        if len(data) <= len(raw_meta):  # in place in the flatbuffer, padded with spaces
            padded = data + b" " * (len(raw_meta) - len(data))
            jobs.append({"kind": "cli", "argv": classify + ["{model}"], "label": f"embedded tflite {label}",
                         "model": {"src": str(tflite), "edits": [["write", meta_at, padded.hex()]],
                                   "name": "model_int8.tflite"}})

    for n, (label, data) in enumerate(docs.tf_config_mutants(count, seed + 4)):
        place = folder("tf_config", n, "TF_CONFIG", data)
        jobs.append({"kind": "reader", "reader": "tf_config", "arg": str(place / "TF_CONFIG"), "label": label})
    return jobs


def _document_corpus(converted_dir: Path, trained_dir: Path, pictures: Path, tmp_path: Path, count: int,
                     seed: int) -> None:
    started = time.monotonic()
    jobs = document_jobs(converted_dir, trained_dir, pictures, tmp_path / "docs", count, seed)
    outcomes = run_jobs(jobs, tmp_path / "jobs")
    tally = _tally(f"malformed documents (seed {seed})", outcomes, started)
    for o in outcomes:
        tally.notes[f"{o.job.get('reader') or o.job['label'].split()[0] + ' classify'} {o.kind}"] += 1
    _report(tally)


def test_malformed_documents(converted_dir: Path, trained_dir: Path, pictures: Path, tmp_path: Path) -> None:
    _document_corpus(converted_dir, trained_dir, pictures, tmp_path, 80, SEED)


@pytest.mark.fuzz
def test_malformed_documents_corpus(converted_dir: Path, trained_dir: Path, pictures: Path, tmp_path: Path) -> None:
    _document_corpus(converted_dir, trained_dir, pictures, tmp_path, 400, 1013)


# --------------------------------------------------------------------------- 3. images

#: Float TIFFs with NaN or infinite pixels: classified (exit 0) with numpy's RuntimeWarning
#: "invalid value encountered in cast" on stderr - see test_float_tiff_with_nan_pixels.
NON_FINITE = ("nan.tif", "all-nan.tif", "inf.tif")


def _check_folder_run(outcome: Outcome, expect: dict[str, str], folder: Path, json_mode: bool) -> list[str]:
    """Problems with one `classify FOLDER` run: every file answered once, good ones classified, bad ones errors."""
    problems = []
    if outcome.kind != "clean_error" or outcome.result.get("rc") != 1:
        return [f"{outcome.kind} (rc {outcome.result.get('rc')}): {outcome.detail[:800]}"]
    answers: dict[str, str] = {}
    if json_mode:
        for record in parse_answers(outcome.result["out"]):
            answers[os.path.relpath(record["path"], folder)] = "bad" if "error" in record else "good"
    else:
        from edgecnn.runtime.report import printable

        shown = {printable(str(folder / name)): name for name in expect}
        for line in outcome.result["out"].splitlines():
            answers[shown.get(line.rsplit(": ", 1)[0], line)] = "good"
        for line in outcome.result["err"].splitlines()[:-1]:
            answers[shown.get(line.split(": error: ")[0], line)] = "bad"
    if sorted(answers) != sorted(expect):
        problems.append(f"answered {sorted(set(answers) ^ set(expect))} wrongly (missing or extra)")
    for name, want in expect.items():
        if want != "any" and answers.get(name) not in (want, None):
            problems.append(f"{name}: expected {want}, got {answers.get(name)}")
    return problems


def _image_runs(converted_dir: Path, folders: list[tuple[Path, dict[str, str]]], tmp_path: Path,
                name: str) -> None:
    started = time.monotonic()
    jobs, checks = [], []
    for folder, expect in folders:
        for model in ("model_int8.tflite", "model.onnx"):
            for json_mode in (True, False):
                argv = ["classify", "--model", str(converted_dir / model), "--threads", "1", str(folder)]
                jobs.append({"kind": "cli", "argv": argv + (["--json"] if json_mode else []),
                             "label": f"{folder.name} {model}"})
                checks.append((folder, expect, json_mode))
    outcomes = run_jobs(jobs, tmp_path / "jobs")
    tally = Tally(name, 0.0)
    for outcome, (folder, expect, json_mode) in zip(outcomes, checks):
        problems = _check_folder_run(outcome, expect, folder, json_mode)
        if problems:
            tally.add(Outcome(outcome.job, outcome.kind if outcome.kind != "clean_error" else "unclean",
                              "; ".join(problems), outcome.result), len(expect))
            continue
        if json_mode:  # count each file once per model: its own outcome
            for record in parse_answers(outcome.result["out"]):
                tally.counts["clean_error" if "error" in record else "success"] += 1
    tally.seconds = time.monotonic() - started
    tally.notes["classify runs"] = len(jobs)
    _report(tally)


def test_hostile_images(converted_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "hostile"
    expect = hostile_folder(folder)
    _image_runs(converted_dir, [(folder, expect)], tmp_path, "hostile images")


def test_float_tiff_with_nan_pixels(converted_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "hostile"
    expect = hostile_folder(folder)
    for name in list(expect):
        if name not in NON_FINITE and name != "good0.png":
            (folder / name).unlink()
            del expect[name]
    _image_runs(converted_dir, [(folder, {n: ("good" if n == "good0.png" else "bad") for n in expect})],
                tmp_path, "float TIFF with NaN/inf pixels")


@pytest.mark.fuzz
def test_image_mutants_corpus(converted_dir: Path, tmp_path: Path) -> None:
    folders = []
    for n in range(16):
        folder = tmp_path / f"mutants{n:02d}"
        folders.append((folder, mutated_images(folder, 25, 1013 + n)))
    _image_runs(converted_dir, folders, tmp_path, "mutated images (seed 1013)")
