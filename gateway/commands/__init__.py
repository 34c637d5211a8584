"""One module per EAS command, each with one entry point: ``async def handle(ctx)``.

`COMMANDS` maps the command name of the request line to its module under this package.
Modules are imported on first use; a command whose module is not there (yet) is answered
as unknown (HTTP 501) and is not listed in ``MS-ASProtocolCommands``.
"""
from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Awaitable, Callable
from functools import cache
from typing import TYPE_CHECKING

from protocol import versions

if TYPE_CHECKING:
    from gateway.commands.base import CommandContext, CommandResult

    Handler = Callable[[CommandContext], Awaitable[CommandResult]]

# In the order MS-ASHTTP numbers them (the base64 command codes).
COMMANDS: dict[str, str] = {
    "Sync": "sync",
    "SendMail": "sendmail",
    "SmartForward": "smartforward",
    "SmartReply": "smartreply",
    "GetAttachment": "getattachment",
    "FolderSync": "foldersync",
    "FolderCreate": "foldercreate",
    "FolderDelete": "folderdelete",
    "FolderUpdate": "folderupdate",
    "MoveItems": "moveitems",
    "GetItemEstimate": "getitemestimate",
    "MeetingResponse": "meetingresponse",
    "Search": "search",
    "Settings": "settings",
    "Ping": "ping",
    "ItemOperations": "itemoperations",
    "Provision": "provision",
    "ResolveRecipients": "resolverecipients",
    "ValidateCert": "validatecert",
    "Find": "find",
}

# The versions a command exists in (MS-ASCMD 2.2.1, "Protocol Versions" of each command):
# (first, last); a known command outside its range is "not supported" (Status 137).
VERSION_RANGE: dict[str, tuple[str, str]] = {
    "GetAttachment": ("12.1", "14.1"),  # replaced by ItemOperations Fetch in 16.0
    "Find": ("16.1", "16.1"),
}


def _key(name: str) -> str | None:
    """The canonical command name for ``name`` (command names are matched exactly by
    Exchange; we accept any case, since some clients write ``FOLDERSYNC``)."""
    for command in COMMANDS:
        if command.lower() == name.lower():
            return command
    return None


def canonical(name: str) -> str | None:
    """The served command called ``name`` (any case), None when unknown or not built."""
    command = _key(name)
    return command if command is not None and is_available(command) else None


@cache
def is_available(command: str) -> bool:
    module = COMMANDS.get(command)
    return module is not None and importlib.util.find_spec(f"{__name__}.{module}") is not None


def served() -> list[str]:
    """Every command this server answers, for ``MS-ASProtocolCommands``."""
    return [command for command in COMMANDS if is_available(command)]


def supports(command: str, version: str) -> bool:
    first, last = VERSION_RANGE.get(command, (versions.SUPPORTED[0], versions.LATEST))
    return versions.at_least(version, first) and versions.at_least(last, version)


def handler(command: str) -> Handler:
    """The ``handle`` coroutine function of a served command (KeyError when unknown)."""
    module = importlib.import_module(f"{__name__}.{COMMANDS[command]}")
    return module.handle
