"""Autodiscover for mobile clients (MS-ASCMD 2.2.1.1), the ``mobilesync`` schemas.

The request is plain XML (not WBXML) naming the user's address and the response schema the
client accepts; the answer points it at the ActiveSync endpoint. Pure: bytes in, bytes out.
"""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

REQUEST_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"
RESPONSE_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"
OUTER_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
CONTENT_TYPE = "text/xml"

# MS-ASCMD 2.2.3.58 ErrorCode: the two the mobilesync schema defines.
INVALID_REQUEST = 600
SCHEMA_NOT_SUPPORTED = 601

# No DTDs, no entities, no network: the body comes from anyone who can authenticate.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          huge_tree=False, remove_comments=True)


class AutodiscoverError(ValueError):
    def __init__(self, code: int, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class AutodiscoverRequest:
    email: str
    response_schema: str


def parse_request(body: bytes) -> AutodiscoverRequest:
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError:
        raise AutodiscoverError(INVALID_REQUEST, "Invalid Request") from None
    if root is None or etree.QName(root).localname != "Autodiscover":
        raise AutodiscoverError(INVALID_REQUEST, "Invalid Request")
    request = _child(root, "Request")
    email = _text(_child(request, "EMailAddress"))
    schema = _text(_child(request, "AcceptableResponseSchema"))
    if not email or "@" not in email:
        raise AutodiscoverError(INVALID_REQUEST, "Invalid Request")
    if schema and schema != RESPONSE_SCHEMA:
        raise AutodiscoverError(SCHEMA_NOT_SUPPORTED, "Requested schema version not supported")
    return AutodiscoverRequest(email=email, response_schema=schema or RESPONSE_SCHEMA)


def build_response(*, display_name: str, email: str, endpoint_url: str,
                   culture: str = "en:us") -> bytes:
    """The answer naming the MobileSync server for ``email``."""
    outer, response = _envelope()
    _sub(response, "Culture", culture)
    user = _sub(response, "User")
    _sub(user, "DisplayName", display_name)
    _sub(user, "EMailAddress", email)
    server = _sub(_sub(_sub(response, "Action"), "Settings"), "Server")
    _sub(server, "Type", "MobileSync")
    _sub(server, "Url", endpoint_url)
    _sub(server, "Name", endpoint_url)
    return _serialise(outer)


def build_error(code: int, message: str, *, time: str = "", error_id: str = "") -> bytes:
    outer, response = _envelope()
    error = _sub(response, "Error")
    if time:
        error.set("Time", time)
    if error_id:
        error.set("Id", error_id)
    _sub(error, "ErrorCode", str(code))
    _sub(error, "Message", message)
    _sub(error, "DebugData")
    return _serialise(outer)


def _envelope() -> tuple[etree._Element, etree._Element]:
    outer = etree.Element(f"{{{OUTER_SCHEMA}}}Autodiscover", nsmap={None: OUTER_SCHEMA})
    response = etree.SubElement(outer, f"{{{RESPONSE_SCHEMA}}}Response",
                                nsmap={None: RESPONSE_SCHEMA})
    return outer, response


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{RESPONSE_SCHEMA}}}{tag}")
    if text is not None:
        element.text = text
    return element


def _child(parent: etree._Element | None, name: str) -> etree._Element | None:
    if parent is None:
        return None
    for element in parent:
        if isinstance(element.tag, str) and etree.QName(element).localname == name:
            return element
    return None


def _text(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")
