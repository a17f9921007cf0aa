"""`edgecnn doctor`: what a Raspberry Pi user needs to know before anything fails.

Every check says what it found and, when it is a problem, the command that fixes it.
Every interpreter (ai-edge-litert, tflite-runtime, TensorFlow Lite, onnxruntime) and camera
module (OpenCV, picamera2) is imported for real, each in its own child process
(runtime/imports.probe): a wheel or an apt module built for another numpy is the commonest
way they break on a Pi, only an import shows it, and a crash or a hang in one cannot take
doctor down. An import that fails is a FAIL with its reason, never "all good".
"""

from __future__ import annotations

import glob
import os
import platform
import struct
import sys
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from ..filenames import ARTIFACT_FILES
from ..formats import KERAS, ONNX, TFLITE, model_kind
from .imports import ImportStatus, probe

OK, INFO, WARN, FAIL = "ok", "info", "warn", "FAIL"
PI_OS_FIX = "flash Raspberry Pi OS (64-bit), trixie (the current release), with Raspberry Pi Imager"


@dataclass
class Check:
    """One finding: its status (ok, info, warn, FAIL), what was found, and the fix if any."""

    name: str
    status: str
    detail: str
    fix: str = ""


def version_of(dist: str) -> str | None:
    """The installed version of distribution `dist`, or None if it is not installed."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace").replace("\x00", "").strip()
    except OSError:
        return ""


def os_release() -> dict[str, str]:
    fields = {}
    for line in _read("/etc/os-release").splitlines():
        key, _, value = line.partition("=")
        fields[key] = value.strip().strip('"')
    return fields


def device_model() -> str:
    """"Raspberry Pi 4 Model B Rev 1.5" on a Pi, else ""."""
    return _read("/proc/device-tree/model")


def is_pi() -> bool:
    return device_model().startswith("Raspberry Pi")


# --------------------------------------------------------------------------- checks


def check_system() -> list[Check]:
    rel = os_release()
    name = rel.get("PRETTY_NAME") or f"{platform.system()} {platform.release()}"
    model = device_model()
    detail = f"{name}, kernel {platform.release()}" + (f", {model}" if model else "")
    codename = rel.get("VERSION_CODENAME", "")
    if model.startswith("Raspberry Pi") and codename in ("buster", "stretch", "bullseye"):
        return [Check("system", WARN, detail + f" ({codename} is older than Bookworm: picamera2 and wheels lag)",
                      PI_OS_FIX)]
    return [Check("system", OK, detail)]


def check_architecture(machine: str | None = None, bits: int | None = None) -> list[Check]:
    """This machine's architecture, or the given one (what a user of that machine would be told)."""
    machine = machine or platform.machine()
    bits = bits or struct.calcsize("P") * 8
    detail = f"{machine}, {bits}-bit Python"
    if machine == "armv6l":
        return [Check("architecture", FAIL, detail + ": ARMv6 (Pi 1 / Zero): no interpreter wheels at all",
                      "use a Pi Zero 2, 3, 4 or 5")]
    if machine == "armv7l" or (machine == "aarch64" and bits == 32):
        return [Check("architecture", WARN, detail + ": 32-bit ARM, for which ai-edge-litert has no wheels",
                      f"{PI_OS_FIX}; or keep 32-bit and pip install tflite-runtime==2.14.0 'numpy<2' (Python 3.11)")]
    return [Check("architecture", OK, detail)]


def check_python() -> list[Check]:
    v = sys.version_info
    detail = f"Python {platform.python_version()} at {sys.executable}"
    if v < (3, 10):
        return [Check("python", FAIL, detail + ": edgecnn needs 3.10 or newer", PI_OS_FIX + " (it has Python 3.13)")]
    checks = [Check("python", OK, detail)]
    if sys.prefix != sys.base_prefix:
        cfg = _read(os.path.join(sys.prefix, "pyvenv.cfg"))
        system_site = "include-system-site-packages = true" in cfg.replace("\t", " ")
        checks.append(Check("venv", OK if system_site else INFO, f"virtual environment {sys.prefix}, "
                            f"system site-packages {'visible' if system_site else 'hidden'}",
                            "" if system_site else "for picamera2 (from apt) make the venv with: "
                            "python3 -m venv --system-site-packages ~/edgecnn-venv"))
    return checks


def check_libraries() -> list[Check]:
    checks = []
    numpy_v, pillow_v = version_of("numpy"), version_of("Pillow")
    checks.append(Check("numpy", OK if numpy_v else FAIL, numpy_v or "not installed", "" if numpy_v else "pip install numpy"))
    checks.append(Check("Pillow", OK if pillow_v else FAIL, pillow_v or "not installed", "" if pillow_v else "pip install Pillow"))
    return checks


