"""Every command answers --help with at least one example, and the top level lists them all."""

import re

import pytest

from edgecnn.cli import COMMANDS, build_parser, main


def registered_commands():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return list(sub.choices)


def command_modules():
    """Every module in edgecnn/commands that defines a sub-command (has `register`)."""
    import importlib
    import pkgutil

    import edgecnn.commands as package

    names = [m.name for m in pkgutil.iter_modules(package.__path__)]
    return sorted(n for n in names if hasattr(importlib.import_module(f"edgecnn.commands.{n}"), "register"))


def test_every_command_module_is_registered_and_runs_its_own_code():
    """A new commands/<name>.py left out of COMMANDS, or registered under another name or with
    another module's handler, fails here."""
    assert registered_commands() == list(COMMANDS)
    assert command_modules() == sorted(COMMANDS)
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in COMMANDS:
        func = sub.choices[name].get_default("func")
        assert callable(func) and func.__module__ == f"edgecnn.commands.{name}", (name, func)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_an_example(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"edgecnn {command}" in out.split("examples:")[1]


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    listed = re.findall(r"^    ([a-z]+) {2,}\S", out, re.MULTILINE)  # a command and its one-line help
    assert listed == list(COMMANDS), out
