"""Importing optional modules (interpreters, OpenCV, picamera2) and saying truthfully why one is unusable.

"Not installed" and "installed but fails to import" need different fixes, and the second
is the common one on a Raspberry Pi: apt's OpenCV, picamera2 and simplejpeg are built
against the system numpy (1.24 on Debian bookworm, 2.x on trixie), and a venv made with
`--system-site-packages` that gets another major numpy from pip cannot load them. Their
own messages ("numpy.core.multiarray failed to import", "numpy.dtype size changed") do
not say that, so `require` explains it: which numpy the venv imports, which the module was
built for, and the fix.

`probe` does the same import in a child process, so that a module that crashes the
interpreter (a segfault in a wheel built for another CPU) or hangs cannot take the caller
(`edgecnn doctor`) down with it.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from types import ModuleType

from ..errors import EdgecnnError, one_line

#: Seconds a child process gets to import one module (TensorFlow alone takes a few on a desktop).
PROBE_TIMEOUT_S = 60.0

#: Words in an import error that mean "built against another numpy" (numpy 2 running a module
#: built for 1.x, or the reverse; cv2 hides numpy's own message behind the first one).
NUMPY_ABI_SIGNS = (
    "compiled using numpy 1.x", "_array_api not found", "numpy.core.multiarray failed to import",
    "numpy.core._multiarray_umath", "numpy._core.multiarray failed to import", "numpy.dtype size changed",
    "numpy.ndarray size changed", "binary incompatibility",
)


class ModuleMissing(EdgecnnError):
    """The module is not installed (not found on sys.path); exit status 2."""


class ModuleBroken(EdgecnnError):
    """The module is installed but raises when imported; the message names the reason and the fix; exit 2."""


@dataclass(frozen=True)
class ImportStatus:
    """What importing one module gave: ok, missing, or broken with a reason (and a fix when one is known)."""

    module: str
    state: str  # "ok", "missing" or "broken"
    detail: str = ""  # the version when ok; the one-line reason when broken
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def find(module: str) -> bool:
    """Whether `module`'s top-level package is installed. Never imports anything.

    (find_spec of a dotted name would import its parent package: TensorFlow for "tensorflow.lite".)
    """
    try:
        return importlib.util.find_spec(module.split(".")[0]) is not None
    except (ImportError, ValueError):
        return False


def _numpy_beside(origin: str | None) -> str | None:
    """The numpy version installed in the same site directory as `origin` (what the module was built for)."""
    if not origin:
        return None
    here = Path(origin).resolve()
    for folder in here.parents:
        if folder.name in ("site-packages", "dist-packages"):
            for dist in metadata.distributions(path=[str(folder)]):
                if (dist.metadata["Name"] or "").lower() == "numpy":
                    return dist.version
            return None
    return None


def _numpy_in_use() -> tuple[str | None, str | None]:
    """(version, folder) of the numpy this interpreter imports first, without importing it."""
    spec = importlib.util.find_spec("numpy")
    if spec is None or not spec.origin:
        return None, None
    folder = str(Path(spec.origin).resolve().parent.parent)
    for dist in metadata.distributions(path=[folder]):
        if (dist.metadata["Name"] or "").lower() == "numpy":
            return dist.version, folder
    return None, folder


def numpy_abi_explanation(module: str, origin: str | None, reason: str) -> tuple[str, str] | None:
    """(explanation, fix) when `reason` is a numpy ABI mismatch, else None.

    The module's numpy is the one installed next to it (apt's for a module under
    /usr/lib/python3/dist-packages); the venv's is the one `import numpy` finds first.
    """
    if not any(sign in reason.lower() for sign in NUMPY_ABI_SIGNS):
        return None
    built_for = _numpy_beside(origin)
    in_use, folder = _numpy_in_use()
    where = f" from {folder}" if folder else ""
    text = (f"built against another numpy: this Python imports numpy {in_use or '?'}{where}, "
            f"{module} was built for numpy {built_for or '?'} (the one installed beside it)")
    if built_for and in_use and built_for.split(".")[0] != in_use.split(".")[0]:
        if built_for.startswith("1."):
            fix = (f"pip install 'numpy<2' in this venv (the system's {module} needs numpy 1.x; the [pi] extra "
                   "pins it on Debian bookworm), or use Raspberry Pi OS trixie, whose apt modules use numpy 2")
        else:
            fix = (f"pip uninstall numpy in this venv, so that the system's numpy {built_for} (the one {module} "
                   "was built for) is imported")
    else:
        fix = f"reinstall {module} so it matches numpy {in_use or ''}".rstrip()
    return text, fix


def diagnose(module: str, exc: BaseException) -> ImportStatus:
    """The ImportStatus for an exception raised while importing an installed `module`."""
    reason = one_line(exc, 300, typed=True)
    origin = None
    try:
        spec = importlib.util.find_spec(module.split(".")[0])
        origin = spec.origin if spec else None
    except (ImportError, ValueError):
        pass
    abi = numpy_abi_explanation(module, origin, reason)
    if abi is not None:
        return ImportStatus(module, "broken", f"{abi[0]} ({reason})", abi[1])
    return ImportStatus(module, "broken", reason, "")


def try_import(module: str) -> tuple[ImportStatus, ModuleType | None]:
    """Import `module` here: (status, module or None). Never raises for an import failure."""
    if not find(module):
        return ImportStatus(module, "missing"), None
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # ImportError, or numpy ABI trouble (ValueError, AttributeError, RuntimeError)
        return diagnose(module, exc), None
    top = module.split(".")[0]
    version = getattr(sys.modules.get(top), "__version__", "") or ""
    return ImportStatus(module, "ok", str(version)), mod


def require(module: str, install_hint: str) -> ModuleType:
    """Import `module`, or raise an error that tells "not installed" from "installed but broken".

    Args:
      module: the dotted module name ("cv2", "picamera2").
      install_hint: what installs it ("pip install 'edgecnn[camera]' (or sudo apt install python3-opencv)").

    Raises:
      ModuleMissing: it is not installed; the message is "<module> is not installed: <install_hint>".
      ModuleBroken: it is installed but fails to import; the message is "<module> is installed but fails
        to import: <reason>" with, for a numpy ABI mismatch, both numpy versions and the fix.
    """
    status, mod = try_import(module)
    if mod is not None:
        return mod
    if status.state == "missing":
        raise ModuleMissing(f"{module} is not installed: {install_hint}")
    fix = f"; fix: {status.fix}" if status.fix else ""
    raise ModuleBroken(f"{module} is installed but fails to import: {status.detail}{fix}")


# The child: imports one module and prints its ImportStatus as JSON on the last line.
_CHILD = ("import json, sys\n"
          "sys.path.append(sys.argv[2])\n"
          "from edgecnn.runtime.imports import try_import\n"
          "print(json.dumps(try_import(sys.argv[1])[0].as_dict()), flush=True)\n")


def probe(module: str, timeout: float = PROBE_TIMEOUT_S, python: str | None = None) -> ImportStatus:
    """Import `module` in a child Python (this one by default); its status, whatever happens to the child.

    A crash (a signal), a hang past `timeout` seconds, or a child that prints no answer is
    reported as "broken" with what happened; nothing is raised for them.
    """
    if not find(module) and python is None:
        return ImportStatus(module, "missing")
    try:
        proc = subprocess.run([python or sys.executable, "-c", _CHILD, module, _package_root()], capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return ImportStatus(module, "broken", f"importing it did not finish within {timeout:g} s (it hangs)")
    lines = proc.stdout.strip().splitlines()
    if proc.returncode == 0 and lines:
        try:
            return ImportStatus(**json.loads(lines[-1]))
        except (ValueError, TypeError):
            pass
    return ImportStatus(module, "broken", _death(proc))


def _death(proc: subprocess.CompletedProcess) -> str:
    """Why a probe child gave no answer: the signal that killed it, or its exit status and last stderr line."""
    tail = " ".join((proc.stderr.strip().splitlines() or [""])[-1].split())[:200]
    if proc.returncode < 0:
        try:
            name = signal.Signals(-proc.returncode).name
        except ValueError:
            name = f"signal {-proc.returncode}"
        return f"importing it crashed Python ({name})" + (f": {tail}" if tail else "")
    return f"the import check exited with status {proc.returncode}" + (f": {tail}" if tail else "")


def _package_root() -> str:
    """The folder that holds this `edgecnn` package: the child falls back to it (appended, never shadowing)."""
    return str(Path(__file__).resolve().parent.parent.parent)