#: Camera modules doctor imports: (check name, module, what installs it).
CAMERA_MODULES = (
    ("opencv", "cv2", "pip install 'edgecnn[camera]'  (or sudo apt install python3-opencv)"),
    ("picamera2", "picamera2", "sudo apt install python3-picamera2"),
)


def probe_all(modules: list[str], timeout: float | None = None) -> dict[str, ImportStatus]:
    """Each module imported for real in its own child process, in parallel: {module: ImportStatus}."""
    from concurrent.futures import ThreadPoolExecutor

    kwargs = {} if timeout is None else {"timeout": timeout}
    with ThreadPoolExecutor(max_workers=max(1, min(len(modules), 4))) as pool:
        return dict(zip(modules, pool.map(lambda m: probe(m, **kwargs), modules)))


def _broken(name: str, version: str | None, status: ImportStatus, fallback_fix: str) -> Check:
    return Check(name, FAIL, f"{version or '?'} installed but fails to import: {status.detail}",
                 status.fix or fallback_fix)


def check_interpreters(found: dict[str, ImportStatus] | None = None) -> list[Check]:
    """Each TFLite interpreter and onnxruntime imported for real (in a child), with what failed and the fix."""
    from .backends import ONNX_BACKEND, TFLITE_BACKENDS

    found = found if found is not None else probe_all([m for _, m, _ in TFLITE_BACKENDS] + [ONNX_BACKEND])
    checks, usable = [], []
    numpy_major = int((version_of("numpy") or "0").split(".")[0])
    for name, module, dist in TFLITE_BACKENDS:
        version, status = version_of(dist), found[module]
        if status.state == "missing":
            checks.append(Check(dist, INFO, "not installed" + (" (not needed on a device)" if name == "tensorflow"
                                                                 else "")))
        elif status.state == "ok":
            note = ("; used for .tflite only when neither ai-edge-litert nor tflite-runtime imports (it takes "
                    "seconds to import)") if name == "tensorflow" else ""
            checks.append(Check(dist, OK, f"{version or status.detail or '?'} imports{note}"))
            usable.append(dist)
        else:
            fix = ("pip install 'numpy<2'" if name == "tflite_runtime" and numpy_major >= 2
                   else f"pip install --force-reinstall {dist}")
            checks.append(_broken(dist, version, status, fix))
    if usable:
        checks.append(Check("tflite models", OK, f"will run with {usable[0]}"))
    else:
        arm32 = platform.machine() in ("armv7l", "armv6l") or struct.calcsize("P") == 4
        fix = "pip install tflite-runtime==2.14.0 'numpy<2'" if arm32 else "pip install ai-edge-litert"
        checks.append(Check("tflite models", FAIL, "no TFLite interpreter can be imported", fix))
    ort, status = version_of("onnxruntime"), found[ONNX_BACKEND]
    if status.state == "ok":
        checks.append(Check("onnxruntime", OK, f"{ort or status.detail} imports (.onnx models)"))
    elif status.state == "missing":
        checks.append(Check("onnxruntime", INFO, "not installed: .onnx models cannot run (the .tflite ones do not "
                            "need it)", "pip install 'edgecnn[onnx]'"))
    else:
        checks.append(_broken("onnxruntime", ort, status, "pip install --force-reinstall onnxruntime"))
    return checks


def check_cameras(found: dict[str, ImportStatus] | None = None) -> list[Check]:
    """OpenCV and picamera2 imported for real (in a child): ok, not installed, or installed but broken (FAIL)."""
    found = found if found is not None else probe_all([m for _, m, _ in CAMERA_MODULES])
    checks = []
    devices = sorted(glob.glob("/dev/video*"), key=lambda d: (len(d), d))
    pi = is_pi()
    in_venv = sys.prefix != sys.base_prefix
    for name, module, install in CAMERA_MODULES:
        status = found[module]
        if name == "opencv":
            version = (version_of("opencv-python-headless") or version_of("opencv-python")
                       or version_of("opencv-contrib-python"))
            if status.state == "missing":
                checks.append(Check(name, WARN if devices else INFO, "not installed: no USB cameras, video files "
                                    "or streams", install))
            elif status.state == "ok":
                headless = " (headless build: no windows)" if version_of("opencv-python-headless") else ""
                checks.append(Check(name, OK, f"{version or status.detail or 'cv2'} imports{headless}"))
            else:
                checks.append(_broken(name, version or "cv2", status, "sudo apt install --reinstall python3-opencv"))
        else:
            version = version_of("picamera2")
            if status.state == "ok":
                checks.append(Check(name, OK, f"{version or ''} imports (Pi camera module)".strip()))
            elif status.state == "missing":
                fix = install + ("; recreate the venv with python3 -m venv --system-site-packages" if in_venv else "")
                checks.append(Check(name, WARN if pi else INFO, "not installed: the Pi camera module cannot be "
                                    "used (OpenCV cannot open it on the libcamera stack)", fix if pi else ""))
            else:
                checks.append(_broken(name, version, status, "sudo apt install --reinstall python3-picamera2"))
    checks.append(Check("video devices", OK if devices else INFO, ", ".join(devices) if devices else
                        "none (/dev/video*): no USB camera attached"))
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    checks.append(Check("display", INFO, f"{display}: edgecnn camera can show a window" if display else
                        "none: edgecnn camera runs headless (prints label, score, FPS)"))
    return checks


