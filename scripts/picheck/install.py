"""The edgecnn wheel, and the venvs made in a root exactly as README tells a Pi user to.

`make wheel` builds the wheel (the system's python3 -m pip wheel --no-deps, no .venv); here the
same command writes it into the cache (cached by source). In a root: `python3 -m venv
--system-site-packages VENV`, then README's one `pip install` line for that install. Before
that, `pip download --no-deps` of the interpreter asks the registry whether a wheel exists
for the root's Python and CPU at all: when none does, the target is reported as "no wheel"
instead of failing. Nothing may bring TensorFlow.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import time
import zipfile
from pathlib import Path

from .rootfs import in_root, safe_rmtree
from .shell import REPO, Fail, run, say
from .targets import PI_HOME, VENV_FLAGS, Board, Target

NO_WHEEL_SIGNS = ("No matching distribution found", "Could not find a version that satisfies")
WHEEL_CHECKS = "etc/edgecnn-pi-wheels.json"


def tree_digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts) \
            if path.is_dir() else [path]
        for f in files:
            h.update(str(f.relative_to(REPO)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def build_wheel(work: Path, log: Path, python: str = "python3") -> Path:
    """edgecnn's wheel, built as `make wheel` builds it (system python, no .venv); cached by source."""
    out = work / f"wheel-{tree_digest([REPO / 'src' / 'edgecnn', REPO / 'pyproject.toml', REPO / 'README.md'])}"
    wheels = sorted(out.glob("edgecnn-*.whl"))
    if len(wheels) != 1:
        for old in work.glob("wheel*"):
            safe_rmtree(old)
        partial = work / "wheel.partial"
        partial.mkdir(parents=True)
        say(f"building the edgecnn wheel: {python} -m pip wheel --no-deps (what make wheel runs)")
        proc = run([python, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(partial), str(REPO)],
                   log=log, check=False)
        if proc.returncode != 0:
            raise Fail(f"could not build the edgecnn wheel ({python} -m pip wheel {REPO}; pip fetches setuptools "
                       f"from the registry for it); see {log}", 2)
        partial.rename(out)
        wheels = sorted(out.glob("edgecnn-*.whl"))
    if len(wheels) != 1 or "-none-any" not in wheels[0].name:
        raise Fail(f"expected one pure-Python edgecnn wheel in {out}, found {[w.name for w in wheels]}")
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


def wheel_exists(path: Path, target: Target, board: Board, log: Path) -> str | None:
    """None when the interpreter has a wheel for this root's Python and CPU, else why not (cached per root)."""
    cache = path / WHEEL_CHECKS
    known = json.loads(cache.read_text()) if cache.is_file() else {}
    spec = target.install.wheel_spec
    if spec not in known:
        proc = in_root(path, ["python3", "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d",
                              "/tmp/edgecnn-wheel-check", spec], board, check=False, timeout=600)
        out = proc.stdout + proc.stderr
        if proc.returncode == 0:
            known[spec] = None
        elif any(sign in out for sign in NO_WHEEL_SIGNS):
            pyver = in_root(path, ["python3", "-c", "import platform; print(platform.python_version(), "
                                   "platform.machine())"], board).stdout.split()
            known[spec] = f"no {spec} wheel for Python {pyver[0]} on {pyver[1]}"
        else:
            raise Fail(f"[{target.key}] pip download {spec} failed (registry?):\n{out.rstrip()[-2000:]}", 2)
        cache.write_text(json.dumps(known, indent=2) + "\n")
    return known[spec]


def venv_stamp(path: Path, target: Target) -> Path:
    return path / target.venv.lstrip("/") / ".edgecnn-pi-check.json"


def venv_plan(path: Path, target: Target, req_digest: str) -> str:
    """'ok', or why the venv must be (re)built."""
    stamp = venv_stamp(path, target)
    try:
        data = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return "missing"
    if data.get("install") != list(target.install.pip) or data.get("requires") != req_digest \
            or data.get("venv") != list(VENV_FLAGS):
        return "requirements changed"
    return "ok"


# What is in a venv, printed as JSON from inside it: versions, where numpy comes from, and no TensorFlow.
INFO_PROBE = """\
import importlib.metadata as m, importlib.util as u, json, platform, sys
__import__(sys.argv[1])
import numpy
print(json.dumps({'python': platform.python_version(), 'machine': platform.machine(),
  'interpreter': m.version(sys.argv[2]), 'numpy': numpy.__version__, 'numpy_from': numpy.__file__,
  'pillow': m.version('Pillow'), 'edgecnn_version': m.version('edgecnn'),
  'tensorflow': u.find_spec('tensorflow') is not None,
  'packages': sorted(d.metadata['Name'] for d in m.distributions())}))
"""


def ensure_venv(path: Path, target: Target, wheel_in_root: str, digests: tuple[str, str], board: Board,
                log: Path) -> dict:
    """The venv as README makes it; reinstall only edgecnn when only it changed. Returns what is in it."""
    req_digest, content_digest = digests
    pip = f"{target.venv}/bin/pip"
    plan = venv_plan(path, target, req_digest)
    t = time.monotonic()
    args = target.install.args(wheel_in_root)
    if plan != "ok":
        say(f"[{target.key}] python3 -m venv {' '.join(VENV_FLAGS)} {target.venv}; pip install {shlex.join(args)} "
            f"({plan}; under qemu: minutes)")
        safe_rmtree(path / target.venv.lstrip("/"))
        in_root(path, ["python3", "-m", "venv", *VENV_FLAGS, target.venv], board, log=log)
        in_root(path, [pip, "install", *args], board, log=log, cwd=PI_HOME)
    else:
        data = json.loads(venv_stamp(path, target).read_text())
        if data.get("edgecnn") == content_digest:
            say(f"[{target.key}] {target.venv} is up to date (cached)")
            return data
        say(f"[{target.key}] edgecnn changed: pip install --no-deps --force-reinstall {Path(wheel_in_root).name}")
        in_root(path, [pip, "install", "--no-deps", "--force-reinstall", wheel_in_root], board, log=log)
    (path / "opt/edgecnn-pi-check").mkdir(parents=True, exist_ok=True)
    (path / "opt/edgecnn-pi-check/venv_info.py").write_text(INFO_PROBE)
    proc = in_root(path, [f"{target.venv}/bin/python", "/opt/edgecnn-pi-check/venv_info.py",
                          target.install.interpreter_module, target.install.interpreter_dist], board)
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    if info["tensorflow"] or any(p.lower().startswith(("tensorflow", "tf-")) for p in info["packages"]):
        raise Fail(f"[{target.key}] TensorFlow was installed into {target.venv}: the Pi install must not pull it")
    info.update(install=list(target.install.pip), requires=req_digest, edgecnn=content_digest, venv=list(VENV_FLAGS))
    venv_stamp(path, target).write_text(json.dumps(info, indent=2) + "\n")
    say(f"[{target.key}] ready in {time.monotonic() - t:.0f}s: Python {info['python']} {info['machine']}, "
        f"{target.install.interpreter_dist} {info['interpreter']}, numpy {info['numpy']} ({info['numpy_from']}), "
        f"Pillow {info['pillow']}, no TensorFlow")
    return info
