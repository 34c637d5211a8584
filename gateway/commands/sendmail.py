"""SendMail (MS-ASCMD 2.2.1.17): submit a new message; see `composemail`."""
from __future__ import annotations

from gateway.commands.base import CommandContext, CommandResult
from gateway.commands.composemail import read_submission, refuse_when_quarantined, send


async def handle(ctx: CommandContext) -> CommandResult:
    refuse_when_quarantined(ctx)
    submission = read_submission(ctx)
    return await send(ctx, submission, submission.mime)
