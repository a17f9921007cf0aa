"""Commands, the one error type and the progress output of pi-check.

Progress: on a terminal, a bar counts the steps (edgecnn.progress, tqdm) and every line
goes above it; anywhere else (a pipe, a log, CI) the same lines are printed plainly and
no bar is drawn.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent.parent
T0 = time.monotonic()
_bar: Any | None = None


class Fail(Exception):
    """A step failed: the message for the user and the exit status (1 a failed check, 2 fix something first)."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def say(msg: str) -> None:
    """One progress line, with the seconds since start; above the bar when one is shown."""
    line = f"[pi-check {time.monotonic() - T0:6.1f}s] {msg}"
    if _bar is None:  # also where edgecnn is not importable (the preflight runs on any python3)
        print(line, flush=True)
        return
    from edgecnn.progress import write_line

    write_line(line, sys.stdout, _bar)


class Steps:
    """The step counter: a bar on a terminal (`with Steps(n):` ... `Steps.done()`), nothing elsewhere."""

    def __init__(self, total: int) -> None:
        self.total = total

    def __enter__(self) -> Steps:
        global _bar
        from edgecnn.progress import progress_bar

        _bar = progress_bar(self.total, "pi-check", unit="step")
        return self

    def __exit__(self, *exc: object) -> None:
        global _bar
        if _bar is not None:
            _bar.close()
        _bar = None

    @staticmethod
    def done(n: int = 1) -> None:
        if _bar is not None:
            _bar.update(n)


def run(cmd: list[str], *, log: Path | None = None, check: bool = True, env: dict | None = None,
        cwd: Path | None = None, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run a command; its output goes to `log` (appended) or is captured. Raise Fail on a non-zero exit."""
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as fh:
            fh.write(f"\n$ {shlex.join(cmd)}\n")
            fh.flush()
            proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd,
                                  timeout=timeout)
        out = ""
    else:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd,
                              timeout=timeout)
        out = proc.stdout
    if check and proc.returncode != 0:
        tail = out if log is None else "".join(log.read_text(errors="replace").splitlines(True)[-25:])
        raise Fail(f"command failed (exit {proc.returncode}): {shlex.join(cmd)}\n{tail.rstrip()}"
                   + (f"\n(full log: {log})" if log else ""))
    return subprocess.CompletedProcess(cmd, proc.returncode, out, "")
