#!/usr/bin/env python3
"""Will it run on a Raspberry Pi? Prove it on this machine, under qemu.

What it does, in order (`make pi-check` runs it; see docs/pi.md):

1. preflight: root, debootstrap, qemu-user-static and binfmt-support (installed with
   apt-get when root and missing), the qemu-aarch64 binfmt handler enabled;
2. an arm64 Debian bookworm root (Raspberry Pi OS is built on bookworm), built once
   with debootstrap and cached (`.cache/pi-root`, or $EDGECNN_PI_ROOT);
3. two virtual environments inside it, as a Pi user would make them, cached too:
   `litert`  `pip install "edgecnn-*.whl[pi]"`  (ai-edge-litert, numpy, Pillow),
   `tflite214` `pip install tflite-runtime==2.14.0 "numpy<2" edgecnn-*.whl`
   (the fallback for older Pis); neither may contain TensorFlow;
4. an int8 model: $PI_MODEL / --model, else a small one trained on the synthetic set
   with `edgecnn train` + `edgecnn convert --int8` here on the host (cached by source);
5. sample images (synthetic items, PNG and JPEG), the model and
   examples/pi_classify.py copied into /home/pi/edgecnn inside the root, as README
   tells a user to; pi_classify.py run there with each environment (chroot, with
   /proc and /sys mounted for the run and unmounted after, even on failure);
6. the desktop runtime (this host's .venv) on the same images; the labels must be
   equal image by image. Per-image latency inside the emulated Pi is printed, and
   labelled for what it is: qemu emulation of an aarch64 CPU, not a Pi's speed.

Exit status: 0 all equal; 1 a mismatch or a failed step; 2 something to install or
fix first (not root, a missing tool, no network to the package registry).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SUITE = "bookworm"
ARCH = "arm64"
APT_PACKAGES = ("qemu-user-static", "debootstrap", "binfmt-support")
INCLUDE = "python3,python3-venv,python3-pip,ca-certificates"
ROOT_STAMP = "etc/edgecnn-pi-root.json"
PI_HOME = "/home/pi"  # where the user's files go inside the root
APP_DIR = f"{PI_HOME}/edgecnn"
SAMPLE_SEED = 20240601
VENV_FLAGS = ["--system-site-packages"]  # as examples/pi_classify.py tells a user (picamera2 comes from apt)
# The env a chroot'ed command gets: nothing of the host's but what pip needs to reach the registry.
PASS_ENV = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "PIP_CERT", "PIP_DEFAULT_TIMEOUT",
            "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


class Fail(Exception):
    """A step failed; message for the user, exit code."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


@dataclass
class Runtime:
    """One virtual environment inside the root: a way a Pi user installs edgecnn."""

    name: str
    title: str
    # pip arguments; {wheel} is the edgecnn wheel's path inside the root
    install: list[str]
    # module that must import, and the distribution whose version is reported
    interpreter_module: str
    interpreter_dist: str
    venv: str = field(init=False)

    def __post_init__(self) -> None:
        self.venv = f"{PI_HOME}/edgecnn-venv" if self.name == "litert" else f"{PI_HOME}/edgecnn-venv-{self.name}"


RUNTIMES = {
    "litert": Runtime("litert", "ai-edge-litert (pip install edgecnn[pi])",
                      ["{wheel}[pi]"], "ai_edge_litert.interpreter", "ai-edge-litert"),
    "tflite214": Runtime("tflite214", "tflite-runtime 2.14, numpy<2 (older Pis)",
                         ["tflite-runtime==2.14.0", "numpy<2", "{wheel}"], "tflite_runtime.interpreter",
                         "tflite-runtime"),
}


# --------------------------------------------------------------------------- output


T0 = time.monotonic()


