"""Facts about the machine a benchmark ran on, printed with every result."""

from __future__ import annotations

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
    """Versions of the installed libraries among LIBRARIES (missing ones are left out)."""
    from ..runtime.doctor import version_of

    return {name: version for name in LIBRARIES if (version := version_of(name))}


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
