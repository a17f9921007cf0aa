"""Run `python -m edgecnn` on a pseudo-terminal or piped: what a user sees on a terminal, for the progress tests."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path


def run_on_terminal(args: list[str], terminal: str, tmp_path: Path, timeout: float = 300) -> tuple[int, str, str]:
    """Run `python -m edgecnn ARGS` with `terminal` ("stdout" or "stderr") on a pty 100 columns wide.

    Returns (exit code, what the terminal showed, what the other stream wrote to its file).
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    other_path = tmp_path / f"other-{len(list(tmp_path.iterdir()))}.txt"
    with open(other_path, "wb") as other:
        streams = {"stdout": slave, "stderr": other} if terminal == "stdout" else {"stdout": other, "stderr": slave}
        proc = subprocess.Popen([sys.executable, "-m", "edgecnn", *args], stdin=subprocess.DEVNULL, **streams)
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(master)
        code = proc.wait(timeout=timeout)
    return code, b"".join(chunks).decode(errors="replace"), other_path.read_text(errors="replace")


def run_piped(args: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edgecnn", *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