def say(msg: str) -> None:
    print(f"[pi-check {time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def run(cmd: list[str], *, log: Path | None = None, check: bool = True, env: dict | None = None,
        input_text: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run a command; its output goes to `log` (appended) or is captured. Raise Fail on error."""
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as fh:
            fh.write(f"\n$ {shlex.join(cmd)}\n")
            fh.flush()
            proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, text=True, env=env,
                                  input=input_text, cwd=cwd)
        out = ""
    else:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                              input=input_text, cwd=cwd)
        out = proc.stdout
    if check and proc.returncode != 0:
        tail = out if log is None else "".join(log.read_text(errors="replace").splitlines(True)[-25:])
        raise Fail(f"command failed (exit {proc.returncode}): {shlex.join(cmd)}\n{tail.rstrip()}"
                   + (f"\n(full log: {log})" if log else ""))
    return subprocess.CompletedProcess(cmd, proc.returncode, out, "")


# --------------------------------------------------------------------------- preflight


def find_tool(name: str) -> str | None:
    return shutil.which(name) or next(
        (str(p) for d in ("/usr/sbin", "/sbin", "/usr/bin", "/bin") if (p := Path(d) / name).is_file()), None)


def missing_tools(native: bool) -> list[tuple[str, str]]:
    """(tool, Debian package) pairs that are not installed."""
    need = [("debootstrap", "debootstrap"), ("chroot", "coreutils"), ("mount", "mount")]
    if not native:
        need += [("qemu-aarch64-static", "qemu-user-static"), ("update-binfmts", "binfmt-support")]
    return [(tool, pkg) for tool, pkg in need if find_tool(tool) is None]


def preflight(native: bool, log: Path) -> None:
    is_root = os.geteuid() == 0
    missing = missing_tools(native)
    if not is_root:
        lines = ["pi-check must run as root: it builds a Debian root with debootstrap, and enters it with "
                 "chroot and mount. Run: sudo make pi-check"]
        if missing:
            pkgs = sorted({pkg for _, pkg in missing})
            lines.append(f"missing: {', '.join(t for t, _ in missing)}; install them with: "
                         f"sudo apt-get install {' '.join(pkgs)}")
        else:
            lines.append("tools present: debootstrap, qemu-user-static, binfmt-support")
        raise Fail("\n".join(lines), 2)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"pi-check log, {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
    if missing:
        pkgs = sorted({pkg for _, pkg in missing} | (set(APT_PACKAGES) if not native else {"debootstrap"}))
        say(f"installing {' '.join(pkgs)} with apt-get (missing: {', '.join(t for t, _ in missing)})")
        if not find_tool("apt-get"):
            raise Fail(f"missing {', '.join(t for t, _ in missing)} and no apt-get here: install "
                       f"{' '.join(pkgs)} with this system's package manager", 2)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        apt = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "-o", "Acquire::Retries=2"]
        try:
            run(apt + ["update", "-q"], log=log, env=env)
            run(apt + ["install", "-y", "-q", "--no-install-recommends", *pkgs], log=log, env=env)
        except Fail as exc:
            raise Fail(f"could not install {' '.join(pkgs)} with apt-get (network to the Debian mirror?). "
                       f"Install them by hand: apt-get install {' '.join(APT_PACKAGES)}\n{exc}", 2) from None
        still = missing_tools(native)
        if still:
            raise Fail(f"still missing after apt-get: {', '.join(t for t, _ in still)}", 2)


BINFMT = Path("/proc/sys/fs/binfmt_misc")


def binfmt_entry() -> dict[str, str] | None:
    p = BINFMT / "qemu-aarch64"
    if not p.exists():
        return None
    info: dict[str, str] = {}
    for line in p.read_text().splitlines():
        key, _, value = line.partition(" ")
        info[key] = value or key
    return info


def ensure_binfmt(log: Path) -> dict[str, str]:
    """The kernel must hand aarch64 binaries to qemu. Returns the qemu-aarch64 entry."""
    if not (BINFMT / "register").exists():
        say("mounting binfmt_misc")
        try:
            run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], log=log)
        except Fail as exc:
            raise Fail(f"cannot mount binfmt_misc at {BINFMT} (a container without privileges?): "
                       f"qemu cannot be registered for aarch64 binaries here.\n{exc}", 2) from None
    entry = binfmt_entry()
    if entry is None or "enabled" not in entry:
        say("registering qemu-aarch64 with binfmt_misc (update-binfmts)")
        run([find_tool("update-binfmts") or "update-binfmts", "--enable", "qemu-aarch64"], log=log, check=False)
        entry = binfmt_entry()
    if entry is None or "enabled" not in entry:
        raise Fail("qemu-aarch64 is not registered with binfmt_misc; try: update-binfmts --enable qemu-aarch64 "
                   "(packages qemu-user-static and binfmt-support)", 2)
    return entry


# --------------------------------------------------------------------------- network


def host_debian_mirror() -> str | None:
    """The Debian mirror this host's apt already uses (one-line or deb822 sources)."""
    import glob

    files = ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list")),
             *sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))]
    for name in files:
        try:
            lines = Path(name).read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            words = [w for w in re.sub(r"\[[^]]*\]", " ", line.split("#")[0]).split()]
            uris = words[1:2] if words[:1] == ["deb"] else words[1:] if words[:1] == ["URIs:"] else []
            for uri in uris:
                if uri.rstrip("/").endswith("/debian"):
                    return uri.rstrip("/")
    return None


def pip_index_url() -> str | None:
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"].split()[0]
    proc = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.strip().endswith(".index-url"):
            return value.strip().strip("'\"").split()[0]
    return None  # pip's own default index


def check_registry() -> None:
    fix = "Set PIP_INDEX_URL (and PIP_CERT) to a reachable index, or fix the network/proxy."
    url = pip_index_url()
    if url:
        reachable(url.rstrip("/") + "/pip/", "the package registry", fix)
        return
    try:
        proc = subprocess.run([sys.executable, "-m", "pip", "index", "versions", "pip"], capture_output=True,
                              text=True, timeout=60)
        ok = proc.returncode == 0
    except subprocess.TimeoutExpired:
        ok = False
    if not ok:
        raise Fail(f"cannot reach the package registry (pip's default index). {fix}", 2)


