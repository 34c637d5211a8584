"""The command line of an EAS request, as a client writes it (MS-ASHTTP 2.2.1.1.1).

Two forms: the plain query (``?Cmd=Sync&User=…&DeviceId=…&DeviceType=…``, with the version
and the policy key in headers) and the base64-encoded query value that packs the same facts
into bytes (section 2.2.1.1.1.1), used by Windows clients. Both are written from the same
`protocol.request.EASRequest` the gateway parses them into, so the two sides cannot drift.
"""
from __future__ import annotations

from urllib.parse import quote, urlencode

from protocol.request import EASRequest, encode_base64_query

QUERY_FORMS = ("plain", "base64")

# EASRequest fields → the plain form's parameter names
_PLAIN_PARAMETERS = {
    "attachment_name": "AttachmentName", "collection_id": "CollectionId", "item_id": "ItemId",
    "long_id": "LongId", "occurrence": "Occurrence",
}


def plain_query(request: EASRequest) -> tuple[str, dict[str, str]]:
    """The plain query string and the headers that go with it."""
    params = {"Cmd": request.command, "User": request.user or "",
              "DeviceId": request.device_id, "DeviceType": request.device_type}
    for field, name in _PLAIN_PARAMETERS.items():
        value = getattr(request, field)
        if value:
            params[name] = value
    if request.save_in_sent:
        params["SaveInSent"] = "T"
    headers = {"MS-ASProtocolVersion": request.protocol_version}
    if request.policy_key is not None:
        headers["X-MS-PolicyKey"] = request.policy_key
    if request.accept_multipart:
        headers["MS-ASAcceptMultiPart"] = "T"
    return urlencode(params), headers


def base64_query(request: EASRequest) -> tuple[str, dict[str, str]]:
    """The base64-encoded query value. It carries the version and the policy key itself,
    so no MS-ASProtocolVersion or X-MS-PolicyKey header goes with it (MS-ASHTTP
    2.2.1.1.2.8). Percent-encoded, so that no "+" of the base64 alphabet reads as a space."""
    return quote(encode_base64_query(request), safe=""), {}


def encode(request: EASRequest, form: str) -> tuple[str, dict[str, str]]:
    """The query string and headers for ``form`` ``"plain"`` or ``"base64"``."""
    if form == "base64":
        return base64_query(request)
    if form == "plain":
        return plain_query(request)
    raise ValueError(f"unknown query form {form!r}; known: {', '.join(QUERY_FORMS)}")
