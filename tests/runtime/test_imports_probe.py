"""runtime/imports.py: "not installed" vs "installed but fails to import", the numpy ABI case, and the child probe.

The broken modules are fakes on a temporary path (a cv2 that fails the way apt's OpenCV
fails under a numpy it was not built for, one that crashes Python, one that hangs); the
numpy they were "built for" is a numpy dist-info beside them, as apt's numpy sits beside
apt's cv2 in /usr/lib/python3/dist-packages. Nothing here needs OpenCV or a network.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy
import pytest

from edgecnn.runtime import imports
from edgecnn.runtime.imports import ModuleBroken, ModuleMissing, probe, require

# What apt's cv2 (built for numpy 1.x) raises under numpy 2: numpy prints its long message on
# stderr, then cv2's import_array() replaces the exception with this one.
CV2_UNDER_NUMPY2 = 'raise ImportError("numpy.core.multiarray failed to import")\n'
# What a module built for numpy 2 raises under numpy 1.x (picamera2 issue 1211's simplejpeg).
SIMPLEJPEG_UNDER_NUMPY1 = ('raise ValueError("numpy.dtype size changed, may indicate binary incompatibility. '
                           'Expected 96 from C header, got 88 from PyObject")\n')


def fake_site(tmp_path: Path, module: str, body: str, numpy_version: str | None = "1.24.2") -> Path:
    """A dist-packages folder holding `module` (whose import runs `body`) and, beside it, a numpy dist-info."""
    site = tmp_path / "dist-packages"
    (site / module).mkdir(parents=True)
    (site / module / "__init__.py").write_text(body)
    if numpy_version:
        info = site / f"numpy-{numpy_version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: numpy\nVersion: {numpy_version}\n")
    return site


@pytest.fixture
def on_path(monkeypatch: pytest.MonkeyPatch):
    """Put a fake site folder first on sys.path (and the child's PYTHONPATH); forget the module after."""
    def put(site: Path, module: str) -> None:
        monkeypatch.syspath_prepend(str(site))
        monkeypatch.setenv("PYTHONPATH", str(site))
        monkeypatch.delitem(sys.modules, module, raising=False)
    return put


def test_numpy_abi_failure_names_both_numpys_and_the_fix(tmp_path, on_path):
    on_path(fake_site(tmp_path, "cv2", CV2_UNDER_NUMPY2, "1.24.2"), "cv2")
    with pytest.raises(ModuleBroken) as err:
        require("cv2", "pip install 'edgecnn[camera]'")
    message = str(err.value)
    venv_numpy = numpy.__version__  # the one imported (the fake dist-info beside cv2 is not a numpy)
    assert message.startswith("cv2 is installed but fails to import: built against another numpy")
    assert f"this Python imports numpy {venv_numpy}" in message
    assert "cv2 was built for numpy 1.24.2" in message
    assert "numpy.core.multiarray failed to import" in message  # the module's own words are kept
    if venv_numpy.startswith("2."):
        assert "fix: pip install 'numpy<2'" in message
    assert "\n" not in message and err.value.exit_code == 2


def test_module_built_for_numpy2_under_numpy1_says_uninstall(tmp_path, on_path, monkeypatch):
    on_path(fake_site(tmp_path, "simplejpeg", SIMPLEJPEG_UNDER_NUMPY1, "2.2.4"), "simplejpeg")
    monkeypatch.setattr(imports, "_numpy_in_use", lambda: ("1.26.4", "/venv/lib/python3.13/site-packages"))
    with pytest.raises(ModuleBroken) as err:
        require("simplejpeg", "sudo apt install python3-simplejpeg")
    message = str(err.value)
    assert "imports numpy 1.26.4 from /venv/lib/python3.13/site-packages" in message
    assert "simplejpeg was built for numpy 2.2.4" in message
    assert "fix: pip uninstall numpy in this venv" in message


def test_other_import_errors_keep_their_own_reason(tmp_path, on_path):
    on_path(fake_site(tmp_path, "picamera2", 'raise ImportError("libcamera.so.0.3: cannot open shared object")\n'),
            "picamera2")
    with pytest.raises(ModuleBroken) as err:
        require("picamera2", "sudo apt install python3-picamera2")
    assert str(err.value) == ("picamera2 is installed but fails to import: ImportError: libcamera.so.0.3: "
                              "cannot open shared object")


def test_not_installed_is_a_different_error():
    with pytest.raises(ModuleMissing) as err:
        require("edgecnn_no_such_module", "pip install it")
    assert str(err.value) == "edgecnn_no_such_module is not installed: pip install it"
    assert not isinstance(err.value, ModuleBroken)


def test_a_module_that_imports_is_returned(tmp_path, on_path):
    on_path(fake_site(tmp_path, "fine_mod", '__version__ = "1.2.3"\n'), "fine_mod")
    assert require("fine_mod", "-").__version__ == "1.2.3"
    assert probe("fine_mod").as_dict() == {"module": "fine_mod", "state": "ok", "detail": "1.2.3", "fix": ""}


def test_probe_reports_the_abi_failure_from_the_child(tmp_path, on_path):
    on_path(fake_site(tmp_path, "cv2", CV2_UNDER_NUMPY2, "1.24.2"), "cv2")
    status = probe("cv2")
    assert status.state == "broken"
    assert "cv2 was built for numpy 1.24.2" in status.detail and "numpy.core.multiarray" in status.detail
    assert "cv2" not in sys.modules  # the parent never imported it


def test_probe_survives_a_crash(tmp_path, on_path):
    on_path(fake_site(tmp_path, "crashy", "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n"), "crashy")
    status = probe("crashy")
    assert status.state == "broken" and status.detail.startswith("importing it crashed Python (SIGSEGV)")


def test_probe_gives_up_on_a_hang(tmp_path, on_path):
    on_path(fake_site(tmp_path, "hangs", "import time\ntime.sleep(60)\n"), "hangs")
    status = probe("hangs", timeout=3)
    assert status.state == "broken" and status.detail == "importing it did not finish within 3 s (it hangs)"


def test_probe_of_a_missing_module():
    assert probe("edgecnn_no_such_module").state == "missing"
