"""MIME messages in and out, with the standard library's `email` package (policy.default).

EAS carries whole messages as MIME: clients post them in SendMail, SmartReply and
SmartForward, and ask for them back as body type 4. This module is the one place that
parses and builds those bytes; the rest of the gateway works with `ParsedMessage`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

# EAS requires CRLF line ends in MIME it receives, and clients expect them in MIME they get.
CRLF_POLICY = policy.default.clone(linesep="\r\n")
# Body type 4 travels as a WBXML string, so the bytes must be plain ASCII.
SEVEN_BIT_POLICY = policy.SMTP.clone(cte_type="7bit")


@dataclass(frozen=True)
class MimePart:
    """One attachment (or inline part) of a message."""

    filename: str
    content_type: str
    content: bytes
    content_id: str | None = None
    is_inline: bool = False


@dataclass(frozen=True)
class ParsedMessage:
    """What the gateway needs from a MIME message, decoded."""

    message: EmailMessage
    sender: str  # the From header as written ("Name <addr>")
    to: tuple[str, ...]
    cc: tuple[str, ...]
    bcc: tuple[str, ...]
    subject: str
    date: datetime | None
    text: str
    html: str | None
    attachments: tuple[MimePart, ...] = field(default=())

    @property
    def recipients(self) -> list[str]:
        """Every envelope recipient's bare address (To, Cc and Bcc), in order, once each."""
        seen: dict[str, None] = {}
        for header in (*self.to, *self.cc, *self.bcc):
            for _, address in getaddresses([header]):
                if address:
                    seen.setdefault(address.lower(), None)
        return list(seen)

    def header(self, name: str) -> str | None:
        value = self.message.get(name)
        return None if value is None else str(value)


class MimeError(ValueError):
    """The bytes are not a message we can deliver (no headers, nothing to send)."""


def parse_message(data: bytes) -> ParsedMessage:
    """Parse MIME bytes. Raises `MimeError` when they hold no message headers at all."""
    message = BytesParser(policy=policy.default).parsebytes(data)
    if not message.keys():
        raise MimeError("no message headers")
    text, html = _bodies(message)
    return ParsedMessage(
        message=message,
        sender=_header(message, "From"),
        to=_address_list(message, "To"),
        cc=_address_list(message, "Cc"),
        bcc=_address_list(message, "Bcc"),
        subject=_header(message, "Subject"),
        date=_date(message),
        text=text,
        html=html,
        attachments=tuple(_attachments(message)),
    )


def to_crlf_bytes(message: EmailMessage) -> bytes:
    return message.as_bytes(policy=CRLF_POLICY)


def to_7bit_text(data: bytes) -> str:
    """MIME bytes as an ASCII string (8-bit parts re-encoded), for AirSyncBase:Data."""
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        message = BytesParser(policy=policy.default).parsebytes(data)
        return message.as_bytes(policy=SEVEN_BIT_POLICY).decode("ascii", errors="replace")


def without_bcc(data: bytes) -> bytes:
    """The message as recipients see it: Bcc is an envelope matter, never delivered."""
    message = BytesParser(policy=policy.default).parsebytes(data)
    if "Bcc" not in message:
        return data
    del message["Bcc"]
    return to_crlf_bytes(message)


def build_message(
    *, sender: str, to: Iterable[str], subject: str, text: str, html: str | None = None,
    date: datetime, cc: Iterable[str] = (), attachments: Iterable[MimePart] = (),
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    """A standard message: text (and HTML alternative), attachments, the usual headers."""
    message = EmailMessage(policy=policy.default)
    message["From"] = sender
    message["To"] = ", ".join(to)
    cc = list(cc)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = subject
    message["Date"] = format_datetime(date)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for part in attachments:
        maintype, _, subtype = part.content_type.partition("/")
        message.add_attachment(part.content, maintype=maintype, subtype=subtype or "octet-stream",
                               filename=part.filename, cid=part.content_id,
                               disposition="inline" if part.is_inline else "attachment")
    return message


def display_name(header: str) -> str:
    """``"Alice Wood <alice@contoso.com>"`` → ``"Alice Wood"`` (the address when unnamed)."""
    pairs = getaddresses([header])
    if not pairs:
        return header
    name, address = pairs[0]
    return name or address


def bare_address(header: str) -> str:
    pairs = getaddresses([header])
    return pairs[0][1].lower() if pairs and pairs[0][1] else ""


def format_address(name: str, address: str) -> str:
    return str(Address(display_name=name, addr_spec=address))


# --- reading a parsed message ---------------------------------------------------------

def _header(message: EmailMessage, name: str) -> str:
    # A long header folded right after its colon unfolds with a leading space ("Subject:
    # CRLF SP Action required ..."); the value does not include it.
    value = message.get(name)
    return "" if value is None else str(value).strip()


def _address_list(message: EmailMessage, name: str) -> tuple[str, ...]:
    headers = message.get_all(name) or []
    return tuple(str(h) for h in headers if str(h).strip())


def _date(message: EmailMessage) -> datetime | None:
    value = message.get("Date")
    if value is None:
        return None
    try:
        return parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None


def _bodies(message: EmailMessage) -> tuple[str, str | None]:
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    text = _content(text_part) if text_part is not None else ""
    html = _content(html_part) if html_part is not None else None
    if not text and html:
        text = html_to_text(html)
    return text, html


def _content(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # unknown charset or broken encoding
        content = (part.get_payload(decode=True) or b"").decode("utf-8", errors="replace")
    return content if isinstance(content, str) else content.decode("utf-8", errors="replace")


def _attachments(message: EmailMessage) -> Iterable[MimePart]:
    for part in message.iter_attachments():
        content = part.get_payload(decode=True) or b""
        content_id = part.get("Content-ID")
        yield MimePart(
            filename=part.get_filename() or "attachment",
            content_type=part.get_content_type(),
            content=content,
            content_id=str(content_id).strip("<>") if content_id else None,
            is_inline=part.get_content_disposition() == "inline",
        )


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML document, turning block ends into line breaks."""

    BREAKS = frozenset({"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4"})
    HIDDEN = frozenset({"style", "script", "head"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """A readable plain rendering of HTML (tags dropped, block ends kept as line breaks)."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).splitlines()]
    return "\n".join(line for line in lines if line)
