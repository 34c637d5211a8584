"""What a trace must never show: credentials.

A trace is read by people who are not the device's owner (QA teams, demo audiences), so the
``Authorization`` value, cookies and any password are replaced before a trace is kept. The
password of an exchange is known exactly: it is the one in its Basic credentials, so it is
also scrubbed wherever else it appears (a query string, a MIME body, a DocumentLibrary
``ItemOperations:Password`` element).
"""
from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from xml.sax.saxutils import escape

from lxml import etree

MASK = "[redacted]"

# Headers whose whole value is a credential.
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie"}
)

# Query parameters that would carry a secret if a client put one there.
_SECRET_PARAM = re.compile(r"(?i)(pass(word)?|pwd|secret|token)")

# Any element whose local name names a password (ItemOperations:Password, Settings:Password …).
_PASSWORD_ELEMENTS = etree.XPath(
    "//*[contains(translate(local-name(), 'PASSWORD', 'password'), 'password')]"
)


def basic_password(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> str | None:
    """The password of a Basic ``Authorization`` header, or None."""
    for name, value in _pairs(headers):
        if name.lower() != "authorization":
            continue
        scheme, _, encoded = value.strip().partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return None
        for charset in ("utf-8", "latin-1"):
            try:
                _, sep, password = decoded.decode(charset).partition(":")
            except UnicodeDecodeError:
                continue
            return password if sep and password else None
    return None


def redact_headers(
    headers: Mapping[str, str] | Iterable[tuple[str, str]], password: str | None = None
) -> list[tuple[str, str]]:
    """Headers in order, credentials replaced by the mask (the auth scheme is kept)."""
    redacted = []
    for name, value in _pairs(headers):
        lowered = name.lower()
        if lowered in ("authorization", "proxy-authorization"):
            scheme = value.strip().partition(" ")[0]
            value = f"{scheme} {MASK}" if scheme else MASK
        elif lowered in SECRET_HEADERS:
            value = MASK
        else:
            value = scrub(value, password)
        redacted.append((name, value))
    return redacted


def redact_query(query: str, password: str | None = None) -> str:
    """A query string with secret-looking parameters masked and the password scrubbed."""
    parts = []
    for part in query.split("&") if query else []:
        name, sep, _value = part.partition("=")
        parts.append(f"{name}={MASK}" if sep and _SECRET_PARAM.search(name) else part)
    return scrub("&".join(parts), password)


def mask_password_elements(root: etree._Element) -> etree._Element:
    """Mask the content of every password element of ``root``, in place (call it on a
    copy: traces do, on the copy they print)."""
    for element in _PASSWORD_ELEMENTS(root):
        for attribute in list(element.attrib):
            del element.attrib[attribute]
        del element[:]
        element.text = MASK
    return root


def scrub(text: str, password: str | None) -> str:
    """``text`` with every occurrence of ``password`` (also XML-escaped) masked."""
    if not password or not text:
        return text
    for form in {password, escape(password), escape(password, {'"': "&quot;"})}:
        if form in text:
            text = text.replace(form, MASK)
    return text


def _pairs(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> Iterable[tuple[str, str]]:
    items = headers.items() if hasattr(headers, "items") else headers
    return [(str(name), str(value)) for name, value in items]
