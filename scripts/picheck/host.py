"""The host side: root, tools (installed with apt-get when missing), binfmt handlers, mirror, registry.

Everything that can stop pi-check before any work is found here and reported as one line
naming what is missing and the command that fixes it (Fail with exit status 2).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from .shell import Fail, run, say

APT_PACKAGES = ("qemu-user-static", "debootstrap", "binfmt-support")
BINFMT = Path("/proc/sys/fs/binfmt_misc")


def find_tool(name: str) -> str | None:
    return shutil.which(name) or next(
        (str(p) for d in ("/usr/sbin", "/sbin", "/usr/bin", "/bin") if (p := Path(d) / name).is_file()), None)


def missing_tools(qemus: list[str]) -> list[tuple[str, str]]:
    """(tool, Debian package) pairs that are not installed, for roots run by these qemu handlers."""
    need = [("debootstrap", "debootstrap"), ("chroot", "coreutils"), ("mount", "mount")]
    need += [(f"{q}-static", "qemu-user-static") for q in qemus]
    if qemus:
        need.append(("update-binfmts", "binfmt-support"))
    return [(tool, pkg) for tool, pkg in need if find_tool(tool) is None]


def not_root_message(missing: list[tuple[str, str]]) -> str:
    """What a user who is not root is told (one line, plus the packages to install if any)."""
    line = ("pi-check must run as root: it builds Debian roots with debootstrap and enters them with chroot and "
            "mount. Run: sudo make pi-check")
    if missing:
        pkgs = sorted({pkg for _, pkg in missing})
        line += (f"\nmissing: {', '.join(t for t, _ in missing)}; install them with: "
                 f"sudo apt-get install {' '.join(pkgs)}")
    return line


def preflight(qemus: list[str], log: Path) -> None:
    """Root, and the tools (apt-get installs what is missing). Raises Fail(code 2) when that cannot be."""
    missing = missing_tools(qemus)
    if os.geteuid() != 0:
        raise Fail(not_root_message(missing), 2)
    if not missing:
        return
    pkgs = sorted({pkg for _, pkg in missing})
    say(f"installing {' '.join(pkgs)} with apt-get (missing: {', '.join(t for t, _ in missing)})")
    if not find_tool("apt-get"):
        raise Fail(f"missing {', '.join(t for t, _ in missing)} and no apt-get here: install {' '.join(pkgs)} "
                   "with this system's package manager", 2)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "-o", "Acquire::Retries=2"]
    try:
        run(apt + ["update", "-q"], log=log, env=env)
        run(apt + ["install", "-y", "-q", "--no-install-recommends", *pkgs], log=log, env=env)
    except Fail:
        raise Fail(f"could not install {' '.join(pkgs)} with apt-get (network to the Debian mirror?); install them: "
                   f"sudo apt-get install {' '.join(APT_PACKAGES)} (log: {log})", 2) from None
    still = missing_tools(qemus)
    if still:
        raise Fail(f"still missing after apt-get: {', '.join(t for t, _ in still)}; install: sudo apt-get install "
                   f"{' '.join(APT_PACKAGES)}", 2)


def binfmt_entry(handler: str) -> dict[str, str] | None:
    """The kernel's binfmt_misc entry for `handler` ("qemu-aarch64"), as {key: value}, or None."""
    p = BINFMT / handler
    if not p.exists():
        return None
    info: dict[str, str] = {}
    for line in p.read_text().splitlines():
        key, _, value = line.partition(" ")
        info[key] = value or key
    return info


def ensure_binfmt(handlers: list[str], log: Path) -> dict[str, dict[str, str]]:
    """The kernel must hand ARM binaries to qemu: mount binfmt_misc, enable each handler. Raises Fail(2)."""
    if handlers and not (BINFMT / "register").exists():
        say("mounting binfmt_misc")
        try:
            run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], log=log)
        except Fail:
            raise Fail(f"cannot mount binfmt_misc at {BINFMT} (a container without privileges?); on the host run: "
                       f"mount -t binfmt_misc binfmt_misc {BINFMT}", 2) from None
    entries = {}
    for handler in handlers:
        entry = binfmt_entry(handler)
        if entry is None or "enabled" not in entry:
            say(f"registering {handler} with binfmt_misc (update-binfmts)")
            run([find_tool("update-binfmts") or "update-binfmts", "--enable", handler], log=log, check=False)
            entry = binfmt_entry(handler)
        if entry is None or "enabled" not in entry:
            raise Fail(f"{handler} is not registered with binfmt_misc; run: update-binfmts --enable {handler} "
                       "(packages qemu-user-static and binfmt-support)", 2)
        entries[handler] = entry
    return entries


def host_debian_mirror() -> str | None:
    """The Debian mirror this host's apt already uses (one-line or deb822 sources), or None."""
    files = ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list")),
             *sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))]
    for name in files:
        try:
            lines = Path(name).read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            words = re.sub(r"\[[^]]*\]", " ", line.split("#")[0]).split()
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
    """The package registry answers, or Fail(2) naming it and the fix."""
    fix = "Set PIP_INDEX_URL (and PIP_CERT) to a reachable index, or fix the network/proxy."
    url = pip_index_url()
    if url:
        reachable(url.rstrip("/") + "/pip/", "the package registry", fix)
        return
    try:
        ok = subprocess.run([sys.executable, "-m", "pip", "index", "versions", "pip"], capture_output=True,
                            text=True, timeout=60).returncode == 0
    except subprocess.TimeoutExpired:
        ok = False
    if not ok:
        raise Fail(f"cannot reach the package registry (pip's default index). {fix}", 2)


def reachable(url: str, what: str, fix: str) -> None:
    """GET `url` (one byte), or Fail(2): "cannot reach WHAT at URL (reason)" and the fix."""
    cafile = os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt"
    ctx = ssl.create_default_context(cafile=cafile if Path(cafile).is_file() else None)
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": "edgecnn-pi-check"}),
                                    timeout=20, context=ctx) as resp:
            resp.read(1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Fail(f"cannot reach {what} at {url} ({reason}); pi-check downloads from it to build its cached roots "
                   f"(later runs need no download). {fix}", 2) from None
