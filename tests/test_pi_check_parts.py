"""The parts of scripts/picheck that run without root: targets, preflight messages, root caching, judging, staging.

The full check (`make pi-check`, tests/test_pi_check.py with PI_CHECK=1) needs root and
minutes; these need neither. The install recipe (the `[pi]` extra's markers) is checked
here too, by evaluating pyproject.toml's requirements for each Raspberry Pi OS release.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

from picheck import host, install, report, rootfs, targets  # noqa: E402
from picheck.shell import Fail  # noqa: E402

# --------------------------------------------------------------------------- the install recipe


def pi_extra_for(python: str, machine: str) -> dict[str, str]:
    """{name: specifier} of the [pi] extra's requirements that apply on this Python and CPU."""
    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["pi"]
    env = {"python_version": python, "platform_machine": machine, "extra": "pi"}
    reqs = [Requirement(r) for r in extra]
    return {r.name: str(r.specifier) for r in reqs if r.marker is None or r.marker.evaluate(env)}


def test_pi_extra_keeps_apt_numpy_1_on_bookworm_arm64():
    """Bookworm's apt modules (cv2, picamera2, simplejpeg) are built for numpy 1.24: pip must not bring 2.x."""
    reqs = pi_extra_for("3.11", "aarch64")
    assert "ai-edge-litert" in reqs
    assert reqs.get("numpy") == "<2"


def test_pi_extra_leaves_numpy_alone_on_trixie_and_the_desktop():
    """Trixie's apt numpy is 2.x (Python 3.13); a desktop keeps whatever numpy its other packages want."""
    assert "numpy" not in pi_extra_for("3.13", "aarch64")
    assert "numpy" not in pi_extra_for("3.11", "x86_64")
    assert "ai-edge-litert" in pi_extra_for("3.13", "aarch64")


def test_pi_extra_has_no_litert_on_32_bit():
    reqs = pi_extra_for("3.11", "armv7l")
    assert "ai-edge-litert" not in reqs and "tqdm" in reqs


# --------------------------------------------------------------------------- targets


def test_quick_is_trixie_arm64_litert_and_full_covers_every_root_and_install():
    assert [t.key for t in targets.select(None, None, quick=True)] == ["trixie-arm64:litert"]
    keys = {t.key for t in targets.select(None, None, quick=False)}
    assert keys == {f"{r}:{i}" for r in targets.ROOTS for i in ("litert", "tflite214")} | {"bookworm-arm64:numpy2"}
    assert [t.key for t in targets.select(["bookworm-armhf"], ["tflite214"], False)] == ["bookworm-armhf:tflite214"]
    with pytest.raises(KeyError, match="unknown root 'jessie-arm64'"):
        targets.select(["jessie-arm64"], None, False)


def test_every_root_has_apt_imaging_and_readme_venv_flags():
    for root in targets.ROOTS.values():
        assert {"python3-numpy", "python3-pil", "python3-opencv", "python3-venv"} <= set(root.packages)
    assert targets.VENV_FLAGS == ("--system-site-packages",)
    assert targets.LITERT.args("/w/e.whl") == ["/w/e.whl[pi]"]


def test_boards_fit_the_root_architecture_and_cpuinfo_looks_like_the_pi():
    armhf, arm64 = targets.ROOTS["bookworm-armhf"], targets.ROOTS["trixie-arm64"]
    assert [b.name for b in targets.boards_for(armhf, ["pi4", "pi5"])] == ["pi2"]
    assert [b.name for b in targets.boards_for(arm64, ["pi4", "pi2"])] == ["pi4"]
    text = targets.BOARDS["pi4"].cpuinfo(3)
    assert text.count("processor\t:") == 3 and "CPU part\t: 0xd08" in text
    assert text.endswith("Model\t\t: Raspberry Pi 4 Model B Rev 1.1\n")
    assert "(v7l)" in targets.BOARDS["pi2"].cpuinfo(1)


# --------------------------------------------------------------------------- preflight


def test_not_root_names_the_missing_tools_and_the_command():
    text = host.not_root_message([("qemu-arm-static", "qemu-user-static"), ("debootstrap", "debootstrap")])
    assert "sudo make pi-check" in text
    assert "missing: qemu-arm-static, debootstrap; install them with: sudo apt-get install debootstrap " \
           "qemu-user-static" in text
    assert "\n" not in host.not_root_message([])


def test_missing_tools_asks_for_each_qemu(monkeypatch):
    monkeypatch.setattr(host, "find_tool", lambda name: None if name.startswith("qemu-") else f"/usr/bin/{name}")
    assert host.missing_tools(["qemu-aarch64", "qemu-arm"]) == [("qemu-aarch64-static", "qemu-user-static"),
                                                                ("qemu-arm-static", "qemu-user-static")]


# --------------------------------------------------------------------------- root caching


