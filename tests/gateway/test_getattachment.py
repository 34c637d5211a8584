"""GetAttachment (12.1–14.1): raw bytes by AttachmentName; HTTP 500 for what is not there or
not visible to a quarantined device."""
from __future__ import annotations

import pytest
from commandhelp import run
from synchelp import Harness

from store.types import FolderType


@pytest.fixture
async def env(sqlite_store):
    return await Harness.create(sqlite_store)


async def test_attachment_bytes_and_refusals(env):
    user = await env.store.get_user("alice@contoso.com")
    inbox = await env.store.find_folder(user.id, FolderType.INBOX)
    items = await env.store.list_items(user.id, inbox.id)
    mail = next(i for i in items if i.attachments)
    reference = mail.attachments[0].file_reference
    _, content = await env.store.get_attachment(user.id, reference)
    legacy = await env.client(version="12.1")
    answer = await run(legacy, "GetAttachment", attachment_name=reference)
    assert (answer.http_status, answer.body) == (200, content)
    assert answer.content_type == mail.attachments[0].content_type
    assert (await run(legacy, "GetAttachment", attachment_name="2:999:1")).http_status == 500
    quarantined = await env.client(device_id="Q", version="12.1", state="quarantined",
                                   notice_server_id=items[-1].server_id)
    assert (await run(quarantined, "GetAttachment",
                      attachment_name=reference)).http_status == 500
