"""MoveItems: moves between folders of one class, per-move statuses, and the notice of a
quarantined device."""
from __future__ import annotations

import pytest
from commandhelp import run
from synchelp import Harness

from protocol.xml import E, text
from store.types import FolderType


@pytest.fixture
async def env(sqlite_store):
    return await Harness.create(sqlite_store)


async def inbox(env, address="alice@contoso.com"):
    user = await env.store.get_user(address)
    folder = await env.store.find_folder(user.id, FolderType.INBOX)
    return await env.store.list_items(user.id, folder.id)


async def test_move_items_and_status_codes(env):
    alice = await env.client()
    user = alice.user
    mail = (await inbox(env))[0]
    deleted = await env.store.find_folder(user.id, FolderType.DELETED_ITEMS)
    calendar = await env.store.find_folder(user.id, FolderType.CALENDAR)

    def move(src, src_folder, dst):
        return E("Move:MoveItems", E("Move:Move", E("Move:SrcMsgId", src),
                                     E("Move:SrcFldId", src_folder), E("Move:DstFldId", dst)))

    answer = await run(alice, "MoveItems", move(mail.server_id, mail.folder_id, calendar.id))
    assert text(answer.document.find("{Move:}Response"), "Move:Status") == "2"
    answer = await run(alice, "MoveItems", move(mail.server_id, mail.folder_id, mail.folder_id))
    assert text(answer.document.find("{Move:}Response"), "Move:Status") == "4"
    answer = await run(alice, "MoveItems", move(mail.server_id, mail.folder_id, deleted.id))
    response = answer.document.find("{Move:}Response")
    assert text(response, "Move:Status") == "3"
    moved = await env.store.get_item(user.id, text(response, "Move:DstMsgId"))
    assert moved.folder_id == deleted.id and moved.data["Subject"] == mail.data["Subject"]
    answer = await run(alice, "MoveItems", move(mail.server_id, mail.folder_id, deleted.id))
    assert text(answer.document.find("{Move:}Response"), "Move:Status") == "1"


async def test_quarantined_device_may_move_only_the_notice(env):
    mails = await inbox(env)
    notice, other = mails[-1], mails[0]
    alice = await env.client(state="quarantined", notice_server_id=notice.server_id)
    deleted = await env.store.find_folder(alice.user.id, FolderType.DELETED_ITEMS)
    root = E("Move:MoveItems",
             E("Move:Move", E("Move:SrcMsgId", other.server_id),
               E("Move:SrcFldId", other.folder_id), E("Move:DstFldId", deleted.id)),
             E("Move:Move", E("Move:SrcMsgId", notice.server_id),
               E("Move:SrcFldId", notice.folder_id), E("Move:DstFldId", deleted.id)))
    answer = await run(alice, "MoveItems", root)
    first, second = answer.document.findall("{Move:}Response")
    assert text(first, "Move:Status") == "1"
    assert text(second, "Move:Status") == "3"
    device = await env.store.get_device_by_pk(alice.device.id)
    assert device.notice_server_id == text(second, "Move:DstMsgId")
