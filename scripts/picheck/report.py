"""Judging what ran in the roots against the desktop, and the tables pi-check prints. Pure functions.

Every `judge_*` returns a list of problems (empty: passed); `render_*` returns text.
"""

from __future__ import annotations

import statistics
from pathlib import Path

#: Modules the README recipe must leave importable in every root (apt's OpenCV is the camera stack).
REQUIRED_IMPORTS = ("opencv",)


def by_path(rows: list[dict]) -> dict[str, dict]:
    return {Path(r.get("path", "")).as_posix(): r for r in rows}


def answer(row: dict | None) -> str | None:
    """A JSON answer's label, "no item" for a picture with none, None for no answer."""
    if row is None:
        return None
    if row.get("no_item"):
        return "no item"
    return row.get("label")


def judge_labels(images: list[tuple[str, str]], desktop_rows: list[dict], pi_rows: list[dict], tag: str) -> list[str]:
    """Each image must get the desktop's answer."""
    want, got = by_path(desktop_rows), by_path(pi_rows)
    problems = []
    for path, _ in images:
        d, p = answer(want.get(path)), answer(got.get(path))
        if d is None:
            problems.append(f"{path}: the desktop runtime gave no answer")
        elif p != d:
            problems.append(f"{path}: desktop says {d!r}, {tag} says {p!r}")
    return problems


def judge_camera(pi: dict, desktop: dict, frames: int, tag: str) -> list[str]:
    """The Pi's camera run must read every frame of the video and label each as the desktop did."""
    problems = []
    if desktop["code"] != 0 or len(desktop["frames"]) != frames:
        problems.append(f"desktop camera run: exit {desktop['code']}, {len(desktop['frames'])}/{frames} frames "
                        f"({desktop['stderr'][-200:]})")
    if pi["code"] != 0:
        problems.append(f"{tag} camera run failed (exit {pi['code']}): {pi['stderr'][-300:]}")
    if len(pi["frames"]) != frames:
        problems.append(f"{tag} camera run read {len(pi['frames'])} of the video's {frames} frames")
    for mine, theirs in zip(pi["frames"], desktop["frames"]):
        if (mine.get("frame"), answer(mine)) != (theirs.get("frame"), answer(theirs)):
            problems.append(f"{tag} camera frame {mine.get('frame')}: {answer(mine)!r}, desktop frame "
                            f"{theirs.get('frame')}: {answer(theirs)!r}")
    return problems


def judge_doctor(result: dict, tag: str, required: tuple[str, ...] = REQUIRED_IMPORTS) -> list[str]:
    """doctor must say "ok" exactly for the modules that really import, and the recipe must leave `required` working."""
    checks, truth = result["checks"], result["truth"]
    if not checks:
        return [f"{tag} edgecnn doctor --json gave no JSON (exit {result['code']}): {result['stderr'][-300:]}"]
    problems = []
    for name, real in truth.items():
        said = checks.get(name, {}).get("status")
        if real["imports"] != (said == "ok"):
            problems.append(f"{tag} doctor says {name} is {said!r}, but importing it "
                            + ("works" if real["imports"] else f"fails: {real['error']}"))
    for name in required:
        if not truth.get(name, {}).get("imports"):
            problems.append(f"{tag} {name} does not import in the venv the README recipe made: "
                            f"{truth.get(name, {}).get('error', '?')}")
    failed = [n for n, c in checks.items() if c.get("status") == "FAIL"]
    if bool(failed) != (result["code"] == 1):
        problems.append(f"{tag} doctor exit {result['code']} with FAIL checks {failed}")
    return problems


def judge_control(result: dict, tag: str) -> list[str]:
    """The numpy-2 control: apt's cv2 must fail to import, and doctor must FAIL it with the ABI explanation."""
    opencv = result["checks"].get("opencv", {})
    if result["truth"].get("opencv", {}).get("imports"):
        return [f"{tag} control: apt's cv2 imports beside numpy 2 (the control no longer shows the failure)"]
    problems = judge_doctor(result, tag, required=())
    if opencv.get("status") != "FAIL" or "was built for numpy 1." not in opencv.get("detail", ""):
        problems.append(f"{tag} control: doctor did not explain the numpy mismatch: {opencv}")
    return problems


def judge_tests(result: dict | None, tag: str) -> list[str]:
    if result is None:
        return []
    if result["code"] == 0:
        return []
    return [f"{tag} pytest tests/runtime: {result['summary']}"] + [f"  {f}" for f in result["failures"]]