def test_an_interrupted_root_build_is_never_reused(tmp_path, monkeypatch):
    root = targets.ROOTS["trixie-arm64"]
    final = tmp_path / root.name
    log = tmp_path / "log"

    def fake_debootstrap(fail: bool):
        def command(r, target, mirror):
            return ["sh", "-c", f"mkdir -p {target}/etc && echo {r.suite} > {target}/etc/debian_version"
                                + (" && exit 1" if fail else "")]
        return command

    monkeypatch.setattr(rootfs, "debootstrap_command", fake_debootstrap(fail=True))
    with pytest.raises(Fail):
        rootfs.ensure_root(final, root, "http://mirror", log)
    assert not final.exists() and (tmp_path / f"{root.name}.partial").exists()
    assert not rootfs.root_is_current(final, root, "http://mirror")

    monkeypatch.setattr(rootfs, "debootstrap_command", fake_debootstrap(fail=False))
    assert rootfs.ensure_root(final, root, "http://mirror", log) is not None
    assert not (tmp_path / f"{root.name}.partial").exists()
    stamp = json.loads((final / rootfs.ROOT_STAMP).read_text())
    assert stamp["suite"] == "trixie" and stamp["packages"] == list(root.packages)
    assert rootfs.ensure_root(final, root, "http://mirror", log) is None  # cached now
    other = targets.Root("trixie", "arm64", "another recipe")
    monkeypatch.setattr(targets.Root, "packages", property(lambda self: ("python3",)))
    assert not rootfs.root_is_current(final, other, "http://mirror")


# --------------------------------------------------------------------------- judging


def test_doctor_claiming_an_import_that_fails_is_caught():
    result = {"code": 0, "stderr": "", "checks": {"opencv": {"status": "ok"}, "ai-edge-litert": {"status": "ok"}},
              "truth": {"opencv": {"imports": False, "error": "ImportError: numpy.core.multiarray failed to import"},
                        "ai-edge-litert": {"imports": True, "error": ""}}}
    problems = report.judge_doctor(result, "t")
    assert any("doctor says opencv is 'ok', but importing it fails" in p for p in problems)
    assert any("opencv does not import in the venv the README recipe made" in p for p in problems)
    honest = dict(result, code=1, checks={"opencv": {"status": "FAIL"}, "ai-edge-litert": {"status": "ok"}})
    assert not any("doctor says" in p for p in report.judge_doctor(honest, "t"))


def test_the_numpy2_control_must_show_the_failure_and_doctor_must_explain_it():
    broken = {"imports": False, "error": "ImportError: numpy.core.multiarray failed to import"}
    explained = {"code": 1, "stderr": "", "truth": {"opencv": broken},
                 "checks": {"opencv": {"status": "FAIL", "detail": "... cv2 was built for numpy 1.24.2 (...)"}}}
    assert report.judge_control(explained, "t") == []
    vague = dict(explained, checks={"opencv": {"status": "FAIL", "detail": "ImportError: numpy.core.multiarray"}})
    assert any("did not explain the numpy mismatch" in p for p in report.judge_control(vague, "t"))
    healed = dict(explained, code=0, truth={"opencv": {"imports": True, "error": ""}},
                  checks={"opencv": {"status": "ok"}})
    assert any("no longer shows the failure" in p for p in report.judge_control(healed, "t"))


def test_camera_frames_must_all_be_read_and_labelled_as_on_the_desktop():
    desk = {"code": 0, "stderr": "", "frames": [{"frame": i, "label": "Bag", "no_item": False} for i in (1, 2, 3)]}
    same = dict(desk)
    assert report.judge_camera(same, desk, 3, "t") == []
    short = dict(desk, frames=desk["frames"][:2])
    assert any("read 2 of the video's 3 frames" in p for p in report.judge_camera(short, desk, 3, "t"))
    other = dict(desk, frames=desk["frames"][:2] + [{"frame": 3, "label": "Shirt"}])
    assert any("frame 3: 'Shirt'" in p for p in report.judge_camera(other, desk, 3, "t"))


def test_labels_must_match_image_by_image():
    images = [("a.png", "Bag"), ("b.png", "Shirt")]
    desk = [{"path": "a.png", "label": "Bag"}, {"path": "b.png", "label": "Shirt"}]
    assert report.judge_labels(images, desk, desk, "t") == []
    pi = [{"path": "a.png", "label": "Bag"}, {"path": "b.png", "no_item": True, "label": None}]
    assert report.judge_labels(images, desk, pi, "t") == ["b.png: desktop says 'Shirt', t says 'no item'"]


def test_venv_plan_rebuilds_when_the_recipe_changes(tmp_path):
    target = targets.Target(targets.ROOTS["bookworm-arm64"], targets.LITERT)
    assert install.venv_plan(tmp_path, target, "req") == "missing"
    stamp = install.venv_stamp(tmp_path, target)
    stamp.parent.mkdir(parents=True)
    stamp.write_text(json.dumps({"install": list(target.install.pip), "requires": "req", "venv": ["--system-site-packages"]}))
    assert install.venv_plan(tmp_path, target, "req") == "ok"
    assert install.venv_plan(tmp_path, target, "other") == "requirements changed"


@pytest.mark.slow
def test_staged_video_has_every_photo_as_frames(tmp_path):
    """The sample video is written losslessly and reads back with as many frames (the host's OpenCV)."""
    cv2 = pytest.importorskip("cv2")
    from picheck import stage

    images = stage.write_images(tmp_path)
    photos = [tmp_path / p for p, _ in images if p.endswith(".jpg")]
    frames = stage.write_video(tmp_path, photos)
    assert len(images) == 20 and frames == len(photos) * stage.FRAMES_PER_PHOTO
    cap = cv2.VideoCapture(str(tmp_path / stage.VIDEO))
    read = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        read.append(frame)
    assert len(read) == frames
    first = cv2.imread(str(photos[0]))
    assert (read[0] == first).all()  # lossless: the Pi and the desktop decode the same pixels
