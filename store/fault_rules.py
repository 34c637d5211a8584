"""The fault rule table's units of work, on one open session (`SqlStore` calls these).

Counting is done in the database, under a row lock, so that several worker processes share
one tally: `count_match` moves ``seen`` on, `count_fired` takes one of the rule's ``count``
shots and retires the rule with the last one. A retired or deleted rule answers None, and
the caller forgets it.
"""
from __future__ import annotations

from dataclasses import fields, replace
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import FaultRuleRow, as_utc
from store.types import FaultRule

_COLUMNS = frozenset(f.name for f in fields(FaultRule)) - {"id", "user"}
_TIMES = ("starts_at", "expires_at", "created_at", "retired_at")


def to_rule(row: FaultRuleRow) -> FaultRule:
    values = {name: getattr(row, name) for name in _COLUMNS}
    values.update({name: as_utc(values[name]) for name in _TIMES})
    values["params"] = dict(row.params)
    return FaultRule(id=row.id, user=row.user_address, **values)


async def list_rules(s: AsyncSession, *, active_only: bool) -> list[FaultRule]:
    query = select(FaultRuleRow).order_by(FaultRuleRow.id)
    if active_only:
        query = query.where(FaultRuleRow.retired_at.is_(None))
    return [to_rule(row) for row in await s.scalars(query)]


async def add_rule(s: AsyncSession, rule: FaultRule) -> FaultRule:
    values = {name: getattr(rule, name) for name in _COLUMNS}
    values["params"] = dict(rule.params)
    row = FaultRuleRow(user_address=rule.user, **values)
    s.add(row)
    await s.flush()
    return replace(rule, id=row.id)


async def delete_rule(s: AsyncSession, rule_id: int) -> bool:
    return bool((await s.execute(delete(FaultRuleRow).where(FaultRuleRow.id == rule_id))).rowcount)


async def delete_all(s: AsyncSession) -> int:
    return (await s.execute(delete(FaultRuleRow))).rowcount or 0


async def count_match(s: AsyncSession, rule_id: int) -> FaultRule | None:
    row = await _live_row(s, rule_id)
    if row is None:
        return None
    row.seen += 1
    return to_rule(row)


async def count_fired(s: AsyncSession, rule_id: int, now: datetime) -> FaultRule | None:
    row = await _live_row(s, rule_id)
    if row is None or (row.count is not None and row.fired >= row.count):
        return None
    row.fired += 1
    if row.count is not None and row.fired >= row.count:
        row.retired_at = now
    return to_rule(row)


async def _live_row(s: AsyncSession, rule_id: int) -> FaultRuleRow | None:
    row = await s.get(FaultRuleRow, rule_id, with_for_update=True)
    return row if row is not None and row.retired_at is None else None
