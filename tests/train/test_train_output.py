"""`edgecnn train`'s output: whole or not at all, no folder left by a failed run, and signals.

The disk is a real full tmpfs; the signals are real SIGINT/SIGTERM sent to a real
`python -m edgecnn` process (issue 13, items 3 and 10).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgecnn.cli import main
from edgecnn.fsutil import STAGING_PREFIX
from tests.mounts import fill, snapshot, tmpfs

pytestmark = pytest.mark.slow

TINY = ["--dataset", "synthetic", "--epochs", "1", "--limit", "200", "--batch-size", "32"]


def test_disk_full_keeps_the_previous_run(trained_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with tmpfs(tmp_path / "disk", 4096) as disk:
        out = disk / "run"
        shutil.copytree(trained_dir, out)
        before = snapshot(out)
        fill(disk, leave_kb=300)  # less than model.keras
        rc = main(["train", *TINY, "--out", str(out)])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and len(err.splitlines()) == 1, err
        assert "model.keras" in err and "no space left on device" in err
        assert snapshot(out) == before
        assert not [p for p in out.iterdir() if p.name.startswith(STAGING_PREFIX)]


def test_failed_run_leaves_no_folder_it_created(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc = main(["train", "--dataset", "nope", "--out", str(tmp_path / "new" / "run")])
    assert rc == 2 and "unknown dataset" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def start_train(out: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "edgecnn", "train", *TINY, "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def signal_after(proc: subprocess.Popen, prefix: str, signum: int, delay: float = 0.0) -> tuple[int, str]:
    """Send SIGNUM DELAY seconds after a stdout line starts with PREFIX; (exit code, stderr)."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(prefix):
            time.sleep(delay)
            proc.send_signal(signum)
            break
    else:
        pytest.fail(f"no line starting with {prefix!r}")
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the signal did not end the run")
    return proc.returncode, err


def test_signal_after_wrote_keeps_exit_0(tmp_path: Path) -> None:
    """The run is finished once "wrote" is printed: at once (still in the command) or a little later
    (TensorFlow's teardown takes about a second), a signal must not change its exit code."""
    for signum, delay in ((signal.SIGINT, 0.0), (signal.SIGTERM, 0.3)):
        out = tmp_path / signal.Signals(signum).name
        rc, err = signal_after(start_train(out), "wrote ", signum, delay)
        assert rc == 0, err
        assert sorted(p.name for p in out.iterdir()) == ["labels.txt", "model.keras", "train.json"]


def test_sigterm_while_training_is_exit_143_and_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = start_train(out)
    rc, err = signal_after(proc, "recipe ", signal.SIGTERM)
    assert rc == 143, err
    assert err.strip().splitlines()[-1] == "edgecnn: interrupted" and "Traceback" not in err
    assert not out.exists()
