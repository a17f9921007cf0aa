"""One list style for every list flag (comma-separated or repeated), checked before any work starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgecnn.cli import build_parser, main


def parse(*argv: str):
    return build_parser().parse_args(list(argv))


@pytest.mark.parametrize("flags", [["--backend", "litert,onnxruntime"], ["--backend", "litert", "--backend", "onnxruntime"],
                                   ["--backend", "litert, onnxruntime"]])
def test_bench_backend_both_styles(flags):
    assert parse("bench", "--model", "m.tflite", *flags).backend == ["litert", "onnxruntime"]


def test_bench_numbers_both_styles_and_defaults():
    args = parse("bench", "--model", "a.tflite,b.onnx", "--threads", "1,2", "--threads", "4", "--batch", "32")
    assert args.model == ["a.tflite", "b.onnx"] and args.threads == [1, 2, 4] and args.batch == [32]
    args = parse("bench", "--model", "a.tflite")
    assert args.threads == [1] and args.batch == [1] and args.backend is None
    assert parse("bench", "--model", "a.tflite", "--threads", "2").threads == [2]  # replaces the default


def test_a_model_path_with_a_comma_stays_whole(tmp_path):
    odd = tmp_path / "run 3,final.tflite"
    odd.write_bytes(b"x")
    assert parse("bench", "--model", str(odd)).model == [str(odd)]


@pytest.mark.parametrize("flags, word", [(["--backend", "litert,tflite"], "'tflite'"), (["--threads", "1,0"], "'0'"),
                                         (["--batch", "x"], "'x'"), (["--threads", ","], "at least one")])
def test_bad_list_items_are_usage_errors(flags, word, capsys):
    with pytest.raises(SystemExit) as info:
        parse("bench", "--model", "m.tflite", *flags)
    assert info.value.code == 2 and word in capsys.readouterr().err


def fake_row(job: dict) -> dict:
    return {**job, "load_ms": 1.0, "p50_us": 10.0, "p90_us": 11.0, "p99_us": 12.0, "images_per_s": 100.0,
            "peak_rss_mb": 50.0}


def test_bench_two_models_two_backends_as_one_flag(tmp_path, monkeypatch, capsys):
    import edgecnn.bench.runner as runner

    pytest.importorskip("ai_edge_litert")
    pytest.importorskip("onnxruntime")
    jobs = []
    monkeypatch.setattr(runner, "run_worker", lambda job: jobs.append(job) or fake_row(job))
    a, b = tmp_path / "model_int8.tflite", tmp_path / "model.onnx"
    a.write_bytes(b"x")
    b.write_bytes(b"x")
    assert main(["bench", "--model", f"{a},{b}", "--backend", "litert,onnxruntime", "--json"]) == 0
    assert [(Path(j["model"]).name, j["backend"]) for j in jobs] == [("model_int8.tflite", "litert"),
                                                                      ("model.onnx", "onnxruntime")]
    assert len(json.loads(capsys.readouterr().out)["rows"]) == 2


def test_bench_checks_every_model_before_the_first_runs(tmp_path, monkeypatch, capsys):
    import edgecnn.bench.runner as runner

    jobs = []
    monkeypatch.setattr(runner, "run_worker", lambda job: jobs.append(job) or fake_row(job))
    a, b = tmp_path / "model_int8.tflite", tmp_path / "model.onnx"
    a.write_bytes(b"x")
    b.write_bytes(b"x")
    code = main(["bench", "--model", str(a), "--model", str(b), "--backend", "tensorflow"])
    assert code == 2 and jobs == []  # model.onnx cannot run with tensorflow: nothing timed first
    assert "model.onnx: no installed backend" in capsys.readouterr().err
    code = main(["bench", "--model", f"{a},{tmp_path / 'gone.tflite'}"])
    assert code == 2 and jobs == [] and "gone.tflite: no such model file" in capsys.readouterr().err


@pytest.mark.parametrize("flags, formats", [(["--format", "int8,onnx-int8"], ["int8", "onnx-int8"]),
                                            (["--format", "int8", "--format", "onnx"], ["int8", "onnx"])])
def test_convert_format_list(flags, formats, monkeypatch):
    import edgecnn.convert as convert_module

    seen = []
    monkeypatch.setattr(convert_module, "convert", lambda config: seen.append(config.formats) or None)
    assert main(["convert", "m.keras", *flags]) == 0
    assert seen == [formats]


def test_convert_format_flag_and_list_combine_and_bad_names_stop_at_parse(monkeypatch, capsys):
    import edgecnn.convert as convert_module

    seen = []
    monkeypatch.setattr(convert_module, "convert", lambda config: seen.append(config.formats) or None)
    assert main(["convert", "m.keras", "--float16", "--format", "onnx"]) == 0
    assert seen == [["float16", "onnx"]]
    with pytest.raises(SystemExit) as info:
        main(["convert", "m.keras", "--format", "int8,tflite"])
    assert info.value.code == 2 and "invalid choice 'tflite'" in capsys.readouterr().err
