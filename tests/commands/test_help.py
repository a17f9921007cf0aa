"""Every command answers --help with at least one example, and the top level lists them all."""

import pytest

from edgecnn.cli import COMMANDS, build_parser, main


def registered_commands():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return list(sub.choices)


def test_every_planned_command_is_registered():
    assert registered_commands() == list(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_an_example(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"edgecnn {command}" in out.split("examples:")[1]


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "train" in capsys.readouterr().out
