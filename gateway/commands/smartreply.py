"""SmartReply (MS-ASCMD 2.2.1.20): reply with the server adding the original message."""
from __future__ import annotations

from gateway.commands.base import CommandContext, CommandResult
from gateway.commands.composemail import smart_send


async def handle(ctx: CommandContext) -> CommandResult:
    return await smart_send(ctx, "reply")
