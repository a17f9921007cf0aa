"""bench's machine line names the CPU flags that matter, and bench ends with which format is fastest here and why."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from edgecnn.bench import runner
from edgecnn.bench.machine import cpu_flags, facts_line
from edgecnn.bench.runner import fastest_verdict, verdict_line
from edgecnn.cli import main


X86_VNNI = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx fma avx2 avx512f avx512bw avx512_vnni avx_vnni\n"
X86_AVX2 = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx fma avx2 sha_ni\n"
ARM_DOT = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes crc32 atomics fphp asimdhp asimddp i8mm\n"
ARM_PI4 = "processor\t: 0\nFeatures\t: fp asimd evtstrm crc32 cpuid\n"


@pytest.mark.parametrize("cpuinfo, expected", [
    (X86_VNNI, ["avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni"]),
    (X86_AVX2, ["avx2", "fma"]),
    (ARM_DOT, ["asimd", "asimddp", "i8mm"]),
    (ARM_PI4, ["asimd"]),
    ("", []),
])
def test_cpu_flags_from_cpuinfo(cpuinfo: str, expected: list[str]) -> None:
    assert cpu_flags(cpuinfo) == expected


def facts(flags: list[str]) -> dict[str, Any]:
    return {"cpu": "AMD EPYC", "cpu_flags": flags, "cores": 2, "machine": "x86_64", "system": "Linux",
            "python": "3.11.7", "libraries": {"numpy": "2.0"}}


def test_machine_line_names_the_flags() -> None:
    line = facts_line(facts(["avx2", "fma", "avx512_vnni"]))
    assert "avx2 fma avx512_vnni" in line and "no int8 dot-product" not in line
    assert "avx2 fma (no int8 dot-product instructions)" in facts_line(facts(["avx2", "fma"]))


def row(model: str, p50: float, backend: str = "litert", threads: int = 1, batch: int = 1) -> dict[str, Any]:
    return {"model": f"out/{model}", "backend": backend, "threads": threads, "batch": batch, "p50_us": p50}


FORMATS = {"model_int8.tflite": "tflite-int8", "model_float32.tflite": "tflite-float32", "model.onnx": "onnx",
           "model_int8.onnx": "onnx-int8"}


def rows_of(**p50: float) -> list[dict[str, Any]]:
    out = []
    for name, value in p50.items():
        model = {"int8": "model_int8.tflite", "float32": "model_float32.tflite", "onnx": "model.onnx"}[name]
        out.append({**row(model, value), "format": FORMATS[model]})
    return out


def test_int8_fastest_with_vnni() -> None:
    verdict = fastest_verdict(rows_of(int8=25.9, float32=58.9), ["avx2", "fma", "avx512_vnni"])
    assert verdict["format"] == "tflite-int8" and verdict["p50_us"] == 25.9
    assert verdict["why"] == "int8 uses VNNI dot products (avx512_vnni) on this CPU: 2.3x faster than tflite-float32"
    assert verdict_line(verdict).startswith("fastest here: tflite-int8 (model_int8.tflite, litert), int8 uses VNNI")


def test_float_wins_without_dot_product() -> None:
    verdict = fastest_verdict(rows_of(int8=250.0, float32=140.0, onnx=150.0), ["avx2", "fma"])
    assert verdict["format"] == "tflite-float32"
    assert verdict["why"].startswith("no int8 dot-product instructions here: tflite-float32 wins, int8 (tflite-int8) is 1.8x slower")


def test_float_wins_despite_dot_product_on_arm() -> None:
    verdict = fastest_verdict(rows_of(int8=300.0, float32=200.0), ["asimd", "asimddp"])
    assert verdict["why"] == ("tflite-float32 wins although this CPU has ARM dot-product instructions (asimddp): "
                              "int8 (tflite-int8) is 1.5x slower here")


def test_int8_faster_without_dot_product_is_not_credited_to_vnni() -> None:
    verdict = fastest_verdict(rows_of(int8=80.0, float32=140.0), ["asimd"])
    assert verdict["format"] == "tflite-int8" and "VNNI" not in verdict["why"]
    assert verdict["why"].startswith("int8 is faster here even without int8 dot-product instructions")


def test_near_tie_is_called_a_tie() -> None:
    verdict = fastest_verdict(rows_of(int8=100.0, float32=102.0), ["avx2"])
    assert "within 5% of each other" in verdict["why"]


def test_only_floats_measured_and_smallest_batch_best_threads() -> None:
    rows = [{**row("model_float32.tflite", 90.0, threads=1), "format": "tflite-float32"},
            {**row("model_float32.tflite", 60.0, threads=2), "format": "tflite-float32"},
            {**row("model.onnx", 70.0), "format": "onnx"},
            {**row("model.onnx", 5.0, batch=32), "format": "onnx"}]
    verdict = fastest_verdict(rows, ["avx2"])
    assert (verdict["format"], verdict["threads"], verdict["batch"]) == ("tflite-float32", 2, 1)
    assert "no int8 model was benchmarked" in verdict["why"]
    assert fastest_verdict([], ["avx2"]) is None


@pytest.fixture
def fake_bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, converted_dir: Path) -> list[str]:
    """Two real model files (their embedded format is read) with made-up timings: no interpreter runs."""
    models = []
    for name in ("model_int8.tflite", "model_float32.tflite"):
        shutil.copyfile(converted_dir / name, tmp_path / name)
        models.append(str(tmp_path / name))
    timings = {"model_int8.tflite": 250.0, "model_float32.tflite": 140.0}

    def fake_worker(job: dict[str, Any]) -> dict[str, Any]:
        p50 = timings[Path(job["model"]).name]
        return {**job, "load_ms": 50.0, "p50_us": p50, "p90_us": p50 + 1, "p99_us": p50 + 2,
                "images_per_s": 1e6 / p50, "peak_rss_mb": 56.0}

    monkeypatch.setattr(runner, "run_worker", fake_worker)
    monkeypatch.setattr(runner, "machine_facts", lambda: facts(["avx2", "fma"]))
    monkeypatch.setattr(runner, "available_backends", lambda model, wanted: ["litert"])
    return models


def test_bench_ends_with_the_verdict(fake_bench: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--model", fake_bench[0], "--model", fake_bench[1], "--runs", "2"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("machine: AMD EPYC [avx2 fma (no int8 dot-product instructions)]")
    assert out[-1] == ("fastest here: tflite-float32 (model_float32.tflite, litert), no int8 dot-product "
                       "instructions here: tflite-float32 wins, int8 (tflite-int8) is 1.8x slower")


def test_bench_json_has_the_verdict_and_flags(fake_bench: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--model", fake_bench[0], "--model", fake_bench[1], "--runs", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["machine"]["cpu_flags"] == ["avx2", "fma"]
    assert result["verdict"]["format"] == "tflite-float32" and result["verdict"]["why"].startswith("no int8 dot-product")
    assert {r["format"] for r in result["rows"]} == {"tflite-int8", "tflite-float32"}