def check_threads() -> list[Check]:
    cores = os.cpu_count() or 1
    try:
        allowed = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        allowed = cores
    memory = ""
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            memory = f", {int(line.split()[1]) // 1024} MB memory"
    return [Check("cpu", OK, f"{cores} cores ({allowed} usable by this process){memory}; "
                  f"--threads N sets interpreter threads (default: the interpreter's own choice)")]


#: The fix for a model whose interpreter is not installed, per model kind (formats.model_kind).
INTERPRETER_FIXES = {
    TFLITE: ("pip install ai-edge-litert  (32-bit Raspberry Pi OS: pip install tflite-runtime==2.14.0 'numpy<2'); "
                "see 'tflite models' above"),
    ONNX: "pip install 'edgecnn[onnx]'",
}
#: What the runtime appends to its own errors; inside doctor it would send the user in a circle.
_SEE_DOCTOR = "; run edgecnn doctor"


def _interpreter_missing(kind: str) -> bool:
    """True when no interpreter for this kind of model imports (so the model itself is not to blame)."""
    from .backends import ONNX_BACKEND, TFLITE_BACKENDS

    modules = [m for _, m, _ in TFLITE_BACKENDS] if kind == TFLITE else [ONNX_BACKEND] if kind == ONNX else []
    return bool(modules) and all(s.state != "ok" for s in probe_all(modules).values())


def _model_kind(path: str) -> str | None:
    """formats.model_kind (the one suffix rule), or None for a file that is no model format at all."""
    from ..errors import ModelError

    try:
        return model_kind(path, keras_ok=True)
    except ModelError:
        return None


def check_model(path: str) -> list[Check]:
    """Load a model the way classify will; its one-line error and the fix that fits it if it fails."""
    from ..errors import EdgecnnError
    from .classifier import Classifier

    try:
        return [Check("model", OK, Classifier(path).describe())]
    except EdgecnnError as exc:
        detail = str(exc).replace(_SEE_DOCTOR, "")
        kind = _model_kind(path)
        if kind in INTERPRETER_FIXES and _interpreter_missing(kind):
            return [Check("model", FAIL, f"{detail} (the model was not checked)", INTERPRETER_FIXES[kind])]
        if kind == KERAS:
            return [Check("model", FAIL, detail, f"edgecnn convert {path}, then: edgecnn doctor --model "
                          f"{Path(path).with_name(ARTIFACT_FILES['int8'])}")]
        if not Path(path).exists():
            return [Check("model", FAIL, detail, "check the path")]
        return [Check("model", FAIL, detail, "copy the model file again; if it is still refused, convert it again "
                      "on the training machine (edgecnn convert MODEL.keras) and copy the new one")]


def run_checks(model: str | None = None) -> list[Check]:
    checks: list[Check] = []
    from .backends import ONNX_BACKEND, TFLITE_BACKENDS

    modules = [m for _, m, _ in TFLITE_BACKENDS] + [ONNX_BACKEND] + [m for _, m, _ in CAMERA_MODULES]
    found = probe_all(modules)  # all in parallel, each in its own child
    for group in (check_system, check_architecture, check_python, check_libraries,
                  lambda: check_interpreters(found), lambda: check_cameras(found), check_threads):
        try:
            checks.extend(group())
        except Exception as exc:  # a doctor must not die of what it examines
            checks.append(Check(getattr(group, "__name__", "check").replace("check_", ""), WARN,
                                f"check failed: {exc!r}"))
    if model:
        checks.extend(check_model(model))
    return checks


def format_checks(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = []
    for c in checks:
        lines.append(f"{c.status:4s}  {c.name:<{width}}  {c.detail}")
        if c.fix:
            lines.append(f"{'':4s}  {'':<{width}}  fix: {c.fix}")
    failed = sum(c.status == FAIL for c in checks)
    warned = sum(c.status == WARN for c in checks)
    lines.append(f"{failed} problem(s), {warned} warning(s)" if failed or warned else "all good")
    return "\n".join(lines)


def as_dicts(checks: list[Check]) -> list[dict]:
    return [asdict(c) for c in checks]
