"""What SendMail, SmartReply and SmartForward share (MS-ASCMD 2.2.1.17, .19, .20).

From 14.0 a client posts a ``ComposeMail`` document (``ClientId``, ``SaveInSentItems``,
``Source``, ``ReplaceMime``, the message as opaque ``Mime``); a 12.1 client posts the raw
MIME message and names the rest in the query (``SaveInSent=T``, ``ItemId``,
``CollectionId``, ``LongId``). `read_submission` turns either into one `Submission`;
`send` delivers it and answers as Exchange does: an empty 200 on success, a global status
otherwise. A quarantined device sends nothing (Status 130, SPEC §7).
"""
from __future__ import annotations

from dataclasses import dataclass

from gateway.commands.base import CommandContext, CommandResult
from gateway.content.compose import Verb, smart_message
from gateway.content.delivery import AlreadySent, NoRecipients, submit
from gateway.content.mail import eas_date
from gateway.content.mime import MimeError
from gateway.errors import CommandFailure
from protocol.status import GlobalStatus
from protocol.xml import child, opaque_bytes, text
from store.types import Item, WriteKey

# The WriteKey scope of a submitted message's ClientId (a resent message is Status 118).
CLIENT_ID_SCOPE = "ComposeMail"


@dataclass(frozen=True)
class Submission:
    mime: bytes
    save_in_sent: bool
    client_id: str | None = None
    source_item: str | None = None  # SmartReply/SmartForward: the original's server id
    source_folder: str | None = None
    replace_mime: bool = False


def read_submission(ctx: CommandContext) -> Submission:
    """The submission in either form; CommandFailure(107) when there is no message."""
    document = ctx.document
    if document is None:
        if not ctx.body.strip():
            raise CommandFailure(GlobalStatus.INVALID_MIME, "empty message")
        request = ctx.request
        return Submission(ctx.body, request.save_in_sent, None,
                          request.item_id or request.long_id, request.collection_id)
    mime_element = child(document, "ComposeMail:Mime")
    if mime_element is None:
        raise CommandFailure(GlobalStatus.INVALID_MIME, "no Mime element")
    source = child(document, "ComposeMail:Source")
    return Submission(
        mime=opaque_bytes(mime_element),
        save_in_sent=child(document, "ComposeMail:SaveInSentItems") is not None,
        client_id=text(document, "ComposeMail:ClientId"),
        source_item=(text(source, "ComposeMail:ItemId") or text(source, "ComposeMail:LongId"))
        if source is not None else None,
        source_folder=text(source, "ComposeMail:FolderId") if source is not None else None,
        replace_mime=child(document, "ComposeMail:ReplaceMime") is not None,
    )


def refuse_when_quarantined(ctx: CommandContext) -> None:
    if ctx.mailbox.quarantined:
        raise CommandFailure(GlobalStatus.ACCESS_DENIED, "device is quarantined")


async def send(ctx: CommandContext, submission: Submission, mime: bytes) -> CommandResult:
    """Deliver ``mime`` (the final message) and answer. The message is delivered with its
    ClientId in one transaction: one sent before under that ClientId — the client resends
    after a lost answer — is Status 118 and is not delivered again."""
    once = (WriteKey(ctx.device.id, CLIENT_ID_SCOPE, submission.client_id)
            if submission.client_id else None)
    try:
        report = await submit(ctx.services.store, ctx.user, mime, now=ctx.services.clock.now(),
                              save_in_sent=submission.save_in_sent, once=once)
    except AlreadySent:
        raise CommandFailure(GlobalStatus.MESSAGE_PREVIOUSLY_SENT,
                             "ClientId already sent") from None
    except NoRecipients:
        raise CommandFailure(GlobalStatus.MESSAGE_HAS_NO_RECIPIENT, "no recipient") from None
    except MimeError as exc:
        raise CommandFailure(GlobalStatus.INVALID_MIME, str(exc)) from None
    return CommandResult(document=None, trace_note={
        "delivered": report.delivered, "undeliverable": report.unknown,
        "external": report.external, "sent_item": report.sent_item,
    })


# Email2:LastVerbExecuted values (MS-ASEMAIL 2.2.2.45).
LAST_VERB = {"reply": 1, "forward": 3}


async def smart_send(ctx: CommandContext, verb: Verb) -> CommandResult:
    """SmartReply / SmartForward: the original must be an item this device may see
    (else Status 150); unless ReplaceMime, the server completes the message with it."""
    refuse_when_quarantined(ctx)
    submission = read_submission(ctx)
    original = await _original(ctx, submission)
    mime = submission.mime
    if not submission.replace_mime:
        attachments = [
            (attachment.name, attachment.content_type,
             (await ctx.services.store.get_attachment(ctx.user.id, attachment.file_reference))[1])
            for attachment in original.attachments
        ] if verb == "forward" else []
        try:
            mime = smart_message(mime, original, attachments, verb)
        except (ValueError, LookupError) as exc:
            raise CommandFailure(GlobalStatus.INVALID_MIME, str(exc)) from None
    result = await send(ctx, submission, mime)
    await ctx.services.store.update_item(
        ctx.user.id, original.server_id,
        data={"LastVerbExecuted": LAST_VERB[verb],
              "LastVerbExecutionTime": eas_date(ctx.services.clock.now())})
    return result


async def _original(ctx: CommandContext, submission: Submission) -> Item:
    if not submission.source_item:
        raise CommandFailure(GlobalStatus.INVALID_COMBINATION_OF_IDS, "no source item")
    item = await ctx.mailbox.get_item(submission.source_item)
    if item is None or (submission.source_folder and item.folder_id != submission.source_folder):
        raise CommandFailure(GlobalStatus.ITEM_NOT_FOUND, "source item not found")
    return item