def reachable(url: str, what: str, fix: str) -> None:
    cafile = os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt"
    ctx = ssl.create_default_context(cafile=cafile if Path(cafile).is_file() else None)
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": "edgecnn-pi-check"}),
                                    timeout=20, context=ctx) as resp:
            resp.read(1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Fail(f"cannot reach {what} at {url} ({reason}).\n"
                   f"pi-check downloads from it to build its cached Raspberry Pi root; later runs reuse the cache and need "
                   f"no download. {fix}", 2) from None


# --------------------------------------------------------------------------- mounts and the root


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
    if not path.exists():
        return
    unmount_all(path)
    if mounts_under(path):
        raise Fail(f"refusing to delete {path}: still has mounts {mounts_under(path)}")
    shutil.rmtree(path)


@dataclass(frozen=True)
class Board:
    """A Raspberry Pi model as the emulated program sees it: qemu's CPU model and /proc/cpuinfo."""

    name: str
    title: str
    qemu_cpu: str
    bogomips: str
    features: str
    variant: str
    part: str
    revision: str
    board_revision: str
    model: str

    def cpuinfo(self, cpus: int) -> str:
        """/proc/cpuinfo as this Pi's 64-bit Raspberry Pi OS shows it, for `cpus` cores.

        qemu-user (Debian bookworm's 7.2) passes the host's x86 /proc/cpuinfo through, which
        no aarch64 program on a Pi ever sees; ai-edge-litert's CPU detection (cpuinfo) then
        crashes (SIGSEGV, when /sys is mounted too). The Pi's own text is the faithful input.
        """
        core = (f"BogoMIPS\t: {self.bogomips}\nFeatures\t: {self.features}\nCPU implementer\t: 0x41\n"
                f"CPU architecture: 8\nCPU variant\t: {self.variant}\nCPU part\t: {self.part}\n"
                f"CPU revision\t: {self.revision}\n\n")
        return ("".join(f"processor\t: {i}\n{core}" for i in range(cpus))
                + f"Revision\t: {self.board_revision}\nSerial\t\t: 0000000000000000\nModel\t\t: {self.model}\n")


# qemu's default CPU model ("max") has features no Pi has (SVE, SME, ...): ai-edge-litert picks
# SME int8 kernels there and, under qemu 7.2, answers wrongly. So each Pi's own core is emulated.
BOARDS = {
    "pi4": Board("pi4", "Raspberry Pi 4 / 400 / CM4 (Cortex-A72)", "cortex-a72", "108.00",
                 "fp asimd evtstrm crc32 cpuid", "0x0", "0xd08", "3", "c03111", "Raspberry Pi 4 Model B Rev 1.1"),
    "pi5": Board("pi5", "Raspberry Pi 5 (Cortex-A76)", "cortex-a76", "108.00",
                 "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp",
                 "0x4", "0xd0b", "1", "d04170", "Raspberry Pi 5 Model B Rev 1.0"),
    "pi3": Board("pi3", "Raspberry Pi 3 / Zero 2 W (Cortex-A53)", "cortex-a53", "38.40",
                 "fp asimd evtstrm crc32 cpuid", "0x0", "0xd03", "4", "a020d3", "Raspberry Pi 3 Model B Plus Rev 1.3"),
}
NATIVE = Board("native", "this aarch64 machine (native)", "", "", "", "", "", "", "", "")
SETUP_BOARD = BOARDS["pi4"]  # the CPU pip and venv creation run on


def host_cpus() -> int:
    """CPUs the kernel reports in /sys (what the emulated program counts too)."""
    try:
        text = Path("/sys/devices/system/cpu/possible").read_text().strip()
        return sum(int(b) - int(a) + 1 for a, _, b in (r.partition("-") if "-" in r else (r, "-", r)
                                                      for r in text.split(",")))
    except (OSError, ValueError):
        return os.cpu_count() or 1


@contextlib.contextmanager
def mounted(root: Path, log: Path, native: bool):
    """/proc and /sys inside the root for as long as the block runs; unmounted after, whatever happens.

    Under qemu, /proc/cpuinfo is covered by a Raspberry Pi's (see Board.cpuinfo); in_root
    rewrites it (same file, same inode, so the bind mount shows it) for the board it emulates.
    """
    done: list[Path] = []
    try:
        for fstype, sub in (("proc", "proc"), ("sysfs", "sys")):
            target = root / sub
            target.mkdir(exist_ok=True)
            proc = subprocess.run(["mount", "-t", fstype, fstype, str(target)], capture_output=True, text=True)
            if proc.returncode != 0:  # e.g. sysfs in some containers: a read-only bind of the host's
                run(["mount", "--bind", "-o", "ro", f"/{sub}", str(target)], log=log)
            done.append(target)
        if not native:
            fake = root / CPUINFO
            fake.write_text(SETUP_BOARD.cpuinfo(host_cpus()))
            run(["mount", "--bind", "-o", "ro", str(fake), str(root / "proc" / "cpuinfo")], log=log)
            done.append(root / "proc" / "cpuinfo")
        yield
    finally:
        for target in reversed(done):
            if subprocess.run(["umount", str(target)], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", str(target)], capture_output=True)


def ensure_root(root: Path, mirror: str, native: bool, binfmt: dict[str, str] | None, log: Path) -> bool:
    """Build the arm64 bookworm root once. Returns True when it was built now."""
    stamp = root / ROOT_STAMP
    if stamp.is_file():
        return False
    if root.exists():
        say(f"{root} exists but is incomplete (no {ROOT_STAMP}): rebuilding it")
        safe_rmtree(root)
    partial = root.with_name(root.name + ".partial")
    safe_rmtree(partial)
    partial.parent.mkdir(parents=True, exist_ok=True)
    say(f"building an arm64 Debian {SUITE} root with debootstrap from {mirror} (once; about 2-4 minutes) "
        f"-> {root}")
    t = time.monotonic()
    cmd = [find_tool("debootstrap") or "debootstrap", f"--arch={ARCH}", "--variant=minbase",
           f"--include={INCLUDE}", SUITE, str(partial), mirror]
    try:
        run(cmd, log=log)
    finally:
        unmount_all(partial)  # debootstrap mounts /proc and /sys in the target while it works
    (partial / ROOT_STAMP).write_text(json.dumps({
        "suite": SUITE, "arch": ARCH, "mirror": mirror, "include": INCLUDE,
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "seconds": round(time.monotonic() - t, 1),
    }, indent=2) + "\n")
    partial.rename(root)
    say(f"root built in {time.monotonic() - t:.0f}s ({du(root)})")
    return True


def du(path: Path) -> str:
    proc = subprocess.run(["du", "-sh", "--one-file-system", str(path)], capture_output=True, text=True)
    return proc.stdout.split()[0] if proc.returncode == 0 and proc.stdout else "?"


def prepare_root_files(root: Path, native: bool, binfmt: dict[str, str] | None) -> None:
    """Name resolution, certificates and pip settings as the host has them (cheap; every run)."""
    for src in ("/etc/resolv.conf", "/etc/hosts"):
        if Path(src).is_file():
            with contextlib.suppress(OSError):
                dst = root / src.lstrip("/")
                if dst.is_symlink():
                    dst.unlink()
                shutil.copyfile(src, dst)
    cert = Path("/etc/ssl/certs/ca-certificates.crt")
    if cert.is_file():
        (root / "etc/ssl/certs").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cert, root / "etc/ssl/certs/ca-certificates.crt")
    for conf in ("/etc/pip.conf",):
        if Path(conf).is_file():
            shutil.copyfile(conf, root / conf.lstrip("/"))
    # Without the F (fix-binary) flag the kernel looks up the interpreter inside the chroot.
    if not native and binfmt and "F" not in binfmt.get("flags", "").replace("flags:", ""):
        interp = binfmt.get("interpreter", "")
        if interp:
            dst = root / interp.lstrip("/")
            if not dst.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(find_tool("qemu-aarch64-static") or "/usr/bin/qemu-aarch64-static", dst)


CPUINFO = "etc/edgecnn-pi-cpuinfo"


def chroot_env(board: Board) -> dict[str, str]:
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1",
           "PIP_PROGRESS_BAR": "off", "PIP_ROOT_USER_ACTION": "ignore", "PYTHONDONTWRITEBYTECODE": "1"}
    env.update({k: os.environ[k] for k in PASS_ENV if os.environ.get(k)})
    env.setdefault("PIP_DEFAULT_TIMEOUT", "120")
    if board.qemu_cpu:
        env["QEMU_CPU"] = board.qemu_cpu  # read by qemu-user, started by the kernel's binfmt handler
    return env


