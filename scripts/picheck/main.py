"""The command line and the order of things (see the package docstring and docs/pi.md).

Exit status: 0 every check passed (targets without a wheel are reported, not failed);
1 a check failed or a step broke; 2 something to install or fix first; 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import platform
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Iterator

from . import host, install, report, rootfs, stage, steps
from .shell import REPO, Fail, Steps, say
from .targets import BOARDS, INSTALLS, NATIVE, PI_HOME, ROOTS, Board, Root, Target, boards_for, select

STEPS_PER_TARGET = 4  # install, classify, camera + doctor, runtime tests


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="pi_check", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="edgecnn on emulated Raspberry Pi OS: trixie and bookworm arm64, bookworm armhf, each with "
                    "apt's numpy/Pillow/OpenCV and README's install lines; results compared with the desktop.",
        epilog="examples:\n  sudo make pi-check                          # every root and install\n"
               "  sudo bash scripts/pi_check.sh --quick       # trixie arm64 + ai-edge-litert only\n"
               "  sudo bash scripts/pi_check.sh --roots bookworm-armhf --no-tests\n\n"
               "environment: EDGECNN_PI_ROOTS (where roots are cached), PI_MODEL (an int8 .tflite), "
               "EDGECNN_PI_MIRROR (Debian mirror), PIP_INDEX_URL (package registry)")
    p.add_argument("--quick", action="store_true", help="one root and install: trixie arm64 with ai-edge-litert")
    p.add_argument("--roots", help=f"comma-separated, from: {', '.join(ROOTS)}")
    p.add_argument("--installs", help=f"comma-separated, from: {', '.join(INSTALLS)}")
    p.add_argument("--boards", default=os.environ.get("PI_BOARDS") or None,
                   help="Pi CPUs to classify on (default: all; --quick: pi4): " + ", ".join(
                       f"{b.name} ({b.qemu_cpu}, {b.arch})" for b in BOARDS.values()))
    p.add_argument("--cache", default=os.environ.get("EDGECNN_PI_ROOTS") or str(REPO / ".cache" / "pi-roots"),
                   help="where the roots are cached")
    p.add_argument("--model", default=os.environ.get("PI_MODEL") or None,
                   help="an int8 .tflite to check (default: train a small synthetic one, cached)")
    p.add_argument("--mirror", default=os.environ.get("EDGECNN_PI_MIRROR") or host.host_debian_mirror(),
                   help="Debian mirror for debootstrap (default: the one this host's apt uses)")
    p.add_argument("--no-tests", action="store_true", help="skip pytest tests/runtime inside the roots")
    p.add_argument("--setup-only", action="store_true", help="build or refresh the roots and venvs, run nothing")
    p.add_argument("--rebuild", action="store_true", help="delete the chosen cached roots first")
    return p.parse_args(argv)


def names(text: str | None) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """One pi-check at a time per cache (the tree is shared)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"another pi-check is using {path.parent}; waiting for it")
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _terminate(signum: int, frame: object) -> None:  # run the finally blocks (unmount) on kill/hangup too
    raise SystemExit(128 + signum)


def host_cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
        if line.startswith("model name"):
            return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    return f"{platform.machine()}, {os.cpu_count()} cores"


def native(root: Root) -> bool:
    return platform.machine() in ("aarch64", "arm64") and root.arch == "arm64"


