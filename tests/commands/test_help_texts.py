"""Every option of every command has help in plain words, and the camera's headless line says how to get a window."""

from __future__ import annotations

import argparse

import pytest

from edgecnn.cli import COMMANDS, build_parser

def options(command: str) -> list[argparse.Action]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return [a for a in sub.choices[command]._actions if a.option_strings and a.dest != "help"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_has_help(command):
    missing = [a.option_strings[0] for a in options(command) if not (a.help or "").strip()]
    assert missing == []


@pytest.mark.parametrize("command", COMMANDS)
def test_no_python_none_in_help(command):
    said = [a.option_strings[0] for a in options(command)
            if "None" in (a.help or "")]
    assert said == []


def test_list_defaults_read_as_the_user_types_them(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bench", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: 1)" in out and "[1]" not in out


def test_headless_opencv_message_names_the_fix(monkeypatch):
    """The one line `edgecnn camera` prints when it cannot open a window, for the headless OpenCV build."""
    import importlib.util

    import edgecnn.runtime.camera as camera

    class FakeCv2:
        class error(Exception):
            pass

        @staticmethod
        def namedWindow(name: str) -> None:
            raise FakeCv2.error("The function is not implemented")

    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    monkeypatch.setattr(camera, "_import_cv2", lambda: FakeCv2)
    ok, why = camera.display_available()
    assert not ok
    assert "pip install opencv-python " in why + " " and "opencv-python-headless" in why
    assert "python3-opencv" in why and "--json" in why


def test_no_display_message_says_the_text_is_the_output(monkeypatch):
    import sys

    import edgecnn.runtime.camera as camera

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    ok, why = camera.display_available()
    assert not ok and "headless Pi" in why and "--json" in why
