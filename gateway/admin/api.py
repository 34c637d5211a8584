"""The admin REST API under ``/admin/api/v1`` (SPEC §8): the tenants and their mobile email
access setting, the EAC device access side, the clock, the devices and their choices and
audit rows.

Handlers only translate JSON into a call on the access service, the clock or the store and
the outcome into JSON; `gateway.admin.jsonapi` checks the token and maps every refusal to
``{"error", "detail"}`` with its 4xx status. Users and their content are in `content_api`.
"""
from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from gateway.access.decision import MODES, unavailable_reason
from gateway.admin import content_api
from gateway.admin.jsonapi import (
    ApiError,
    ApiRoutes,
    integer,
    iso,
    json_object,
    ok,
    path_int,
    string,
    timestamp,
)
from gateway.admin.openapi import openapi_document
from gateway.services import SERVICES, Services
from store.api import NotFound
from store.types import AuditEvent, Device, DeviceRule, Tenant

V1 = "/admin/api/v1"
DEVICE_STATES = ("allowed", "pending", "quarantined", "blocked", "wipe-pending", "wiped")
ACCESS_LEVELS = ("allow", "block", "quarantine")
RULE_FIELDS = ("UserAgent", "DeviceType", "DeviceModel", "DeviceOS")
MAX_RULES = 500
# A mail domain: dot-separated labels of letters, digits and inner hyphens.
DOMAIN_PATTERN = re.compile(r"(?=.{3,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def setup_api(app: web.Application) -> None:
    r = ApiRoutes(app)
    r.add_get(f"{V1}/openapi.json", openapi)
    r.add_get(f"{V1}/tenants", list_tenants)
    r.add_post(f"{V1}/tenants", post_tenant)
    r.add_get(f"{V1}/tenants/{{domain}}/mobile-access", get_mobile_access)
    r.add_put(f"{V1}/tenants/{{domain}}/mobile-access", put_mobile_access)
    r.add_get(f"{V1}/tenants/{{domain}}/device-access", get_device_access)
    r.add_put(f"{V1}/tenants/{{domain}}/device-access", put_device_access)
    r.add_get(f"{V1}/clock", get_clock)
    r.add_put(f"{V1}/clock", put_clock)
    r.add_post(f"{V1}/clock/advance", advance_clock)
    r.add_get(f"{V1}/devices", list_devices)
    r.add_get(f"{V1}/devices/{{pk}}", get_device)
    r.add_post(f"{V1}/devices/{{pk}}/choice", post_choice)
    r.add_post(f"{V1}/devices/{{pk}}/access", post_access)
    r.add_get(f"{V1}/devices/{{pk}}/events", get_events)
    content_api.setup_content_api(app, V1)


def _services(request: web.Request) -> Services:
    return request.app[SERVICES]


async def openapi(request: web.Request) -> web.Response:
    return ok(openapi_document())


# --- the mobile email access setting (SPEC §2) ---------------------------------------------
def mobile_access_json(tenant: Tenant) -> dict[str, Any]:
    reason = unavailable_reason(tenant)
    return {
        "mode": tenant.mode, "rollout_window_s": tenant.rollout_window_s,
        "quarantine_s": tenant.quarantine_s, "available": reason is None,
        "unavailable_reason": reason, "enabled_at": iso(tenant.enabled_at),
    }


def tenant_json(tenant: Tenant) -> dict[str, Any]:
    return {"domain": tenant.domain, **mobile_access_json(tenant)}


async def list_tenants(request: web.Request) -> web.Response:
    return ok([tenant_json(t) for t in await _services(request).store.list_tenants()])


async def post_tenant(request: web.Request) -> web.Response:
    """A new tenant, with its setting when one is given: an operator can set the mode before
    any of its users signs in (in proxy mode a tenant is otherwise made at its first login,
    with mode off)."""
    body = await json_object(request, {"domain", "mode", "rollout_window_s", "quarantine_s"},
                             required={"domain"})
    domain = (string(body, "domain", max_len=253) or "").strip().lower()
    if not DOMAIN_PATTERN.fullmatch(domain):
        raise ApiError(422, "invalid-field", "domain must be a mail domain, e.g. fabrikam.com")
    services = _services(request)
    try:
        await services.store.get_tenant(domain)
        raise ApiError(409, "tenant-exists", f"tenant {domain} exists")
    except NotFound:
        pass
    tenant = await services.access.add_tenant(
        domain, string(body, "mode", choices=MODES),
        rollout_window_s=integer(body, "rollout_window_s"),
        quarantine_s=integer(body, "quarantine_s"))
    return ok(tenant_json(tenant), status=201)


async def _tenant(request: web.Request) -> Tenant:
    domain = request.match_info["domain"]
    try:
        return await _services(request).store.get_tenant(domain)
    except NotFound:
        raise ApiError(404, "unknown-tenant", f"no tenant {domain}") from None


async def get_mobile_access(request: web.Request) -> web.Response:
    return ok(mobile_access_json(await _tenant(request)))


async def put_mobile_access(request: web.Request) -> web.Response:
    body = await json_object(request, {"mode", "rollout_window_s", "quarantine_s"})
    tenant = await _tenant(request)
    updated = await _services(request).access.set_mode(
        tenant.domain, string(body, "mode", choices=MODES),
        rollout_window_s=integer(body, "rollout_window_s"),
        quarantine_s=integer(body, "quarantine_s"),
    )
    return ok(mobile_access_json(updated))


# --- EAC device access (SPEC §5) -------------------------------------------------------------
def device_access_json(tenant: Tenant) -> dict[str, Any]:
    return {
        "mdm_authority": tenant.mdm_authority,
        "org_default_access": tenant.org_default_access,
        "rules": [{"id": rule.id, "field": rule.field, "value": rule.value,
                   "access": rule.access} for rule in tenant.device_rules],
        "user_mail_insert": tenant.user_mail_insert,
        "admin_mail_recipients": list(tenant.admin_mail_recipients),
        "setting_available": unavailable_reason(tenant) is None,
    }


async def get_device_access(request: web.Request) -> web.Response:
    return ok(device_access_json(await _tenant(request)))


async def put_device_access(request: web.Request) -> web.Response:
    body = await json_object(request, {"mdm_authority", "org_default_access", "rules",
                                       "user_mail_insert", "admin_mail_recipients"})
    tenant = await _tenant(request)
    changes: dict[str, Any] = {
        "org_default_access": string(body, "org_default_access", choices=ACCESS_LEVELS),
        "user_mail_insert": string(body, "user_mail_insert", max_len=4000, empty=True),
    }
    if "mdm_authority" in body:
        authority = string(body, "mdm_authority", max_len=64)
        changes.update(mdm_authority=authority, clear_mdm_authority=authority is None)
    if "rules" in body:
        changes["rules"] = _rules(body["rules"])
    if "admin_mail_recipients" in body:
        changes["admin_mail_recipients"] = _addresses(body["admin_mail_recipients"])
    updated = await _services(request).access.set_device_access(tenant.domain, **changes)
    return ok(device_access_json(updated))


def _rules(value: Any) -> list[DeviceRule]:
    if not isinstance(value, list) or len(value) > MAX_RULES:
        raise ApiError(422, "invalid-field", f"rules must be a list of at most {MAX_RULES}")
    rules = []
    for n, entry in enumerate(value):
        if not isinstance(entry, dict) or set(entry) - {"id", "field", "value", "access"}:
            raise ApiError(422, "invalid-field",
                           f"rules[{n}] must be an object with field, value and access")
        field = string(entry, "field", choices=RULE_FIELDS)
        text = string(entry, "value", max_len=256)
        access = string(entry, "access", choices=ACCESS_LEVELS)
        if field is None or text is None or access is None:
            raise ApiError(422, "invalid-field", f"rules[{n}] needs field, value and access")
        rules.append(DeviceRule(id=integer(entry, "id") or 0, field=field, value=text,  # type: ignore[arg-type]
                                access=access))  # type: ignore[arg-type]
    return rules


def _addresses(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(
            isinstance(a, str) and "@" in a and len(a) <= 320 for a in value):
        raise ApiError(422, "invalid-field", "admin_mail_recipients must be a list of addresses")
    return [address.strip().lower() for address in value]


# --- the clock (SPEC §6) -----------------------------------------------------------------
def clock_json(services: Services) -> dict[str, Any]:
    return {"now": iso(services.clock.now()), "mode": services.clock.mode}


async def get_clock(request: web.Request) -> web.Response:
    return ok(clock_json(_services(request)))


async def put_clock(request: web.Request) -> web.Response:
    body = await json_object(request, {"now", "mode"})
    if not body:
        raise ApiError(400, "missing-field", "give now (an ISO 8601 time) or mode")
    clock = _services(request).clock
    if "mode" in body:
        await clock.set_mode(string(body, "mode", choices=("real", "manual")))
    if "now" in body:
        await clock.set(timestamp(body["now"], "now"))
    return ok(clock_json(_services(request)))


async def advance_clock(request: web.Request) -> web.Response:
    body = await json_object(request, {"seconds"}, required={"seconds"})
    seconds = body["seconds"]
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise ApiError(422, "invalid-field", "seconds must be a number")
    await _services(request).clock.advance(seconds)
    return ok(clock_json(_services(request)))


# --- devices (SPEC §8) -------------------------------------------------------------------
def device_json(device: Device) -> dict[str, Any]:
    return {
        "id": device.id, "user": device.user_address, "device_id": device.device_id,
        "device_type": device.device_type, "user_agent": device.user_agent,
        "model": device.model, "app": device.app, "protocol_version": device.protocol_version,
        "state": device.state, "reason": device.reason, "rule_id": device.rule_id,
        "notice_at": iso(device.notice_at), "quarantine_until": iso(device.quarantine_until),
        "choice": device.choice, "first_seen": iso(device.first_seen),
        "last_seen": iso(device.last_seen),
    }


def event_json(event: AuditEvent) -> dict[str, Any]:
    return {"id": event.id, "at": iso(event.at), "kind": event.kind, "detail": event.detail}


async def list_devices(request: web.Request) -> web.Response:
    query = request.query
    unknown = sorted(set(query) - {"user", "state", "tenant"})
    if unknown:
        raise ApiError(400, "unknown-parameter", f"unknown parameter(s): {', '.join(unknown)}")
    state = query.get("state") or None
    if state is not None and state not in DEVICE_STATES:
        raise ApiError(400, "invalid-parameter", f"state must be one of {', '.join(DEVICE_STATES)}")
    devices = await _services(request).store.list_devices(
        user=query.get("user") or None, state=state, tenant=query.get("tenant") or None)
    return ok([device_json(device) for device in devices])


async def _device(request: web.Request) -> Device:
    pk = path_int(request, "pk")
    try:
        return await _services(request).store.get_device_by_pk(pk)
    except NotFound:
        raise ApiError(404, "unknown-device", f"no device {pk}") from None


async def get_device(request: web.Request) -> web.Response:
    return ok(device_json(await _device(request)))


async def post_choice(request: web.Request) -> web.Response:
    body = await json_object(request, {"choice"}, required={"choice"})
    choice = string(body, "choice", choices=("keep", "outlook"))
    device = await _device(request)
    return ok(device_json(await _services(request).access.choose(device.id, choice)))  # type: ignore[arg-type]


async def post_access(request: web.Request) -> web.Response:
    body = await json_object(request, {"access"}, required={"access"})
    access = string(body, "access", choices=("allow", "block"))
    device = await _device(request)
    updated = await _services(request).access.set_individual_access(device.id, access)  # type: ignore[arg-type]
    return ok(device_json(updated))


async def get_events(request: web.Request) -> web.Response:
    device = await _device(request)
    events = await _services(request).store.list_events(device.id)
    return ok([event_json(event) for event in events])
