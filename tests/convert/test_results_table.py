"""convert's printed results table: accuracy change against Keras in words whose sign reads right."""

from __future__ import annotations

from edgecnn.convert.manifest import change_vs_keras, results_table


def test_change_vs_keras_words() -> None:
    assert change_vs_keras(-0.25) == "+0.25 pp better"  # manifest's drop is Keras minus artifact
    assert change_vs_keras(0.1) == "0.10 pp lower"
    assert change_vs_keras(0.0) == change_vs_keras(-0.001) == "same"
    assert change_vs_keras(None) == "-"


def artifact(fmt: str, accuracy: float, drop: float) -> dict:
    return {"format": fmt, "bytes": 256_000, "accuracy": accuracy, "accuracy_drop_pp": drop, "agreement": 0.995,
            "max_abs_diff": 0.14, "verified": True, "failure": None}


def test_results_table_says_change_vs_keras() -> None:
    manifest = {"dataset": {"name": "fashion-mnist", "synthetic": False, "test_size": 10000}, "keras_accuracy": 0.9314,
                "artifacts": [artifact("int8", 0.9339, -0.25), artifact("onnx-int8", 0.9304, 0.10),
                              artifact("float32", 0.9314, 0.0)]}
    table = results_table(manifest)
    header, *rows = table.splitlines()[1:]
    assert "change vs Keras" in header and "drop" not in table
    int8, onnx_int8, float32 = (line for line in rows if not line.startswith(("-", "keras")))
    assert "93.39%" in int8 and "+0.25 pp better" in int8 and "-0.25" not in int8
    assert "93.04%" in onnx_int8 and "0.10 pp lower" in onnx_int8
    assert "| same" in float32
    assert "93.14%" in next(line for line in rows if line.startswith("keras"))
