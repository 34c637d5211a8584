"""SPEC §8 names the command line as a contract that tests outside the project rely on:
every command and option named there must exist with that exact spelling."""
from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from gateway.cli import app

# (command path, options its help must list) — SPEC §8, word for word.
CONTRACT = [
    ("serve", ["--config", "--db", "--http", "--https", "--workers", "--admin-token",
               "--clock", "--no-demo"]),
    ("policy show", ["--tenant"]),
    ("policy set", ["--tenant"]),
    ("clock show", []),
    ("clock advance", []),
    ("clock set", []),
    ("devices list", ["--user", "--state"]),
    ("devices show", []),
    ("devices choose", []),
    ("devices trace", []),
    ("devices wipe", ["--account-only"]),
    ("mail deliver", ["--to", "--subject", "--body", "--from"]),
    ("wbxml decode", []),
    ("wbxml encode", ["-o"]),
    ("emulate", ["--profile", "--user", "--password", "--url"]),
    ("load", ["--devices", "--duration", "--profile-mix", "--url"]),
    ("faults add", []),
    ("faults list", []),
    ("faults clear", []),
    ("faults load", []),
]
ADMIN_COMMANDS = ["policy show", "clock show", "devices list", "mail deliver", "faults list"]


def _help(path: str) -> str:
    result = CliRunner().invoke(app, [*path.split(), "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return re.sub(r"\x1b\[[0-9;]*m", "", result.output)


@pytest.mark.parametrize(("path", "options"), CONTRACT, ids=[path for path, _ in CONTRACT])
def test_every_named_command_and_option_exists(path: str, options: list[str]) -> None:
    text = _help(path)
    missing = [option for option in options if not re.search(rf"(?<![\w-]){option}(?![\w-])", text)]
    assert not missing, f"`easgate {path}` lacks {missing}"


@pytest.mark.parametrize("path", ADMIN_COMMANDS)
def test_admin_commands_take_url_and_token(path: str) -> None:
    text = _help(path)
    assert "--url" in text and "--token" in text
    assert "EASGATE_ADMIN_TOKEN" in text


def test_top_level_help_lists_every_group() -> None:
    text = _help("")
    for name in ("serve", "policy", "clock", "devices", "mail", "wbxml", "emulate", "load",
                 "faults"):
        assert re.search(rf"^\W*{name}\b", text, re.MULTILINE), name
