"""Building, caching and entering the Debian roots (debootstrap, chroot, qemu-user via binfmt).

A root is built into `<name>.partial` and renamed into place only after debootstrap has
finished and its stamp is written, so a build that was interrupted (Ctrl-C, a kill, a
full disk) is never reused: the next run finds no stamp, deletes the leftovers and builds
again. While a program runs inside, /proc and /sys are mounted and /proc/cpuinfo shows the
emulated Pi's own text; they are unmounted after, whatever happens.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator

from .host import find_tool
from .shell import Fail, run, say
from .targets import Board, Root

ROOT_STAMP = "etc/edgecnn-pi-root.json"
CPUINFO = "etc/edgecnn-pi-cpuinfo"
#: What a chroot'ed command gets from the host's environment: only what pip needs to reach the registry.
PASS_ENV = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "PIP_CERT", "PIP_DEFAULT_TIMEOUT",
            "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


def mounts_under(path: Path) -> list[Path]:
    """Mount points at or below path, deepest first."""
    prefix = str(path.resolve())
    points = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            mp = line.split()[4].replace("\\040", " ")
            if mp == prefix or mp.startswith(prefix + "/"):
                points.append(Path(mp))
    return sorted(set(points), key=lambda p: len(p.parts), reverse=True)


def unmount_all(path: Path) -> None:
    for mp in mounts_under(path):
        if subprocess.run(["umount", str(mp)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mp)], capture_output=True)


def safe_rmtree(path: Path) -> None:
    """Delete a tree after unmounting whatever is mounted in it (never deletes through a mount)."""
    if not path.exists():
        return
    unmount_all(path)
    if mounts_under(path):
        raise Fail(f"refusing to delete {path}: still has mounts {mounts_under(path)}")
    shutil.rmtree(path)


def stamp_for(root: Root, mirror: str) -> dict:
    """What a finished root records about itself; a root whose recipe differs is rebuilt."""
    return {"suite": root.suite, "arch": root.arch, "packages": list(root.packages), "mirror": mirror}


def debootstrap_command(root: Root, target: Path, mirror: str) -> list[str]:
    return [find_tool("debootstrap") or "debootstrap", f"--arch={root.arch}", "--variant=minbase",
            f"--include={','.join(root.packages)}", root.suite, str(target), mirror]


def root_is_current(path: Path, root: Root, mirror: str) -> bool:
    try:
        data = json.loads((path / ROOT_STAMP).read_text())
    except (OSError, ValueError):
        return False
    want = stamp_for(root, mirror)
    return all(data.get(k) == v for k, v in want.items() if k != "mirror")


def finish_root(partial: Path, final: Path, root: Root, mirror: str, seconds: float) -> None:
    """Write the stamp into a completed build and move it into place (the only way a root appears)."""
    stamp = dict(stamp_for(root, mirror), built=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                 seconds=round(seconds, 1))
    (partial / ROOT_STAMP).write_text(json.dumps(stamp, indent=2) + "\n")
    partial.rename(final)


def ensure_root(path: Path, root: Root, mirror: str, log: Path) -> float | None:
    """Build `root` at `path` unless a finished one of the same recipe is there. Returns seconds spent, or None."""
    if root_is_current(path, root, mirror):
        return None
    if path.exists():
        say(f"[{root.name}] {path} is incomplete or of another recipe: rebuilding it")
        safe_rmtree(path)
    partial = path.with_name(path.name + ".partial")
    safe_rmtree(partial)  # left by an interrupted build: never reused
    partial.parent.mkdir(parents=True, exist_ok=True)
    say(f"[{root.name}] building {root.title} with debootstrap from {mirror} (once; minutes) -> {path}")
    t = time.monotonic()
    try:
        run(debootstrap_command(root, partial, mirror), log=log)
    finally:
        unmount_all(partial)  # debootstrap mounts /proc and /sys in the target while it works
    finish_root(partial, path, root, mirror, time.monotonic() - t)
    seconds = time.monotonic() - t
    say(f"[{root.name}] built in {seconds:.0f}s ({du(path)})")
    return seconds


def du(path: Path) -> str:
    proc = subprocess.run(["du", "-sh", "--one-file-system", str(path)], capture_output=True, text=True)
    return proc.stdout.split()[0] if proc.returncode == 0 and proc.stdout else "?"


def prepare_root_files(path: Path, root: Root, binfmt: dict[str, dict[str, str]]) -> None:
    """Name resolution, CA certificates and pip.conf as the host has them; qemu inside when binfmt lacks F."""
    for src in ("/etc/resolv.conf", "/etc/hosts", "/etc/pip.conf", "/etc/ssl/certs/ca-certificates.crt"):
        if Path(src).is_file():
            with contextlib.suppress(OSError):
                dst = path / src.lstrip("/")
                dst.parent.mkdir(parents=True, exist_ok=True)
                if dst.is_symlink():
                    dst.unlink()
                shutil.copyfile(src, dst)
    entry = binfmt.get(root.qemu)
    if entry and "F" not in entry.get("flags", "").replace("flags:", ""):
        interp = entry.get("interpreter", "")
        dst = path / interp.lstrip("/")
        if interp and not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(find_tool(f"{root.qemu}-static") or f"/usr/bin/{root.qemu}-static", dst)


def host_cpus() -> int:
    """CPUs the kernel reports in /sys (what the emulated program counts too)."""
    try:
        text = Path("/sys/devices/system/cpu/possible").read_text().strip()
        return sum(int(b) - int(a) + 1 for a, _, b in (r.partition("-") if "-" in r else (r, "-", r)
                                                      for r in text.split(",")))
    except (OSError, ValueError):
        return os.cpu_count() or 1


@contextlib.contextmanager
def mounted(path: Path, board: Board, log: Path) -> Iterator[None]:
    """/proc and /sys inside the root, and the Pi's /proc/cpuinfo over the host's, for the block; unmounted after."""
    done: list[Path] = []
    try:
        for fstype, sub in (("proc", "proc"), ("sysfs", "sys")):
            target = path / sub
            target.mkdir(exist_ok=True)
            if subprocess.run(["mount", "-t", fstype, fstype, str(target)], capture_output=True).returncode != 0:
                run(["mount", "--bind", "-o", "ro", f"/{sub}", str(target)], log=log)  # e.g. sysfs in a container
            done.append(target)
        if board.qemu_cpu:
            fake = path / CPUINFO
            fake.write_text(board.cpuinfo(host_cpus()))
            run(["mount", "--bind", "-o", "ro", str(fake), str(path / "proc" / "cpuinfo")], log=log)
            done.append(path / "proc" / "cpuinfo")
        yield
    finally:
        for target in reversed(done):
            if subprocess.run(["umount", str(target)], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", str(target)], capture_output=True)


def chroot_env(board: Board) -> dict[str, str]:
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1",
           "PIP_PROGRESS_BAR": "off", "PIP_ROOT_USER_ACTION": "ignore", "PYTHONDONTWRITEBYTECODE": "1"}
    env.update({k: os.environ[k] for k in PASS_ENV if os.environ.get(k)})
    env.setdefault("PIP_DEFAULT_TIMEOUT", "120")
    if board.qemu_cpu:
        env["QEMU_CPU"] = board.qemu_cpu  # read by qemu-user, which the kernel's binfmt handler starts
    return env


def in_root(path: Path, argv: list[str], board: Board, *, cwd: str = "/", log: Path | None = None,
            check: bool = True, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run argv inside the root as `board` (the caller holds `mounted` for that board). Raises Fail when check."""
    shell = f"cd {shlex.quote(cwd)} && exec {shlex.join(argv)}"
    cmd = ["chroot", str(path), "/bin/sh", "-c", shell]
    if log is not None:
        return run(cmd, log=log, check=check, env=chroot_env(board), timeout=timeout)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=chroot_env(board), timeout=timeout)
    if check and proc.returncode != 0:
        raise Fail(f"inside the root, failed (exit {proc.returncode}): {shlex.join(argv)}\n"
                   f"{(proc.stdout + proc.stderr).rstrip()[-4000:]}")
    return proc