def in_root(root: Path, argv: list[str], *, cwd: str = "/", log: Path | None = None, check: bool = True,
            board: Board = SETUP_BOARD) -> subprocess.CompletedProcess:
    """Run argv inside the root as `board` (the caller holds `mounted`)."""
    fake = root / CPUINFO
    if board.qemu_cpu and fake.is_file():
        text = board.cpuinfo(host_cpus())
        if fake.read_text() != text:
            with fake.open("r+") as fh:  # in place: the bind mount over /proc/cpuinfo shows this inode
                fh.write(text)
                fh.truncate()
    shell = f"cd {shlex.quote(cwd)} && exec {shlex.join(argv)}"
    cmd = ["chroot", str(root), "/bin/sh", "-c", shell]
    if log is not None:
        return run(cmd, log=log, check=check, env=chroot_env(board))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=chroot_env(board))
    if check and proc.returncode != 0:
        raise Fail(f"inside the Pi root, failed (exit {proc.returncode}): {shlex.join(argv)}\n"
                   f"{(proc.stdout + proc.stderr).rstrip()[-4000:]}")
    return proc


# --------------------------------------------------------------------------- the edgecnn wheel and venvs


def tree_digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts) \
            if path.is_dir() else [path]
        for f in files:
            h.update(str(f.relative_to(REPO)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def build_wheel(work: Path, log: Path) -> Path:
    """edgecnn as a wheel, built here (pure Python), as a user would carry it to a Pi; cached by source."""
    out = work / f"wheel-{tree_digest([REPO / 'src' / 'edgecnn', REPO / 'pyproject.toml', REPO / 'README.md'])}"
    wheels = sorted(out.glob("edgecnn-*.whl"))
    if len(wheels) != 1:
        for old in work.glob("wheel*"):
            safe_rmtree(old)
        partial = work / "wheel.partial"
        partial.mkdir(parents=True)
        proc = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(partial), str(REPO)],
                   log=log, check=False)
        if proc.returncode != 0:
            raise Fail(f"could not build the edgecnn wheel (pip wheel {REPO}); pip fetches the build backend "
                       f"(setuptools) from the package registry for it. See {log}", 2)
        partial.rename(out)
        wheels = sorted(out.glob("edgecnn-*.whl"))
    if len(wheels) != 1:
        raise Fail(f"expected one edgecnn wheel in {out}, found {wheels}")
    with zipfile.ZipFile(wheels[0]) as zf:
        bad = [n for n in zf.namelist() if n.endswith(".so") or "-none-any" not in wheels[0].name]
        if bad:
            raise Fail(f"the edgecnn wheel is not pure Python: {bad[:5]}")
    return wheels[0]


def wheel_digests(wheel: Path) -> tuple[str, str]:
    """(requirements digest, contents digest) of a wheel, independent of zip timestamps."""
    req, content = hashlib.sha256(), hashlib.sha256()
    with zipfile.ZipFile(wheel) as zf:
        for name in sorted(zf.namelist()):
            data = zf.read(name)
            if name.endswith(".dist-info/METADATA"):
                req.update(b"".join(line + b"\n" for line in data.splitlines() if line.startswith(b"Requires-Dist")))
            if not name.endswith(".dist-info/RECORD"):
                content.update(name.encode() + b"\0" + data)
    return req.hexdigest()[:16], content.hexdigest()[:16]


def venv_stamp_path(root: Path, rt: Runtime) -> Path:
    return root / rt.venv.lstrip("/") / ".edgecnn-pi-check.json"


def venv_plan(root: Path, rt: Runtime, req_digest: str) -> str:
    """'ok', or why the venv must be (re)built."""
    stamp = venv_stamp_path(root, rt)
    if not stamp.is_file():
        return "missing"
    try:
        data = json.loads(stamp.read_text())
    except ValueError:
        return "unreadable stamp"
    if data.get("install") != rt.install or data.get("requires") != req_digest or data.get("venv") != VENV_FLAGS:
        return "requirements changed"
    return "ok"


