"""The OpenAPI 3.0 document of the admin API (``GET /admin/api/v1/openapi.json``) and its
docs page (``/admin/api``).

The document is a table: one entry per route of `gateway.admin.api`, `content_api` and
`trace_api`, with the JSON schemas of what goes in and out. `tests/admin/test_schemathesis.py`
keeps it true: every admin route is documented and every documented route exists, and
schemathesis checks live answers against the schemas.
"""
from __future__ import annotations

import copy
import functools
from typing import Any

BASE_PATH = "/admin/api/v1"
VERSION = "1.0.0"

MODES = ["off", "outlook-only", "recommend-all", "prompt-new-once"]
STATES = ["allowed", "pending", "quarantined", "blocked", "wipe-pending", "wiped"]
LEVELS = ["allow", "block", "quarantine"]
RULE_FIELDS = ["UserAgent", "DeviceType", "DeviceModel", "DeviceOS"]
FAULT_ACTIONS = ["http", "status", "delay", "slow", "truncate", "corrupt", "drop-before",
                 "drop-after", "reset-state"]
THROTTLE_REASONS = ["CommandFrequency", "RecentCommands", "DeviceQuarantined",
                    "ConcurrentConnections", "MaxDevicePartnership"]


# --- schema shorthands ------------------------------------------------------------------
def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _string(**more: Any) -> dict[str, Any]:
    return {"type": "string", **more}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _time(nullable: bool = False) -> dict[str, Any]:
    schema = _string(format="date-time")
    return _nullable(schema) if nullable else schema


