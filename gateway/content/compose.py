"""SmartReply and SmartForward messages: the client's new text plus the original.

Without ``ReplaceMime`` the client sends only what it wrote, and the server adds the
original message (MS-ASCMD 2.2.1.19/2.2.1.20): a reply quotes the original text below the new
text; a forward appends the original text under a header block and carries the original's
attachments along. With ``ReplaceMime`` the client's MIME is the whole message and is sent
as it is. Pure: bytes and items in, bytes out.
"""
from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html import escape
from typing import Literal

from gateway.content.mime import to_crlf_bytes
from store.types import Item

Verb = Literal["reply", "forward"]


def smart_message(client_mime: bytes, original: Item,
                  attachments: list[tuple[str, str, bytes]], verb: Verb) -> bytes:
    """The message to deliver: the client's, completed with the original per ``verb``.
    ``attachments`` are the original's (file name, content type, bytes), used on forward."""
    message = BytesParser(policy=policy.default).parsebytes(client_mime)
    if verb == "reply":
        _thread(message, original)
    _append_original(message, original, verb)
    if verb == "forward":
        existing = {part.get_filename() for part in message.iter_attachments()}
        for name, content_type, content in attachments:
            if name in existing:
                continue
            maintype, _, subtype = content_type.partition("/")
            _make_mixed(message)
            message.add_attachment(content, maintype=maintype, subtype=subtype or "octet-stream",
                                   filename=name)
    return to_crlf_bytes(message)


def _thread(message: EmailMessage, original: Item) -> None:
    """In-Reply-To and References, so the reply joins the original's thread."""
    message_id = message_id_of(original)
    if not message_id:
        return
    if "In-Reply-To" not in message:
        message["In-Reply-To"] = message_id
    if "References" not in message:
        message["References"] = message_id


def message_id_of(item: Item) -> str | None:
    """The original's Message-ID: kept in its data when delivered here, else in its MIME."""
    if item.data.get("MessageId"):
        return str(item.data["MessageId"])
    if not item.mime:
        return None
    headers = BytesParser(policy=policy.default).parsebytes(item.mime, headersonly=True)
    value = headers.get("Message-ID")
    return str(value).strip() if value else None


def _append_original(message: EmailMessage, original: Item, verb: Verb) -> None:
    quoted_text = _original_text(original, verb)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    if text_part is None and html_part is None:
        if message.is_multipart():
            message.add_attachment(quoted_text, disposition="inline")
        else:
            message.set_content(quoted_text)
        return
    if text_part is not None:
        text_part.set_content(_text_of(text_part) + "\n\n" + quoted_text)
    if html_part is not None:
        html_part.set_content(_with_original_html(_text_of(html_part), original, verb),
                              subtype="html")


def _text_of(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError):
        content = (part.get_payload(decode=True) or b"").decode("utf-8", errors="replace")
    return content if isinstance(content, str) else content.decode("utf-8", errors="replace")


def _header_block(original: Item) -> list[str]:
    data = original.data
    lines = [f"From: {data.get('From', '')}", f"Sent: {data.get('DateReceived', '')}",
             f"To: {data.get('To', '')}"]
    if data.get("Cc"):
        lines.append(f"Cc: {data['Cc']}")
    lines.append(f"Subject: {data.get('Subject', '')}")
    return lines


def _original_text(original: Item, verb: Verb) -> str:
    body = original.body_text or ""
    if verb == "reply":
        quoted = "\n".join("> " + line for line in body.splitlines())
        return f"On {original.data.get('DateReceived', '')}, {original.data.get('From', '')} " \
               f"wrote:\n{quoted}"
    return "\n".join(["-------- Forwarded message --------", *_header_block(original), "",
                      body])


def _with_original_html(html: str, original: Item, verb: Verb) -> str:
    if original.body_html:
        inner = original.body_html
    else:
        inner = "<br>".join(escape(line) for line in (original.body_text or "").splitlines())
    header = "<br>".join(escape(line) for line in _header_block(original))
    block = (f"<hr><div>{header}</div><blockquote>{inner}</blockquote>" if verb == "forward"
             else f"<blockquote>{inner}</blockquote>")
    closing = html.lower().rfind("</body>")
    return html[:closing] + block + html[closing:] if closing >= 0 else html + block


def _make_mixed(message: EmailMessage) -> None:
    if message.get_content_type() != "multipart/mixed":
        message.make_mixed()