def ensure_venv(root: Path, rt: Runtime, wheel_in_root: str, digests: tuple[str, str], log: Path) -> dict:
    """Create the venv and install into it like a Pi user; reinstall only edgecnn when only it changed."""
    req_digest, content_digest = digests
    stamp = venv_stamp_path(root, rt)
    pip = f"{rt.venv}/bin/pip"
    plan = venv_plan(root, rt, req_digest)
    t = time.monotonic()
    args = [a.format(wheel=wheel_in_root) for a in rt.install]
    if plan != "ok":
        say(f"[{rt.name}] creating {rt.venv} and running: pip install {shlex.join(args)} "
            f"({plan}; aarch64 wheels, under qemu: a few minutes)")
        safe_rmtree(root / rt.venv.lstrip("/"))
        in_root(root, ["python3", "-m", "venv", *VENV_FLAGS, rt.venv], log=log)
        in_root(root, [pip, "install", *args], log=log)
    else:
        data = json.loads(stamp.read_text())
        if data.get("edgecnn") == content_digest:
            say(f"[{rt.name}] {rt.venv} is up to date (cached)")
            return data
        say(f"[{rt.name}] edgecnn changed: pip install --no-deps --force-reinstall {Path(wheel_in_root).name}")
        in_root(root, [pip, "install", "--no-deps", "--force-reinstall", wheel_in_root], log=log)
    # What is in it: versions, and the promise that no TensorFlow came along.
    probe = ("import importlib.metadata as m, importlib.util as u, json, platform\n"
             f"__import__({rt.interpreter_module!r})\n"
             "print(json.dumps({'python': platform.python_version(), 'machine': platform.machine(),\n"
             f"  'interpreter': m.version({rt.interpreter_dist!r}), 'numpy': m.version('numpy'),\n"
             "  'pillow': m.version('Pillow'), 'edgecnn_version': m.version('edgecnn'),\n"
             "  'tensorflow': u.find_spec('tensorflow') is not None,\n"
             "  'packages': sorted(d.metadata['Name'] for d in m.distributions())}))\n")
    proc = in_root(root, [f"{rt.venv}/bin/python", "-c", probe])
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    if info["tensorflow"] or any(p.lower().startswith(("tensorflow", "tf-")) for p in info["packages"]):
        raise Fail(f"[{rt.name}] TensorFlow was installed into {rt.venv}: the Pi install must not pull it "
                   f"({info['packages']})")
    info.update(install=rt.install, requires=req_digest, edgecnn=content_digest, venv=VENV_FLAGS)
    stamp.write_text(json.dumps(info, indent=2) + "\n")
    say(f"[{rt.name}] ready in {time.monotonic() - t:.0f}s: python {info['python']} {info['machine']}, "
        f"{rt.interpreter_dist} {info['interpreter']}, numpy {info['numpy']}, Pillow {info['pillow']}, "
        f"edgecnn {info['edgecnn_version']}, no TensorFlow")
    return info



# --------------------------------------------------------------------------- model, images, runs


def source_digest() -> str:
    """Of everything that shapes the default model: edgecnn's sources and the training arguments."""
    h = hashlib.sha256(shlex.join(TRAIN_ARGS + CONVERT_ARGS).encode())
    for path in sorted((REPO / "src" / "edgecnn").rglob("*.py")):
        h.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:12]


TRAIN_ARGS = ["--dataset", "synthetic", "--limit", "3000", "--epochs", "2"]
CONVERT_ARGS = ["--int8"]


def get_model(given: str | None, work: Path, log: Path) -> Path:
    """The int8 model to check: the one given, else a small synthetic one (trained once per source state)."""
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise Fail(f"PI_MODEL/--model {path}: no such file", 2)
        if path.suffix != ".tflite":
            raise Fail(f"PI_MODEL/--model {path}: not a .tflite model (the Pi runs edgecnn's int8 TFLite)", 2)
        say(f"model: {path} (given)")
        return path
    cached = work / f"model-{source_digest()}"
    model = cached / "model_int8.tflite"
    if model.is_file():
        say(f"model: {model.relative_to(REPO)} (cached: trained on the synthetic set for this source state)")
        return model
    for old in work.glob("model-*"):
        safe_rmtree(old)
    partial = work / "model.partial"
    safe_rmtree(partial)
    edgecnn = str(Path(sys.executable).with_name("edgecnn"))
    say(f"model: training a small one on the host: edgecnn train {shlex.join(TRAIN_ARGS)}, then edgecnn convert "
        f"{shlex.join(CONVERT_ARGS)} (once per source state; about a minute)")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", EDGECNN_OFFLINE="1")
    run([edgecnn, "train", *TRAIN_ARGS, "--out", str(partial)], log=log, env=env)
    proc = run([edgecnn, "convert", str(partial / "model.keras"), *CONVERT_ARGS, "--out", str(partial)], log=log,
               env=env, check=False)
    if proc.returncode not in (0, 3) or not (partial / "model_int8.tflite").is_file():
        raise Fail(f"edgecnn convert failed (exit {proc.returncode}); see {log}")
    if proc.returncode == 3:
        say("note: edgecnn convert flagged the int8 model's accuracy drop (exit 3); checking it anyway")
    partial.rename(cached)
    return model