def _object(properties: dict[str, Any], required: list[str] | None = None, *,
            closed: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if closed:
        schema["additionalProperties"] = False
    return schema


def _answer(properties: dict[str, Any]) -> dict[str, Any]:
    """An answer object: every listed field is always present."""
    return _object(properties, list(properties), closed=False)


MOBILE_ACCESS = {
    "mode": _string(enum=MODES),
    "rollout_window_s": {"type": "integer"},
    "quarantine_s": {"type": "integer"},
    "available": {"type": "boolean"},
    "unavailable_reason": _nullable(_string()),
    "enabled_at": _time(nullable=True),
}
MOBILE_ACCESS_CHANGE = {
    "mode": _string(enum=MODES),
    "rollout_window_s": {"type": "integer", "minimum": 0, "maximum": 2592000},
    "quarantine_s": {"type": "integer", "minimum": 60, "maximum": 2592000},
}

SCHEMAS: dict[str, Any] = {
    "Error": _answer({"error": _string(), "detail": _string()}),
    "MobileAccess": _answer(MOBILE_ACCESS),
    "Tenant": _answer({"domain": _string(), **MOBILE_ACCESS}),
    "NewTenant": _object({"domain": _string(maxLength=253), **MOBILE_ACCESS_CHANGE},
                         ["domain"]),
    "MobileAccessChange": _object(MOBILE_ACCESS_CHANGE),
    "DeviceRule": _object({
        "id": {"type": "integer"},
        "field": _string(enum=RULE_FIELDS),
        "value": _string(minLength=1, maxLength=256),
        "access": _string(enum=LEVELS),
    }, ["field", "value", "access"]),
    "DeviceAccess": _answer({
        "mdm_authority": _nullable(_string()),
        "org_default_access": _string(enum=LEVELS),
        "rules": {"type": "array", "items": _ref("DeviceRule")},
        "user_mail_insert": _string(),
        "admin_mail_recipients": {"type": "array", "items": _string()},
        "setting_available": {"type": "boolean"},
    }),
    "DeviceAccessChange": _object({
        "mdm_authority": _nullable(_string(maxLength=64)),
        "org_default_access": _string(enum=LEVELS),
        "rules": {"type": "array", "items": _ref("DeviceRule"), "maxItems": 500},
        "user_mail_insert": _string(maxLength=4000),
        "admin_mail_recipients": {"type": "array", "items": _string(format="email")},
    }),
    "Clock": _answer({"now": _time(), "mode": _string(enum=["real", "manual"])}),
    "ClockChange": _object({"now": _time(), "mode": _string(enum=["real", "manual"])}),
    "ClockAdvance": _object({"seconds": {"type": "number", "exclusiveMinimum": True,
                                         "minimum": 0}}, ["seconds"]),
    "Device": _answer({
        "id": {"type": "integer"},
        "user": _string(),
        "device_id": _string(),
        "device_type": _string(),
        "user_agent": _string(),
        "model": _string(),
        "app": _string(enum=["outlook", "third-party"]),
        "protocol_version": _string(),
        "state": _string(enum=STATES),
        "reason": _string(),
        "rule_id": _nullable({"type": "integer"}),
        "notice_at": _time(nullable=True),
        "quarantine_until": _time(nullable=True),
        "choice": _nullable(_string(enum=["keep", "outlook"])),
        "first_seen": _time(nullable=True),
        "last_seen": _time(nullable=True),
    }),
    "Choice": _object({"choice": _string(enum=["keep", "outlook"])}, ["choice"]),
    "Access": _object({"access": _string(enum=["allow", "block"])}, ["access"]),
    "Event": _answer({
        "id": {"type": "integer"},
        "at": _time(),
        "kind": _string(),
        "detail": {"type": "object"},
    }),
    "Header": {"type": "array", "items": _string(), "minItems": 2, "maxItems": 2},
    "TraceEntry": _answer({
        "at": _time(),
        "device_pk": _nullable({"type": "integer"}),
        "user": _string(),
        "command": _string(),
        "request_line": _string(),
        "request_headers": {"type": "array", "items": _ref("Header")},
        "request_xml": _nullable(_string()),
        "request_body": _nullable(_string()),
        "response_status": {"type": "integer"},
        "eas_status": _nullable(_string()),
        "response_headers": {"type": "array", "items": _ref("Header")},
        "response_xml": _nullable(_string()),
        "duration_ms": {"type": "number"},
        "notes": {"type": "object", "additionalProperties": _string()},
    }),
    "NewUser": _object({
        "address": _string(format="email", maxLength=320),
        "password": _string(minLength=1, maxLength=256),
        "display_name": _string(maxLength=256),
    }, ["address", "password"]),
    "User": _answer({"id": {"type": "integer"}, "address": _string(),
                     "display_name": _string(), "tenant": _string()}),
    "NewMessage": _object({
        "from": _string(maxLength=320), "subject": _string(maxLength=998),
        "body": _string(), "html": _string(), "folder": _string(maxLength=256),
    }, ["subject"]),
    "NewEvent": _object({
        "subject": _string(maxLength=255), "start": _time(), "end": _time(),
        "location": _string(maxLength=255), "all_day": {"type": "boolean"},
        "body": _string(), "folder": _string(maxLength=256),
    }, ["subject", "start"]),
    "NewContact": _object({
        name: _string(maxLength=256) for name in (
            "first_name", "last_name", "email", "mobile_phone", "business_phone", "company",
            "job_title", "folder")
    }),
    "ItemAdded": _answer({"server_id": _string(), "folder_id": _string(),
                          "subject": _nullable(_string())}),
    "NewFault": _object({
        "action": _string(enum=FAULT_ACTIONS),
        "user": _string(format="email", maxLength=320),
        "device_id": _string(minLength=1, maxLength=320),
        "device_type": _string(minLength=1, maxLength=320),
        "command": _string(description="an EAS command, any case, e.g. Sync"),
        "status": {"type": "integer", "description": "http: the HTTP status; status: the "
                   "command's EAS Status"},
        "retry_after": {"type": "integer", "minimum": 0, "maximum": 86400},
        "throttle": _string(enum=THROTTLE_REASONS),
        "location": _string(format="uri"),
        "ms": {"type": "integer", "minimum": 1, "maximum": 600000},
        "bytes_per_s": {"type": "integer", "minimum": 1},
        "bytes": {"type": "integer", "minimum": 0},
        "after": {"type": "integer", "minimum": 0},
        "count": {"type": "integer", "minimum": 1},
        "probability": {"type": "number", "minimum": 0, "maximum": 1},
        "seed": {"type": "integer", "minimum": 0},
        "starts_at": _time(),
        "expires_at": _time(),
        "note": _string(maxLength=255),
    }, ["action"]),
    "Fault": _object({
        "id": {"type": "integer"},
        "action": _string(enum=FAULT_ACTIONS),
        "user": _nullable(_string()),
        "device_id": _nullable(_string()),
        "device_type": _nullable(_string()),
        "command": _nullable(_string()),
        "after": {"type": "integer"},
        "count": _nullable({"type": "integer"}),
        "probability": {"type": "number"},
        "seed": {"type": "integer"},
        "starts_at": _time(nullable=True),
        "expires_at": _time(nullable=True),
        "note": _string(),
        "created_at": _time(nullable=True),
        "seen": {"type": "integer"},
        "fired": {"type": "integer"},
        "active": {"type": "boolean"},
        "retired_at": _time(nullable=True),
        "summary": _string(),
    }, ["id", "action", "user", "device_id", "device_type", "command", "after", "count",
        "probability", "seed", "starts_at", "expires_at", "note", "created_at", "seen",
        "fired", "active", "retired_at", "summary"], closed=False),
    "Deleted": _answer({"deleted": {"type": "integer"}}),
    "WipeOrder": _object({"account_only": {"type": "boolean"}}),
    "Wipe": _object({
        "id": {"type": "integer"},
        "state": _string(enum=STATES),
        "wipe": _string(enum=["none", "pending", "account-pending", "wiped"]),
    }, ["id", "state", "wipe"], closed=False),
}


# --- operations -------------------------------------------------------------------------
def _path_param(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema,
            "description": description}


DOMAIN = _path_param("domain", _string(), "the tenant's mail domain, e.g. contoso.com")
DEVICE = _path_param("pk", {"type": "integer", "format": "int64", "minimum": 1},
                     "the device's id")
FAULT_RULE = _path_param("rule_id", {"type": "integer", "format": "int64", "minimum": 1},
                         "the fault rule's id")
ADDRESS = _path_param("address", _string(), "the user's address, e.g. alice@contoso.com")


def _op(summary: str, answer: dict[str, Any] | None, *, body: str | None = None,
        params: tuple[dict[str, Any], ...] = (), status: str = "200",
        query: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "4XX": {"description": "refused: {error, detail}",
                "content": {"application/json": {"schema": _ref("Error")}}},
    }
    if answer is not None:
        responses[status] = {"description": "success",
                             "content": {"application/json": {"schema": answer}}}
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    if params or query:
        operation["parameters"] = [*params, *query]
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": _ref(body)}}}
    return operation


def _list_of(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


DEVICE_FILTERS = (
    {"name": "user", "in": "query", "schema": _string(), "description": "a user's address"},
    {"name": "state", "in": "query", "schema": _string(enum=STATES)},
    {"name": "tenant", "in": "query", "schema": _string(), "description": "a tenant's domain"},
)

PATHS: dict[str, dict[str, Any]] = {
    "/openapi.json": {
        "get": _op("This document.", {"type": "object"}),
    },
    "/tenants": {
        "get": _op("Every tenant, with its mobile email access setting.", _list_of("Tenant")),
        "post": _op("Add a tenant (mode off unless one is given); 409 when it exists.",
                    _ref("Tenant"), body="NewTenant", status="201"),
    },
    "/tenants/{domain}/mobile-access": {
        "get": _op("The mobile email access setting (SPEC §2).", _ref("MobileAccess"),
                   params=(DOMAIN,)),
        "put": _op("Change the setting; 409 while the tenant is managed elsewhere.",
                   _ref("MobileAccess"), body="MobileAccessChange", params=(DOMAIN,)),
    },
    "/tenants/{domain}/device-access": {
        "get": _op("The EAC device access rules, org default and MDM authority (SPEC §5).",
                   _ref("DeviceAccess"), params=(DOMAIN,)),
        "put": _op("Change the EAC side; every device is re-evaluated.",
                   _ref("DeviceAccess"), body="DeviceAccessChange", params=(DOMAIN,)),
    },
    "/clock": {
        "get": _op("The gateway clock (SPEC §6).", _ref("Clock")),
        "put": _op("Set the time or the mode; never back while a device is quarantined.",
                   _ref("Clock"), body="ClockChange"),
    },
    "/clock/advance": {
        "post": _op("Move the clock forward; passed deadlines fire before the answer.",
                    _ref("Clock"), body="ClockAdvance"),
    },
    "/devices": {
        "get": _op("Devices, optionally filtered.", _list_of("Device"), query=DEVICE_FILTERS),
    },
    "/devices/{pk}": {
        "get": _op("One device.", _ref("Device"), params=(DEVICE,)),
    },
    "/devices/{pk}/choice": {
        "post": _op("Record the user's choice on the notice.", _ref("Device"), body="Choice",
                    params=(DEVICE,)),
    },
    "/devices/{pk}/access": {
        "post": _op("Allow or block the device individually (EAC).", _ref("Device"),
                    body="Access", params=(DEVICE,)),
    },
    "/devices/{pk}/events": {
        "get": _op("The device's audit rows, oldest first.", _list_of("Event"),
                   params=(DEVICE,)),
    },
    "/devices/{pk}/trace": {
        "get": _op("The device's last exchanges, decoded, newest last (credentials "
                   "redacted).", _list_of("TraceEntry"), params=(DEVICE,)),
    },
    "/faults": {
        "get": _op("Every fault injection rule, retired ones too, with what each has counted "
                   "and fired.", _list_of("Fault")),
        "post": _op("Add a fault rule; 400 naming the field when it cannot be kept.",
                    _ref("Fault"), body="NewFault", status="201"),
        "delete": _op("Remove every fault rule.", _ref("Deleted")),
    },
    "/faults/{rule_id}": {
        "delete": _op("Remove one fault rule.", _ref("Deleted"), params=(FAULT_RULE,)),
    },
    "/devices/{pk}/wipe": {
        "post": _op("Order a remote wipe (MS-ASPROV), account-only on EAS 16.1; delivered at "
                    "the device's next Provision.", _ref("Wipe"), body="WipeOrder",
                    params=(DEVICE,)),
        "delete": _op("Cancel a pending wipe, or clear a completed one.", _ref("Wipe"),
                      params=(DEVICE,)),
    },
    "/users": {
        "post": _op("Create a user with the standard folders.", _ref("User"), body="NewUser",
                    status="201"),
    },
    "/users/{address}/messages": {
        "post": _op("Deliver a mail (Inbox unless a folder is named).", _ref("ItemAdded"),
                    body="NewMessage", params=(ADDRESS,), status="201"),
    },
    "/users/{address}/events": {
        "post": _op("Add a calendar event.", _ref("ItemAdded"), body="NewEvent",
                    params=(ADDRESS,), status="201"),
    },
    "/users/{address}/contacts": {
        "post": _op("Add a contact.", _ref("ItemAdded"), body="NewContact",
                    params=(ADDRESS,), status="201"),
    },
}


@functools.cache
def _document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "easgate admin API",
            "version": VERSION,
            "description": "Operate an easgate gateway: the tenant's mobile email access "
                           "setting, EAC rules, the clock, devices, users and content. Every "
                           "route needs `Authorization: Bearer <admin token>`; errors are "
                           "`{\"error\", \"detail\"}` with a 4xx status.",
        },
        "servers": [{"url": BASE_PATH}],
        "security": [{"bearer": []}],
        "paths": PATHS,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
    }


def openapi_document() -> dict[str, Any]:
    """The document (a fresh copy: callers may change it)."""
    return copy.deepcopy(_document())


def documented_routes() -> set[tuple[str, str]]:
    """(METHOD, full path) of every documented operation."""
    return {(method.upper(), BASE_PATH + path)
            for path, operations in PATHS.items() for method in operations}


# --- for the docs page (/admin/api, served by gateway.admin.page) ------------------------
def operations() -> list[dict[str, Any]]:
    """Each operation as the docs page lists it: method, path, summary, body and answers."""
    return [
        {"method": method.upper(), "path": BASE_PATH + path, "summary": op["summary"],
         "body": _schema_name(op.get("requestBody", {})),
         "answers": {status: _schema_name(answer) for status, answer in op["responses"].items()}}
        for path, ops in PATHS.items() for method, op in ops.items()
    ]


def _schema_name(part: dict[str, Any]) -> str:
    schema = part.get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        return schema["$ref"].rpartition("/")[2]
    if schema.get("type") == "array":
        return "[" + schema["items"]["$ref"].rpartition("/")[2] + "]"
    return schema.get("type", "")
