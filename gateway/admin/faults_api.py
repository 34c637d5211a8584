"""Fault injection and remote wipe in the admin API (SPEC §8):

- ``GET /faults`` (every rule, retired ones too, with what they have counted and fired),
  ``POST /faults`` (one rule, `gateway.faults.rules`), ``DELETE /faults/{id}``,
  ``DELETE /faults``;
- ``POST /devices/{id}/wipe`` ``{"account_only": bool}`` and ``DELETE /devices/{id}/wipe``
  (gateway/remote_wipe.py).

A rule that cannot be kept is HTTP 400 ``{"error": "invalid-rule", "detail", "field"}``, the
detail naming the field.
"""
from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from gateway import remote_wipe
from gateway.admin.api import device_json
from gateway.admin.jsonapi import ApiError, ApiRoutes, iso, json_object, ok, path_int
from gateway.faults import FAULTS, FaultEngine, RuleError, parse_rule, setup_faults
from gateway.faults.rules import describe
from gateway.services import SERVICES
from store.api import NotFound
from store.types import Device, FaultRule

V1 = "/admin/api/v1"


def setup_faults_api(app: web.Application) -> None:
    """The routes, and the fault engine the dispatcher consults."""
    setup_faults(app)
    r = ApiRoutes(app)
    r.add_get(f"{V1}/faults", list_faults)
    r.add_post(f"{V1}/faults", add_fault)
    r.add_delete(f"{V1}/faults", clear_faults)
    r.add_delete(f"{V1}/faults/{{rule_id}}", delete_fault)
    r.add_post(f"{V1}/devices/{{pk}}/wipe", post_wipe)
    r.add_delete(f"{V1}/devices/{{pk}}/wipe", delete_wipe)


def rule_json(rule: FaultRule) -> dict[str, Any]:
    return {
        "id": rule.id, "action": rule.action, **rule.params,
        "user": rule.user, "device_id": rule.device_id, "device_type": rule.device_type,
        "command": rule.command, "after": rule.after, "count": rule.count,
        "probability": rule.probability, "seed": rule.seed,
        "starts_at": iso(rule.starts_at), "expires_at": iso(rule.expires_at),
        "note": rule.note, "created_at": iso(rule.created_at), "seen": rule.seen,
        "fired": rule.fired, "active": rule.retired_at is None,
        "retired_at": iso(rule.retired_at), "summary": describe(rule),
    }


def _engine(request: web.Request) -> FaultEngine:
    return request.app[FAULTS]


async def list_faults(request: web.Request) -> web.Response:
    rules = await request.app[SERVICES].store.list_fault_rules()
    return ok([rule_json(rule) for rule in rules])


async def add_fault(request: web.Request) -> web.Response:
    try:
        rule = await keep_rule(request.app, await _json_body(request))
    except RuleError as error:
        raise RuleRefused(error.field, error.detail) from None
    return ok(rule_json(rule), status=201)


async def keep_rule(app: web.Application, body: dict[str, Any]) -> FaultRule:
    """Check ``body`` (RuleError naming the field) and keep it as an active rule."""
    services = app[SERVICES]
    rule = parse_rule(body, services.clock.now())
    if rule.user is not None:
        try:
            await services.store.get_user(rule.user)
        except NotFound:
            raise RuleError("user", f"there is no user {rule.user}, so the rule would match "
                            "no request") from None
    return await app[FAULTS].add(rule)


async def delete_fault(request: web.Request) -> web.Response:
    rule_id = path_int(request, "rule_id")
    try:
        removed = await _engine(request).delete(rule_id)
    except NotFound:
        raise ApiError(404, "unknown-rule", f"no fault rule {rule_id}") from None
    return ok({"deleted": removed})


async def clear_faults(request: web.Request) -> web.Response:
    return ok({"deleted": await _engine(request).delete()})


# --- remote wipe ---------------------------------------------------------------------------
def wipe_json(device: Device) -> dict[str, Any]:
    return {**device_json(device), "wipe": device.wipe}


async def post_wipe(request: web.Request) -> web.Response:
    pk = path_int(request, "pk")
    body = await json_object(request, {"account_only"}) if request.can_read_body else {}
    account_only = body.get("account_only", False)
    if not isinstance(account_only, bool):
        raise ApiError(400, "invalid-field", "account_only must be true or false")
    device = await remote_wipe.request_wipe(request.app[SERVICES], pk, account_only=account_only)
    return ok(wipe_json(device))


async def delete_wipe(request: web.Request) -> web.Response:
    pk = path_int(request, "pk")
    return ok(wipe_json(await remote_wipe.cancel_wipe(request.app[SERVICES], pk)))


# --- reading a rule ------------------------------------------------------------------------
async def _json_body(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object; which fields it may hold is the rule parser's question
    (they depend on the action)."""
    try:
        body = await request.json(loads=json.loads)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad-json", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad-json", "the body must be a JSON object (one rule)")
    return body


class RuleRefused(ApiError):
    """A rule that cannot be kept: 400, the detail starting with the field's name."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(400, "invalid-rule", f"{field}: {detail}")
