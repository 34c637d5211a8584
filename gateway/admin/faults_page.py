"""The admin page's side of fault injection and remote wipe: the faults panel's rows, the
add form read into a rule (the admin API's JSON shape, gateway/faults/rules.py), and the
device page's wipe buttons. `gateway.admin.page` routes the forms here."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway import remote_wipe
from gateway.admin.faults_api import keep_rule, rule_json
from gateway.faults import FAULTS, RuleError
from gateway.faults.rules import ACTIONS, HTTP_STATUSES
from gateway.services import SERVICES
from store.api import NotFound
from store.types import Device

# The form's one "amount" field, by action.
AMOUNT = {"delay": "ms", "slow": "bytes_per_s", "truncate": "bytes", "corrupt": "bytes"}
TEXT_FIELDS = ("command", "user", "device_id", "device_type", "location", "throttle", "note")
NUMBER_FIELDS = ("status", "retry_after", "after", "count", "seed")
WIPE_ACTIONS = ("wipe", "wipe-account", "cancel-wipe")


class FaultFormError(ValueError):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


async def panel(app: web.Application) -> dict[str, Any]:
    """What the index page's faults panel shows."""
    rules = await app[SERVICES].store.list_fault_rules()
    return {"fault_rules": [rule_json(rule) for rule in rules], "fault_actions": ACTIONS,
            "http_statuses": HTTP_STATUSES}


async def act(app: web.Application, form: Any) -> None:
    """Add, delete or clear rules as the panel's form asks."""
    op = form.get("op")
    engine = app[FAULTS]
    if op == "add":
        try:
            await keep_rule(app, rule_from_form(form))
        except RuleError as error:
            raise FaultFormError(400, f"Fault rule not added — {error.field}: {error.detail}") from None
    elif op == "delete":
        try:
            await engine.delete(int(form.get("rule_id") or "0"))
        except (ValueError, NotFound):
            raise FaultFormError(404, "That fault rule does not exist (any more).") from None
    elif op == "clear":
        await engine.delete()
    else:
        raise FaultFormError(422, f"unknown operation {op!r}")


def rule_from_form(form: Any) -> dict[str, Any]:
    """The rule the form describes; empty fields are left out, numbers read as numbers
    (a field that is not one is sent as typed, so the rule's check names it)."""
    action = (form.get("action") or "").strip()
    body: dict[str, Any] = {"action": action}
    for name in TEXT_FIELDS:
        value = (form.get(name) or "").strip()
        if value:
            body[name] = value
    for name in (*NUMBER_FIELDS, "probability"):
        value = (form.get(name) or "").strip()
        if value:
            body[name] = _number(value)
    amount = (form.get("amount") or "").strip()
    if amount and action in AMOUNT:
        body[AMOUNT[action]] = _number(amount)
    return body


async def wipe(app: web.Application, pk: int, action: str) -> Device:
    services = app[SERVICES]
    if action == "cancel-wipe":
        return await remote_wipe.cancel_wipe(services, pk)
    return await remote_wipe.request_wipe(services, pk, account_only=action == "wipe-account")


def _number(value: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value
