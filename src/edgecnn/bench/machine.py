"""Facts about the machine a benchmark ran on, printed with every result."""

from __future__ import annotations

import importlib.metadata
import os
import platform

LIBRARIES = ("edgecnn", "numpy", "Pillow", "ai-edge-litert", "tflite-runtime", "onnxruntime", "tensorflow")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware"):
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def machine_facts() -> dict:
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "libraries": library_versions(),
    }


def facts_line(facts: dict) -> str:
    libs = ", ".join(f"{k} {v}" for k, v in facts["libraries"].items())
    return f"machine: {facts['cpu']}, {facts['cores']} cores, {facts['machine']}, Python {facts['python']}; {libs}"