def write_images(dest: Path) -> list[tuple[str, str]]:
    """Sample pictures a user might classify: (relative path, true class) pairs.

    Ten 28x28 PNGs as Fashion-MNIST stores them (light item on black), and ten larger
    JPEG "photos" (RGB, dark item on a light uneven background, off-centre), which
    exercise the runtime's polarity, crop and resize, and JPEG decoding on the Pi.
    """
    import numpy as np
    from PIL import Image

    from edgecnn import FASHION_MNIST_CLASSES as NAMES
    from edgecnn.datasets.synthetic import render_item, synthetic_images

    def slug(name: str) -> str:
        return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")

    (dest / "images").mkdir(parents=True)
    out: list[tuple[str, str]] = []
    x, y = synthetic_images(40, SAMPLE_SEED)
    for cls, name in enumerate(NAMES):
        i = int(np.flatnonzero(y == cls)[0])
        rel = f"images/{cls:02d}-{slug(name)}.png"
        Image.fromarray(x[i], "L").save(dest / rel)
        out.append((rel, name))
    rng = np.random.default_rng(SAMPLE_SEED + 1)
    for cls, name in enumerate(NAMES):
        item = render_item(cls, rng, canvas=96)  # light on black, 96x96
        h, w = 150, 200
        yy, xx = np.mgrid[0:h, 0:w]
        background = 215 + 25 * (xx / w) - 15 * (yy / h) + rng.normal(0, 4, (h, w))
        top, left = int(rng.integers(10, h - 96 - 10)), int(rng.integers(10, w - 96 - 10))
        gray = background.copy()
        patch = gray[top:top + 96, left:left + 96]
        alpha = item.astype(np.float64) / 255.0
        gray[top:top + 96, left:left + 96] = patch * (1 - alpha) + (40 + 30 * (1 - alpha)) * alpha
        rgb = np.stack([gray * 1.0, gray * 0.97, gray * 0.92], axis=-1)
        rel = f"images/photo-{cls:02d}-{slug(name)}.jpg"
        Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB").save(dest / rel, quality=90)
        out.append((rel, name))
    return out


def stage_files(work: Path, model: Path) -> dict:
    """What a user copies to the Pi, gathered in one folder: pi_classify.py, model_int8.tflite, pictures."""
    stage = work / "stage"
    safe_rmtree(stage)
    stage.mkdir(parents=True)
    script = REPO / "examples" / "pi_classify.py"
    if not script.is_file():
        raise Fail(f"{script} is missing: the Pi check runs the embedded script users copy to their Pi")
    shutil.copyfile(script, stage / "pi_classify.py")
    shutil.copyfile(model, stage / "model_int8.tflite")
    images = write_images(stage)
    (stage / "latency.py").write_text(LATENCY_PROBE)
    say(f"staged pi_classify.py, model_int8.tflite ({model.stat().st_size // 1024} KB) and {len(images)} sample "
        f"images (synthetic items: PNG and JPEG)")
    return {"dir": stage, "images": images, "model": model}


# Runs inside the emulated Pi (and on the host, for reference): per-image wall time of
# Classifier.classify(path) (read, prepare, interpreter call), median of REPEATS after a warm-up.
LATENCY_PROBE = """\
import hashlib, json, statistics, sys, time
REPEATS = 5
t = time.perf_counter()
from edgecnn.runtime import Classifier
clf = Classifier(sys.argv[1])
load_ms = (time.perf_counter() - t) * 1e3
rows = []
for path in sys.argv[2:]:
    clf.classify(path, top_k=1)
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        best = clf.classify(path, top_k=1)[0]
        times.append((time.perf_counter() - t) * 1e3)
    rows.append({"path": path, "ms": statistics.median(times), "label": best.label, "score": best.score,
                 "pixels": hashlib.sha256(clf.prepare(path).tobytes()).hexdigest()})
pixels = clf.prepare(sys.argv[2])
times = []
for _ in range(20):
    t = time.perf_counter()
    clf.classify(pixels, top_k=1)
    times.append((time.perf_counter() - t) * 1e3)
print(json.dumps({"backend": f"{clf.backend.name} {clf.backend.version}", "load_ms": load_ms,
                  "model_ms": statistics.median(times), "images": rows}))
"""


def parse_json_lines(text: str, where: str) -> list[dict]:
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except ValueError:
                raise Fail(f"{where}: not JSON: {line[:200]}") from None
    return rows


def copy_to_pi(root: Path, stage: dict) -> None:
    """What the user copies to the Pi (pi_classify.py, the model, pictures) into /home/pi/edgecnn."""
    app = root / APP_DIR.lstrip("/")
    safe_rmtree(app)
    app.mkdir(parents=True)
    for name in ("pi_classify.py", "model_int8.tflite"):
        shutil.copyfile(stage["dir"] / name, app / name)
    shutil.copytree(stage["dir"] / "images", app / "images")
    probe = root / "opt" / "edgecnn-pi-check" / "latency.py"
    probe.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(stage["dir"] / "latency.py", probe)


def run_on_pi(root: Path, rt: Runtime, board: Board, stage: dict) -> dict:
    """pi_classify.py as the user runs it, then the latency probe, on one board with one runtime."""
    paths = [p for p, _ in stage["images"]]
    tag = f"{board.name}:{rt.name}"
    python = f"{rt.venv}/bin/python"
    argv = [python, "pi_classify.py", "--model", "model_int8.tflite", "--json", *paths]
    say(f"[{tag}] {board.title}, qemu -cpu {board.qemu_cpu or 'none'}: cd {APP_DIR} && {python} "
        f"pi_classify.py --model model_int8.tflite --json images/... ({len(paths)} images)")
    t = time.monotonic()
    proc = in_root(root, argv, cwd=APP_DIR, check=False, board=board)
    seconds = time.monotonic() - t
    if proc.returncode != 0:
        raise Fail(f"[{tag}] pi_classify.py failed inside the Pi root (exit {proc.returncode}):\n"
                   f"{(proc.stdout + proc.stderr).rstrip()[-3000:]}")
    rows = parse_json_lines(proc.stdout, f"[{tag}] pi_classify.py --json")
    summary = next((line for line in proc.stderr.splitlines() if line.startswith("classified")), "").strip()
    say(f"[{tag}] {summary or 'done'} (process wall time {seconds:.1f}s, emulated)")
    lat = in_root(root, [python, "/opt/edgecnn-pi-check/latency.py", "model_int8.tflite", *paths], cwd=APP_DIR,
                  board=board)
    latency = json.loads(lat.stdout.strip().splitlines()[-1])
    return {"rows": rows, "summary": summary, "seconds": seconds, "latency": latency}


