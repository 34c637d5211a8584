"""What the operator's view added to the store, on both engines: audit listeners (the
metrics count access events from them), and ids beyond 64 bits that name no device."""
from datetime import UTC, datetime

import pytest

from gateway.observe.metrics import Metrics
from store import Store, Tenant
from store.api import NotFound
from store.types import Device

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


async def test_audit_rows_reach_listeners_after_commit(store: Store):
    await store.put_tenant(Tenant(domain="contoso.com"))
    alice = await store.create_user("alice@contoso.com", "secret", "Alice Wood")
    device = await store.create_device(Device(id=0, user_id=alice.id, user_address=alice.address,
                                              device_id="ABC", device_type="iPhone"))
    heard = []

    async def listener(event):
        # committed: a fresh read already sees the row
        heard.append((event, await store.list_events(device.id)))

    metrics = Metrics()
    store.add_audit_listener(listener)
    store.add_audit_listener(metrics.on_audit)
    row = await store.add_event(device.id, T0, "notice-delivered", {"to": "quarantined"})
    assert heard == [(row, [row])]
    assert metrics.registry.get_sample_value("easgate_notices_sent_total") == 1


async def test_an_id_beyond_64_bits_is_not_found(store: Store):
    for pk in (2**63, 2**70, 0, -1):
        with pytest.raises(NotFound):
            await store.get_device_by_pk(pk)
