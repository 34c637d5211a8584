"""The fault rule table on SQLite and PostgreSQL: rules kept in order with their fields,
matches and shots counted in the database, a used-up rule retired, deletes."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from store import Store
from store.api import NotFound
from store.types import FaultRule

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def rule(**fields) -> FaultRule:
    return FaultRule(id=0, action=fields.pop("action", "http"),
                     params=fields.pop("params", {"status": 503}), **fields)


async def test_rules_keep_their_fields_in_order(store: Store):
    first = await store.add_fault_rule(rule(user="alice@contoso.com", command="Sync", after=2,
                                            count=3, probability=0.5, seed=7,
                                            expires_at=NOW, created_at=NOW, note="hi"))
    second = await store.add_fault_rule(rule(action="drop-after", params={}))
    assert 0 < first.id < second.id
    listed = await store.list_fault_rules()
    assert [r.id for r in listed] == [first.id, second.id]
    assert listed[0] == first
    assert listed[0].expires_at == NOW and listed[0].params == {"status": 503}


async def test_count_retires_the_rule_with_its_last_shot(store: Store):
    added = await store.add_fault_rule(rule(count=2))
    assert (await store.count_fault_match(added.id)).seen == 1
    assert (await store.count_fault_fired(added.id, NOW)).fired == 1
    last = await store.count_fault_fired(added.id, NOW)
    assert last.fired == 2 and last.retired_at == NOW
    assert await store.count_fault_fired(added.id, NOW) is None
    assert await store.count_fault_match(added.id) is None
    assert await store.list_fault_rules(active_only=True) == []
    assert [r.fired for r in await store.list_fault_rules()] == [2]


async def test_concurrent_shots_never_exceed_the_count(store: Store):
    added = await store.add_fault_rule(rule(count=3))
    taken = await asyncio.gather(*(store.count_fault_fired(added.id, NOW) for _ in range(8)))
    assert sum(1 for shot in taken if shot is not None) == 3


async def test_delete_one_and_all(store: Store):
    one = await store.add_fault_rule(rule())
    await store.add_fault_rule(rule())
    assert await store.delete_fault_rules(one.id) == 1
    with pytest.raises(NotFound):
        await store.delete_fault_rules(one.id)
    with pytest.raises(NotFound):
        await store.delete_fault_rules(2**70)
    assert await store.delete_fault_rules() == 1
    assert await store.list_fault_rules() == []
