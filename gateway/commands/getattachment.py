"""GetAttachment (MS-ASCMD 2.2.1.8, 12.1–14.1): an attachment's bytes, named by the
``AttachmentName`` query parameter (its FileReference), as the raw answer body with the
attachment's content type. As Exchange does, an attachment that is not there — or that the
device may not see, a quarantined device seeing only its notice — is HTTP 500."""
from __future__ import annotations

from gateway.commands.base import CommandContext, CommandResult
from gateway.http import REASON_HEADER
from store.api import NotFound

NOT_FOUND_STATUS = 500


async def handle(ctx: CommandContext) -> CommandResult:
    reference = ctx.request.attachment_name
    if not reference:
        return CommandResult(http_status=400, headers={REASON_HEADER: "no AttachmentName"})
    try:
        item, content = await ctx.services.store.get_attachment(ctx.user.id, reference)
    except NotFound:
        return _not_found()
    if not ctx.mailbox.can_see(item.server_id):
        return _not_found()
    attachment = next(a for a in item.attachments if a.file_reference == reference)
    return CommandResult(body=content, content_type=attachment.content_type,
                         trace_note={"attachment": attachment.name, "bytes": len(content)})


def _not_found() -> CommandResult:
    return CommandResult(http_status=NOT_FOUND_STATUS,
                         headers={REASON_HEADER: "attachment not found"})