def render_labels(images: list[tuple[str, str]], desktop: dict, runs: dict[str, dict]) -> str:
    """Image by image: the truth, the desktop's label and score, then '= ms' per emulated run or 'X label'."""
    want = by_path(desktop["rows"])
    keys = list(runs)
    width = max([len(k) for k in keys] + [8]) + 1
    header = f"{'image':32} {'truth':11} {'desktop':17}" + "".join(f" {k:>{width}}" for k in keys)
    lines = ["labels: '=' the emulated Pi's label equals the desktop's, then its per-image latency in ms "
             "(qemu-emulated, not a Pi's speed)", header, "-" * len(header)]
    ms = {k: {x["path"]: x["ms"] for x in runs[k]["latency"]["images"]} for k in keys}
    for path, truth in images:
        d = want.get(path, {})
        line = f"{path:32} {truth[:11]:11} {str(answer(d))[:11]:11} {d.get('score') or 0:.3f}"
        for k in keys:
            got = answer(by_path(runs[k]["rows"]).get(path))
            cell = f"= {ms[k].get(path, float('nan')):.1f}" if got == answer(d) else f"X {str(got)[:width - 3]}"
            line += f" {cell:>{width}}"
        lines.append(line)
    return "\n".join(lines)


def score_agreement(images: list[tuple[str, str]], desktop: dict, run: dict) -> tuple[int, int, float]:
    """(identical 28x28 inputs, equal top-1 scores, largest top-1 score difference) against the desktop."""
    want = by_path(desktop["rows"])
    desk_px = {x["path"]: x["pixels"] for x in desktop["latency"]["images"]}
    same_px = sum(1 for x in run["latency"]["images"] if desk_px.get(x["path"]) == x["pixels"])
    same, worst = 0, 0.0
    for row in run["rows"]:
        d = want.get(Path(row.get("path", "")).as_posix(), {})
        if row.get("score") is not None and d.get("score") is not None:
            same += float(row["score"]) == float(d["score"])
            worst = max(worst, abs(float(row["score"]) - float(d["score"])))
    return same_px, same, worst


def render_summary(results: list[dict], n_images: int, frames: int) -> str:
    """One row per target: the versions, then each check's outcome, or why it could not run."""
    lines = ["| root | install | interpreter, numpy (from) | classify vs desktop | camera (apt OpenCV) | doctor | "
             "runtime tests |", "|---|---|---|---|---|---|---|"]
    for r in results:
        t = r["target"]
        if r.get("no_wheel"):
            lines.append(f"| {t.root.name} | {t.install.name} | {r['no_wheel']} | - | - | - | - |")
            continue
        if t.install.control:
            opencv = r["doctor"]["checks"].get("opencv", {})
            lines.append(f"| {t.root.name} | {t.install.name} (control) | numpy {r['info']['numpy']} from pip | - | "
                         f"cv2 does not import | {'FAIL, explained' if not r['problems'] else 'WRONG'}: "
                         f"{opencv.get('detail', '')[:90]}... | - |")
            continue
        info = r["info"]
        numpy_from = "apt" if info["numpy_from"].startswith("/usr/lib/python3/") else "pip"
        classify = ", ".join(f"{b}: {c['equal']}/{n_images}" for b, c in r["boards"].items())
        cam = r.get("camera")
        cam_text = "-" if cam is None else (f"{len(cam['frames'])}/{frames} frames, "
                                           f"{'labels equal' if not r['camera_problems'] else 'DIFFERS'}")
        doc = "ok" if not r["doctor_problems"] else "WRONG"
        tests = (r.get("tests") or {}).get("summary", "-")
        lines.append(f"| {t.root.name} | {t.install.name} | {t.install.interpreter_dist} {info['interpreter']}, "
                     f"numpy {info['numpy']} ({numpy_from}), Python {info['python']} | {classify} | {cam_text} | "
                     f"{doc} | {tests} |")
    return "\n".join(lines)


def render_latency(results: list[dict], desktop: dict) -> str:
    lines = []
    for r in results:
        for board, run in r.get("runs", {}).items():
            lat = run["latency"]
            lines.append(f"{r['target'].key}@{board}: {lat['backend']}, load {lat['load_ms']:.0f} ms, model call "
                         f"{lat['model_ms']:.2f} ms, per image {statistics.median(x['ms'] for x in lat['images']):.1f}"
                         " ms (median; EMULATED by qemu-user, NOT a Raspberry Pi's speed)")
    dl = desktop["latency"]
    lines.append(f"desktop: {dl['backend']}, load {dl['load_ms']:.0f} ms, model call {dl['model_ms']:.3f} ms, per image "
                 f"{statistics.median(x['ms'] for x in dl['images']):.2f} ms (median)")
    return "\n".join(lines)
