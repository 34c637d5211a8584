"""Fault injection: make the gateway misbehave on purpose, per device and command, so that a
QA team sees how its mail client copes with a server in trouble.

- `rules` — a rule as people write it, checked field by field (`parse_rule`, `RuleError`);
- `engine` — which stored rule fires on a request (`FaultEngine`), counted across workers;
- `actions` — what a fired rule does to the exchange (`Injection`).

`setup_faults(app)` keeps a `FaultEngine` under the ``FAULTS`` AppKey for the app's life; the
dispatcher calls `consult` once the access check has passed (a blocked device still gets its
block, and a fault never changes the access decision or the stored policy state). An
injected fault is written to the device's audit rows (kind ``fault-injected``) and noted in
its trace (``injected-fault``), and ``/metrics`` counts it by action.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from aiohttp import web

from gateway.faults.actions import Injection
from gateway.faults.engine import FaultEngine, Request
from gateway.faults.rules import RuleError, parse_rule
from gateway.services import SERVICES

if TYPE_CHECKING:
    from gateway.exchange import Exchange

__all__ = ["FAULTS", "FaultEngine", "Injection", "RuleError", "consult", "parse_rule",
           "setup_faults"]

FAULTS = web.AppKey("faults", FaultEngine)
AUDIT_KIND = "fault-injected"
TRACE_NOTE = "injected-fault"


def setup_faults(app: web.Application) -> None:
    """Open the engine after the services (its clean-up context comes after theirs)."""
    app.cleanup_ctx.append(_engine)


async def _engine(app: web.Application) -> AsyncIterator[None]:
    from gateway.app import COORDINATION  # the app module mounts this one

    engine = FaultEngine(app[SERVICES].store)
    await engine.load()
    coordination = app.get(COORDINATION)
    if coordination is not None:
        coordination.share_fault_rules(engine)
    app[FAULTS] = engine
    try:
        yield
    finally:
        await engine.stop()


async def consult(app: web.Application, exchange: Exchange) -> Injection | None:
    """The fault to inject into this exchange, if a rule fires; recorded as injected."""
    engine = app.get(FAULTS)
    if engine is None or exchange.device_pk is None:
        return None
    services = app[SERVICES]
    now = services.clock.now()
    request = Request.of(exchange.user_address or "", exchange.device_id or "",
                         exchange.device_type or "", exchange.command or "")
    firing = await engine.consult(request, now)
    if firing is None:
        return None
    injection = Injection(firing)
    exchange.notes[TRACE_NOTE] = injection.describe()
    await services.store.add_event(exchange.device_pk, now, AUDIT_KIND, {
        "injected": True, "rule": firing.rule.id, "action": injection.action,
        "command": exchange.command, "fault": injection.describe(),
    })
    return injection
