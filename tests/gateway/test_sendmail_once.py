"""SendMail is delivered once per ClientId even when the gateway dies right after
delivering, before it could answer (the client resends the same message): every copy and
the ClientId are written in one transaction — on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from commandhelp import run
from synchelp import Harness
from test_sendmail import items_in, message, send_mail

from protocol.xml import text
from store.types import FolderType

pytestmark = pytest.mark.timeout(60)


class Died(Exception):
    """Stands for the process being killed."""


class DiesAfterDelivering:
    """The store, except that the process dies as soon as the first delivery is written."""

    def __init__(self, store):
        self._store = store

    def __getattr__(self, name):
        return getattr(self._store, name)

    async def add_item(self, *args, **kwargs):
        await self._store.add_item(*args, **kwargs)
        raise Died

    async def add_placed_items(self, *args, **kwargs):
        await self._store.add_placed_items(*args, **kwargs)
        raise Died


async def test_a_message_resent_after_a_crash_is_delivered_once(store):
    env = await Harness.create(store)
    alice = await env.client()
    mailboxes = {("bob@contoso.com", FolderType.INBOX), ("alice@contoso.com", FolderType.INBOX),
                 ("alice@contoso.com", FolderType.SENT_ITEMS)}
    before = {box: len(await items_in(env, *box)) for box in mailboxes}
    # To bob, and to a mailbox of the domain that does not exist (a non-delivery report).
    mime = message(to="bob@contoso.com, nobody@contoso.com", subject="Only once")

    env.services.store = DiesAfterDelivering(store)
    with pytest.raises(Died):
        await run(alice, "SendMail", send_mail(mime, client_id="m-1"))
    env.services.store = store
    answer = await run(alice, "SendMail", send_mail(mime, client_id="m-1"))
    assert text(answer.document, "ComposeMail:Status") == "118"

    after = {box: len(await items_in(env, *box)) for box in mailboxes}
    assert {box: after[box] - before[box] for box in mailboxes} == {
        ("bob@contoso.com", FolderType.INBOX): 1,
        ("alice@contoso.com", FolderType.INBOX): 1,  # the report
        ("alice@contoso.com", FolderType.SENT_ITEMS): 1,
    }


async def test_a_clientid_is_remembered_per_device(store):
    env = await Harness.create(store)
    phone, tablet = await env.client(device_id="PHONE"), await env.client(device_id="TABLET")
    before = len(await items_in(env, "bob@contoso.com", FolderType.INBOX))
    for device in (phone, tablet):
        answer = await run(device, "SendMail", send_mail(message(), client_id="1"))
        assert (answer.http_status, answer.document) == (200, None)
    assert len(await items_in(env, "bob@contoso.com", FolderType.INBOX)) == before + 2