def check_target(path: Path, target: Target, boards: list[Board], wheel_in_root: str, digests: tuple[str, str],
                 staged: dict | None, desktop: dict, desk_cam: dict, run_tests: bool, log: Path) -> dict:
    """Install, then (unless only setting up) classify on each board, camera, doctor and the runtime tests."""
    first = boards[0]
    result: dict = {"target": target, "runs": {}, "boards": {}}
    with rootfs.mounted(path, first, log):
        why = install.wheel_exists(path, target, first, log)
        if why:
            say(f"[{target.key}] {why}: reported in the table, not run")
            Steps.done(STEPS_PER_TARGET)
            return dict(result, no_wheel=why)
        result["info"] = install.ensure_venv(path, target, wheel_in_root, digests, first, log)
    Steps.done()
    if staged is None:
        return result
    if target.install.control:
        with rootfs.mounted(path, first, log):
            result["doctor"] = steps.doctor(path, target, first)
        result["problems"] = report.judge_control(result["doctor"], target.key)
        Steps.done(STEPS_PER_TARGET - 1)
        return result
    problems: list[str] = []
    for board in boards:
        with rootfs.mounted(path, board, log):
            run = steps.classify(path, target, board, staged)
        result["runs"][board.name] = run
        found = report.judge_labels(staged["images"], desktop["rows"], run["rows"], f"{target.key}@{board.name}")
        result["boards"][board.name] = {"equal": len(staged["images"]) - len(found)}
        problems += found
    Steps.done()
    with rootfs.mounted(path, first, log):
        result["camera"] = steps.camera(path, target, first, staged)
        result["camera_problems"] = report.judge_camera(result["camera"], desk_cam, staged["frames"], target.key)
        doctor = steps.doctor(path, target, first)
        result["doctor_problems"] = report.judge_doctor(doctor, target.key)
        result["doctor"] = doctor
        Steps.done()
        result["tests"] = steps.runtime_tests(path, target, first, log) if run_tests else None
        Steps.done()
    result["problems"] = (problems + result["camera_problems"] + result["doctor_problems"]
                          + report.judge_tests(result["tests"], target.key))
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _terminate)
    cache = Path(args.cache).absolute()
    work = REPO / ".cache" / "pi-check"
    log = work / "pi-check.log"
    t_start = time.monotonic()
    try:
        try:
            targets = select(names(args.roots), names(args.installs), args.quick)
        except KeyError as exc:
            raise Fail(str(exc.args[0]), 2) from None
        if args.boards is None:
            args.boards = "pi4" if args.quick else ",".join(BOARDS)
        unknown = [b for b in names(args.boards) or [] if b not in BOARDS]
        if unknown or not targets:
            raise Fail(f"unknown board(s) {unknown}; choose from {', '.join(BOARDS)}" if unknown else
                       "no target left: --roots and --installs choose nothing together", 2)
        roots = list(dict.fromkeys(t.root for t in targets))
        qemus = sorted({r.qemu for r in roots if not native(r)})
        say(f"host {platform.machine()} ({host_cpu()}); targets: {', '.join(t.key for t in targets)}; log: {log}")
        host.preflight(qemus, log)  # writes nothing when not root
        binfmt = host.ensure_binfmt(qemus, log)
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as fh:
            fh.write(f"\npi-check {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(sys.argv[1:])}\n")
        with locked(cache / ".lock"):
            paths = {r: cache / r.name for r in roots}
            for path in paths.values():
                rootfs.unmount_all(path)  # we hold the lock: a mount left in a root is from a killed run
                if args.rebuild:
                    rootfs.safe_rmtree(path)
            to_build = [r for r in roots if not rootfs.root_is_current(paths[r], r, args.mirror or "")]
            if to_build and not args.mirror:
                raise Fail("no Debian mirror in this host's apt sources; set EDGECNN_PI_MIRROR=http://deb.debian.org/debian", 2)
            for r in to_build:
                host.reachable(f"{args.mirror.rstrip('/')}/dists/{r.suite}/Release", "the Debian mirror",
                               "Set EDGECNN_PI_MIRROR to a reachable Debian mirror, or fix the network.")
            checked = bool(to_build or any(install.venv_plan(paths[t.root], t, "") == "missing" for t in targets))
            if checked:  # before anything is downloaded (the wheel build fetches setuptools)
                host.check_registry()
            wheel = install.build_wheel(work, log)
            digests = install.wheel_digests(wheel)
            if not checked and any(install.venv_plan(paths[t.root], t, digests[0]) != "ok" for t in targets):
                host.check_registry()
            staged = desktop = desk_cam = None
            if not args.setup_only:
                staged = stage.stage_files(work, stage.get_model(args.model, work, log))
                desktop, desk_cam = steps.desktop_classify(staged), steps.desktop_camera(staged)
            results, built = [], {}
            with Steps(len(roots) + STEPS_PER_TARGET * len(targets)):
                for r in roots:
                    path = paths[r]
                    built[r.name] = rootfs.ensure_root(path, r, args.mirror or "", log)
                    rootfs.prepare_root_files(path, r, binfmt)
                    wheel_in_root = f"{PI_HOME}/wheels/{wheel.name}"
                    (path / wheel_in_root.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(wheel, path / wheel_in_root.lstrip("/"))
                    if staged:
                        steps.copy_to_pi(path, staged)
                    Steps.done()
                    boards = [NATIVE] if native(r) else boards_for(r, names(args.boards) or [])
                    for t in (t for t in targets if t.root == r):
                        results.append(check_target(path, t, boards, wheel_in_root, digests, staged, desktop or {},
                                                    desk_cam or {}, not args.no_tests, log))
            return finish(results, staged, desktop, built, time.monotonic() - t_start)
    except Fail as exc:
        print(f"pi-check: error: {exc}", file=sys.stderr, flush=True)
        return exc.code
    except KeyboardInterrupt:
        print("pi-check: interrupted", file=sys.stderr)
        return 130


def finish(results: list[dict], staged: dict | None, desktop: dict | None, built: dict, seconds: float) -> int:
    """Print the tables and the verdict; 1 when any check of any target failed."""
    cold = {k: v for k, v in built.items() if v is not None}
    timing = (f"pi-check took {seconds:.0f} s on {host_cpu()} (shared; "
              + (f"roots built now: {', '.join(f'{k} {v:.0f} s' for k, v in cold.items())}" if cold else
                 "all roots cached") + ")")
    if staged is None:
        say(f"setup done. {timing}")
        return 0
    runs = {f"{r['target'].key}@{b}": run for r in results for b, run in r["runs"].items()}
    if runs:
        print()
        print(report.render_labels(staged["images"], desktop, runs))
        print()
        print(report.render_latency(results, desktop))
    print()
    print(report.render_summary(results, len(staged["images"]), staged["frames"]))
    for r in results:
        for board, run in r["runs"].items():
            px, same, worst = report.score_agreement(staged["images"], desktop, run)
            print(f"{r['target'].key}@{board}: 28x28 inputs identical to the desktop's on {px}/{len(staged['images'])}, "
                  f"top-1 score equal on {same} (largest difference {worst:.4f})")
    print(timing)
    problems = [p for r in results for p in r.get("problems", [])]
    if problems:
        print(f"pi-check: FAIL: {len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    ran = [r["target"].key for r in results if not r.get("no_wheel") and not r["target"].install.control]
    tests = any(r.get("tests") for r in results)
    control = [r["target"].key for r in results if r["target"].install.control]
    no_wheel = [r["target"].key for r in results if r.get("no_wheel")]
    print(f"pi-check: PASS: {', '.join(ran)}: every image and video frame got the desktop's label, doctor told the "
          "truth about every import" + (", the runtime tests passed" if tests else " (runtime tests not run)")
          + (f"; control {', '.join(control)}: apt's cv2 fails beside numpy 2 and doctor says why" if control else "")
          + (f"; no wheel: {', '.join(no_wheel)}" if no_wheel else ""))
    return 0
