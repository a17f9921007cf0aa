"""Facts about the machine a benchmark ran on, printed with every result."""

from __future__ import annotations

import os
import platform

LIBRARIES = ("edgecnn", "numpy", "Pillow", "ai-edge-litert", "tflite-runtime", "onnxruntime", "tensorflow")

#: /proc/cpuinfo flags that decide which model format is fast: wide SIMD, fused multiply-add, and the
#: int8 dot-product instructions that int8 kernels need to beat float32 (x86 "flags", ARM "Features").
RELEVANT_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "neon", "asimd", "asimddp", "i8mm")
#: The subset that gives int8 kernels dot-product instructions, with what each family is called.
INT8_DOT_FLAGS = {"avx512_vnni": "VNNI dot products", "avx_vnni": "VNNI dot products",
                  "asimddp": "ARM dot-product instructions", "i8mm": "ARM dot-product instructions"}


def cpu_model() -> str:
    """The CPU's name from /proc/cpuinfo, else what the platform module says."""
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


def cpu_flags(cpuinfo: str | None = None) -> list[str]:
    """The RELEVANT_FLAGS this CPU has, in RELEVANT_FLAGS order.

    Read from the "flags" (x86) or "Features" (ARM) line of /proc/cpuinfo, or of `cpuinfo`
    when given; an empty list where there is no /proc/cpuinfo (macOS, Windows).
    """
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as fh:
                cpuinfo = fh.read()
        except OSError:
            return []
    have: set[str] = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            have.update(value.split())
    return [flag for flag in RELEVANT_FLAGS if flag in have]


def int8_dot_flags(flags: list[str]) -> list[str]:
    """The flags among `flags` that give int8 kernels dot-product instructions."""
    return [flag for flag in flags if flag in INT8_DOT_FLAGS]


def flags_text(flags: list[str]) -> str:
    """"avx2 fma avx512_vnni" plus, where no int8 dot-product flag is present, a note saying so."""
    text = " ".join(flags) if flags else "none of " + " ".join(RELEVANT_FLAGS)
    return text if int8_dot_flags(flags) else f"{text} (no int8 dot-product instructions)"


def machine_facts() -> dict:
    """CPU, its relevant flags, cores, OS, Python and library versions, as bench's JSON gives them."""
    return {
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "libraries": library_versions(),
    }


def facts_line(facts: dict) -> str:
    """One line naming the machine: CPU, its relevant flags, cores, Python and library versions."""
    libs = ", ".join(f"{k} {v}" for k, v in facts["libraries"].items())
    flags = f" [{flags_text(facts['cpu_flags'])}]" if "cpu_flags" in facts else ""
    return f"machine: {facts['cpu']}{flags}, {facts['cores']} cores, {facts['machine']}, Python {facts['python']}; {libs}"
