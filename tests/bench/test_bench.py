"""`edgecnn bench` on real interpreters: every field for two formats, and its bad input."""

import json

import pytest

from edgecnn.cli import main

pytestmark = pytest.mark.slow

ROW_FIELDS = {"model", "format", "backend", "threads", "batch", "runs", "warmup", "load_ms", "p50_us", "p90_us", "p99_us",
              "images_per_s", "peak_rss_mb", "file_kb", "ratio_to_fastest"}


def test_json_has_every_field_for_two_formats(converted_dir, capsys):
    models = [str(converted_dir / "model_int8.tflite"), str(converted_dir / "model.onnx")]
    code = main(["bench", "--model", models[0], "--model", models[1], "--threads", "1,2", "--batch", "1,4",
                 "--runs", "20", "--warmup", "2", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert {"cpu", "cpu_flags", "cores", "machine", "python", "libraries"} <= set(result["machine"])
    assert result["verdict"]["format"] in {"tflite-int8", "onnx"} and result["verdict"]["why"]
    rows = result["rows"]
    assert len(rows) == 2 * 2 * 2  # models x threads x batches, one backend each here
    for row in rows:
        assert ROW_FIELDS <= set(row)
        assert row["p50_us"] <= row["p90_us"] <= row["p99_us"]
        assert row["images_per_s"] > 0 and row["peak_rss_mb"] > 10 and row["load_ms"] > 0
        assert row["ratio_to_fastest"] >= 1.0
    assert {row["backend"] for row in rows} == {"litert", "onnxruntime"}
    for batch in (1, 4):
        assert min(r["ratio_to_fastest"] for r in rows if r["batch"] == batch) == 1.0
    # the LiteRT worker process never loads TensorFlow: its memory shows it (TF alone is ~500 MB)
    assert all(r["peak_rss_mb"] < 300 for r in rows if r["backend"] == "litert")


@pytest.mark.parametrize("args, needle", [
    (["--threads", "0"], "--threads: invalid value '0'"),
    (["--threads", "1,two"], "--threads: invalid value 'two'"),
    (["--batch", "0"], "--batch: invalid value '0'"),
])
def test_bad_numbers(converted_dir, capsys, args, needle):
    """Refused while parsing, before any model is timed: argparse's usage line, then the error, exit 2."""
    with pytest.raises(SystemExit) as stopped:
        main(["bench", "--model", str(converted_dir / "model_int8.tflite"), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert stopped.value.code == 2 and needle in err[-1]


def test_model_that_does_not_load(tmp_path, capsys):
    bad = tmp_path / "broken.tflite"
    bad.write_bytes(b"\x00" * 64)
    code = main(["bench", "--model", str(bad), "--runs", "2"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "broken.tflite" in err and "\n" not in err
