"""`make pi-check`: edgecnn on an emulated Raspberry Pi (see docs/pi.md).

The full check builds (once) Debian roots with debootstrap (trixie and bookworm arm64,
bookworm armhf) and runs them under qemu-user-static: it needs root, those tools (it installs
them with apt-get), network to the Debian mirror and the package registry on its first run,
and minutes. Its parts that need no root are tested in tests/test_pi_check_parts.py.
So it is not part of the default `make test`: `PI_CHECK=1 make test` (or
`PI_CHECK=1 pytest -m pi`) runs it, and `make pi-check` runs it directly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "pi_check.sh"

pi_check_enabled = pytest.mark.skipif(
    os.environ.get("PI_CHECK") != "1",
    reason="the Raspberry Pi check (arm64 root under qemu: root, minutes, network on its first run) runs only "
           "with PI_CHECK=1; or run `make pi-check`",
)


def _run(args: list[str], env: dict[str, str] | None = None, timeout: float = 3600,
         user: int | None = None) -> subprocess.CompletedProcess:
    cmd = ["bash", str(SCRIPT), *args]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
    full_env = dict(os.environ, PYTHON=sys.executable)
    full_env.update(env or {})
    return subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=timeout)


def test_without_root_it_says_what_to_do():
    """Not root: exit 2, no traceback, and the exact command (plus any package to install)."""
    if os.geteuid() == 0:
        # As nobody, with the system's Python: the preflight needs only the standard library,
        # and a venv's Python may live where nobody cannot read (e.g. under /root/.pyenv).
        system_python = shutil.which("python3", path="/usr/bin:/bin")
        if shutil.which("setpriv") is None or system_python is None:
            pytest.skip("running as root, and setpriv (util-linux) or /usr/bin/python3 is missing to test as nobody")
        proc = _run([], env={"PYTHON": system_python}, user=65534, timeout=120)  # nobody
    else:
        proc = _run([], timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "must run as root" in proc.stderr and "sudo make pi-check" in proc.stderr
    assert "Traceback" not in proc.stderr
    missing = [t for t in ("debootstrap", "qemu-aarch64-static", "update-binfmts")
               if not (shutil.which(t) or any(Path(d, t).exists() for d in ("/usr/sbin", "/sbin", "/usr/bin")))]
    if missing:
        assert "apt-get install" in proc.stderr and all(t in proc.stderr for t in missing)



@pytest.mark.pi
@pytest.mark.slow
@pi_check_enabled
def test_unreachable_registry_is_a_clear_error(tmp_path: Path):
    """A root that is not built yet and a package registry that cannot be reached: exit 2 before any work."""
    proc = _run(["--quick"], env={"EDGECNN_PI_ROOTS": str(tmp_path / "roots"),
                                  "PIP_INDEX_URL": "http://127.0.0.1:9/simple"}, timeout=600)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "cannot reach the package registry at http://127.0.0.1:9/simple" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "roots" / "trixie-arm64").exists()


@pytest.mark.pi
@pytest.mark.slow
@pi_check_enabled
def test_pi_gives_the_desktop_answers():
    """The whole check: every root and install, every emulated board, labels equal to the desktop runtime's."""
    proc = _run([])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert "pi-check: PASS" in proc.stdout
    for tag in ("trixie-arm64:litert@pi4", "bookworm-arm64:litert@pi5", "bookworm-arm64:tflite214@pi3",
                "bookworm-armhf:tflite214@pi2"):
        assert tag in proc.stdout
    assert "| trixie-arm64 | tflite214 | no tflite-runtime==2.14.0 wheel for Python 3.13" in proc.stdout
    assert "EMULATED by qemu-user, NOT a Raspberry Pi's speed" in proc.stdout
    assert "no TensorFlow" in proc.stdout