def run_on_desktop(stage: dict) -> dict:
    """The desktop runtime (this host's .venv): `edgecnn classify --json` on the same files."""
    paths = [p for p, _ in stage["images"]]
    edgecnn = str(Path(sys.executable).with_name("edgecnn"))
    say(f"desktop: edgecnn classify --model model_int8.tflite --json images/... (host {platform.machine()}, .venv)")
    proc = subprocess.run([edgecnn, "classify", "--model", "model_int8.tflite", "--json", *paths],
                          cwd=stage["dir"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise Fail(f"desktop edgecnn classify failed (exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}")
    lat = subprocess.run([sys.executable, "latency.py", "model_int8.tflite", *paths], cwd=stage["dir"],
                         capture_output=True, text=True)
    if lat.returncode != 0:
        raise Fail(f"desktop latency probe failed:\n{(lat.stdout + lat.stderr)[-3000:]}")
    return {"rows": parse_json_lines(proc.stdout, "edgecnn classify --json"),
            "latency": json.loads(lat.stdout.strip().splitlines()[-1])}


def report(stage: dict, combos: list[tuple[Board, Runtime]], infos: dict, pi_runs: dict, desktop: dict,
           native: bool) -> int:
    """The table, the versions and latencies, and the verdict: exit 1 on any label that differs."""
    images = stage["images"]

    def by_path(rows: list[dict]) -> dict[str, dict]:
        return {Path(r.get("path", "")).as_posix(): r for r in rows}

    want = by_path(desktop["rows"])
    keys = [f"{b.name}:{r.name}" for b, r in combos]
    got = {k: by_path(pi_runs[k]["rows"]) for k in keys}
    ms = {k: {x["path"]: x["ms"] for x in pi_runs[k]["latency"]["images"]} for k in keys}
    desk_px = {x["path"]: x["pixels"] for x in desktop["latency"]["images"]}
    same_px = {k: sum(1 for x in pi_runs[k]["latency"]["images"] if desk_px.get(x["path"]) == x["pixels"])
               for k in keys}
    mismatches: list[str] = []
    worst = dict.fromkeys(keys, 0.0)
    same_score = dict.fromkeys(keys, 0)
    width = max(len(k) for k in keys) + 1
    header = f"{'image':32} {'truth':11} {'desktop':17}" + "".join(f" {k:>{width}}" for k in keys)
    print()
    print("labels: '=' the Pi's label equals the desktop's, then the per-image latency in ms (qemu-emulated)")
    print(header)
    print("-" * len(header))
    for path, truth in images:
        d = want.get(path)
        if d is None or "label" not in d:
            mismatches.append(f"{path}: the desktop runtime gave no answer ({d})")
            continue
        line = f"{path:32} {truth[:11]:11} {d['label'][:11]:11} {d['score']:.3f}"
        for k in keys:
            r = got[k].get(path)
            if r is None or "label" not in r:
                mismatches.append(f"{path}: no answer on {k} ({r})")
                line += f" {'none':>{width}}"
                continue
            worst[k] = max(worst[k], abs(float(r["score"]) - float(d["score"])))
            same_score[k] += float(r["score"]) == float(d["score"])
            if r["label"] == d["label"]:
                line += f" {'= ' + format(ms[k].get(path, float('nan')), '.1f'):>{width}}"
            else:
                mismatches.append(f"{path}: desktop says {d['label']!r} ({d['score']:.3f}), {k} says "
                                  f"{r['label']!r} ({r['score']:.3f})")
                line += f" {'X ' + r['label'][:width - 3]:>{width}}"
        print(line)
    print()
    host = platform.machine()
    for (board, rt), k in zip(combos, keys):
        lat, info = pi_runs[k]["latency"], infos[rt.name]
        print(f"{k:{width}} {board.title} | {lat['backend']}, numpy {info['numpy']}, Pillow {info['pillow']}, "
              f"Python {info['python']} {info['machine']}, Debian {SUITE} | load {lat['load_ms']:.0f} ms, "
              f"model call {lat['model_ms']:.2f} ms, per image {statistics.median(ms[k].values()):.1f} ms (median) | "
              f"vs desktop: model input pixels identical on {same_px[k]}/{len(images)}, top-1 score equal on "
              f"{same_score[k]}/{len(images)} (largest difference {worst[k]:.4f})")
    dl = desktop["latency"]
    print(f"{'desktop':{width}} this {host} host, .venv | {dl['backend']} | load {dl['load_ms']:.0f} ms, model call "
          f"{dl['model_ms']:.3f} ms, per image {statistics.median(x['ms'] for x in dl['images']):.2f} ms (median)")
    if not native:
        print(f"Latency: read + prepare + classify of one file (median of 5), measured inside the emulated Pi: "
              f"aarch64 code run by qemu-user on this {host} host. It is EMULATED, NOT a Raspberry Pi's speed; "
              f"it shows the code runs, nothing more. Measure on a real Pi for real numbers.")
    truth_ok = sum(1 for path, truth in images if want.get(path, {}).get("label") == truth)
    print(f"(Not tested here: accuracy. The small synthetic model names {truth_ok}/{len(images)} of these items "
          f"right; the check is that the Pi gives the desktop's answers.)")
    print()
    if mismatches:
        print(f"pi-check: FAIL: {len(mismatches)} image(s) where the Pi and the desktop runtime disagree:", file=sys.stderr)
        for m in mismatches:
            print(f"  {m}", file=sys.stderr)
        return 1
    diffs = max(worst.values())
    print(f"pi-check: PASS: on every emulated Pi ({', '.join(keys)}) all {len(images)} images get the desktop "
          f"runtime's label; top-1 scores differ by at most {diffs:.6f}")
    return 0


# --------------------------------------------------------------------------- main


@contextlib.contextmanager
def locked(path: Path):
    """One pi-check at a time per root (the tree is shared)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"another pi-check is using this root; waiting for it (lock {path})")
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _terminate(signum, frame):  # run the finally blocks (unmount) on kill/hangup too
    raise SystemExit(128 + signum)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="pi_check", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="environment: EDGECNN_PI_ROOT (cached root), PI_MODEL (an int8 .tflite), "
                                       "EDGECNN_PI_MIRROR (Debian mirror), PIP_INDEX_URL (package registry)")
    p.add_argument("--root", default=os.environ.get("EDGECNN_PI_ROOT") or str(REPO / ".cache" / "pi-root"),
                   help="where the arm64 root is cached")
    p.add_argument("--model", default=os.environ.get("PI_MODEL") or None,
                   help="an int8 .tflite to check (default: train a small synthetic one, cached)")
    p.add_argument("--mirror", default=os.environ.get("EDGECNN_PI_MIRROR") or host_debian_mirror(),
                   help="Debian mirror for debootstrap (default: the one this host's apt uses)")
    p.add_argument("--runtimes", default=os.environ.get("PI_RUNTIMES") or ",".join(RUNTIMES),
                   help="which Pi installs to check (comma-separated)")
    p.add_argument("--boards", default=os.environ.get("PI_BOARDS") or ",".join(BOARDS),
                   help="which Pi CPUs to emulate (comma-separated: " + ", ".join(
                       f"{b.name} {b.qemu_cpu}" for b in BOARDS.values()) + ")")
    p.add_argument("--setup-only", action="store_true", help="build or refresh the root and venvs, run nothing")
    p.add_argument("--rebuild", action="store_true", help="delete the cached root (and its venvs) first")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _terminate)
    root = Path(args.root).absolute()
    work = REPO / ".cache" / "pi-check"
    log = work / "pi-check.log"
    try:
        names = [n.strip() for n in args.runtimes.split(",") if n.strip()]
        unknown = [n for n in names if n not in RUNTIMES]
        if unknown or not names:
            raise Fail(f"unknown runtime(s) {unknown}; choose from {', '.join(RUNTIMES)}", 2)
        runtimes = [RUNTIMES[n] for n in names]
        native = platform.machine() in ("aarch64", "arm64")
        board_names = [n.strip() for n in args.boards.split(",") if n.strip()]
        unknown = [n for n in board_names if n not in BOARDS]
        if unknown or not board_names:
            raise Fail(f"unknown board(s) {unknown}; choose from {', '.join(BOARDS)}", 2)
        boards = [NATIVE] if native else [BOARDS[n] for n in board_names]
        say(f"host {platform.machine()}, {'native aarch64' if native else 'aarch64 under qemu-user-static'}; "
            f"log: {log.relative_to(REPO) if log.is_relative_to(REPO) else log}")
        preflight(native, log)  # writes nothing when not root
        binfmt = None if native else ensure_binfmt(log)
        with locked(root.with_name(root.name + ".lock")):
            unmount_all(root)  # we hold the lock: any mount in the root is left over from a killed run
            if args.rebuild:
                say(f"--rebuild: deleting {root}")
                safe_rmtree(root)
            need_root = not (root / ROOT_STAMP).is_file()
            if need_root and not args.mirror:
                raise Fail("no Debian mirror found in this host's apt sources; set EDGECNN_PI_MIRROR", 2)
            if need_root:
                reachable(f"{args.mirror.rstrip('/')}/dists/{SUITE}/Release", "the Debian mirror",
                          "Set EDGECNN_PI_MIRROR to a reachable Debian mirror, or fix the network.")
            registry_checked = False
            if need_root or any(not venv_stamp_path(root, rt).is_file() for rt in runtimes):
                check_registry()
                registry_checked = True
            wheel = build_wheel(work, log)
            digests = wheel_digests(wheel)
            if not registry_checked and any(venv_plan(root, rt, digests[0]) != "ok" for rt in runtimes):
                check_registry()
            t_root = time.monotonic()
            built = ensure_root(root, args.mirror, native, binfmt, log)
            if not built:
                say(f"reusing the cached arm64 {SUITE} root {root}")
            prepare_root_files(root, native, binfmt)
            wheel_in_root = f"{PI_HOME}/wheels/{wheel.name}"
            (root / wheel_in_root.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(wheel, root / wheel_in_root.lstrip("/"))
            if not args.setup_only:
                model = get_model(args.model, work, log)
                stage = stage_files(work, model)
            with mounted(root, log, native):
                infos = {rt.name: ensure_venv(root, rt, wheel_in_root, digests, log) for rt in runtimes}
                say(f"root and venvs ready in {time.monotonic() - t_root:.0f}s")
                if args.setup_only:
                    return 0
                copy_to_pi(root, stage)
                combos = [(board, rt) for board in boards for rt in runtimes]
                pi_runs = {f"{b.name}:{r.name}": run_on_pi(root, r, b, stage) for b, r in combos}
            desktop = run_on_desktop(stage)
            return report(stage, combos, infos, pi_runs, desktop, native)
    except Fail as exc:
        print(f"pi-check: error: {exc}", file=sys.stderr, flush=True)
        return exc.code
    except KeyboardInterrupt:
        print("pi-check: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
