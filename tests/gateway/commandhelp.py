"""Run one of the mail commands the way the dispatcher does, over the sync tests' harness:
through the real WBXML codec, with `CommandFailure` turned into the wire answer."""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from lxml import etree
from synchelp import Client

from gateway.commands.base import CommandContext, answered
from gateway.errors import CommandFailure, failure_answer
from gateway.mailbox import MailboxView
from protocol import wbxml
from protocol.request import EASRequest


@dataclass
class Answer:
    http_status: int
    document: etree._Element | None
    body: bytes | None = None
    content_type: str | None = None


async def run(client: Client, command: str, document: etree._Element | None = None, *,
              body: bytes = b"", **request_fields: object) -> Answer:
    store = client.env.store
    assert client.device is not None
    client.device = await store.get_device_by_pk(client.device.id)
    if document is not None:
        document = wbxml.decode(wbxml.encode(document))
    request = EASRequest(command=command, device_id=client.device_id, device_type="TestDevice",
                         protocol_version=client.version, **request_fields)  # type: ignore[arg-type]
    ctx = CommandContext(request=request, document=document, user=client.user,
                         device=client.device, services=client.env.services,
                         mailbox=await MailboxView.load(client.env.services, client.user,
                                                        client.device),
                         body=body)
    module = importlib.import_module(f"gateway.commands.{command.lower()}")
    try:
        result = await answered(await module.handle(ctx))
    except CommandFailure as failure:
        answer = failure_answer(command, failure.status, client.version)
        return Answer(answer.http_status,
                      None if answer.document is None
                      else wbxml.decode(wbxml.encode(answer.document)))
    document = None if result.document is None else wbxml.decode(wbxml.encode(result.document))
    return Answer(result.http_status, document, result.body, result.content_type)
