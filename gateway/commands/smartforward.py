"""SmartForward (MS-ASCMD 2.2.1.19): forward with the server adding the original message
and its attachments."""
from __future__ import annotations

from gateway.commands.base import CommandContext, CommandResult
from gateway.commands.composemail import smart_send


async def handle(ctx: CommandContext) -> CommandResult:
    return await smart_send(ctx, "forward")
