"""The admin REST API (SPEC §8) on the live server: every route, the bearer token, and bad
input answered with a 4xx JSON error that changes nothing."""
from __future__ import annotations

from typing import Any

import aiohttp
import pytest

BASE = "/admin/api/v1"


async def call(live_server: Any, method: str, path: str, *, json: Any = None,
               token: str | None = "", data: bytes | None = None) -> tuple[int, Any, dict]:
    """Like live_server.admin, with control over the token ('' = the right one)."""
    session = await live_server.session()
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token or live_server.admin_token}"
    async with session.request(method, f"{live_server.http_url}{BASE}{path}", json=json,
                               data=data, headers=headers) as response:
        body = await response.json(content_type=None) if await response.read() else None
        return response.status, body, dict(response.headers)


async def iphone_request(live_server: Any, device_id: str = "IPHONE1",
                         user: str = "alice@contoso.com") -> None:
    from protocol.xml import E
    await live_server.eas("FolderSync", E("FolderHierarchy:FolderSync",
                                          E("FolderHierarchy:SyncKey", "0")),
                          device_id=device_id, user=user)


async def device_pk(live_server: Any, device_id: str) -> int:
    status, devices, _ = await call(live_server, "GET", "/devices")
    return next(d["id"] for d in devices if d["device_id"] == device_id)


# --- the token ----------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/clock", "/devices", "/tenants/contoso.com/mobile-access",
                                  "/openapi.json", "/no/such/route"])
async def test_every_route_needs_the_token(live_server: Any, path: str) -> None:
    status, body, headers = await call(live_server, "GET", path, token=None)
    assert status == 401 and body["error"] == "unauthorized"
    assert headers["WWW-Authenticate"].startswith("Bearer")
    status, body, _ = await call(live_server, "GET", path, token="wrong-token")
    assert status == 403 and set(body) == {"error", "detail"}


async def test_no_route_under_the_api_skips_the_token(live_server: Any) -> None:
    """Each route is guarded on its own (no middleware): one added around ApiRoutes would
    answer without a token. Every one of them, by its own method, is refused without."""
    session = await live_server.session()
    routes = [route for route in live_server.app.router.routes()
              if route.resource.canonical.startswith("/admin/api/")]
    assert len(routes) > 20
    for route in routes:
        path = route.resource.canonical.replace("{", "").replace("}", "").replace("tail:.*", "x")
        method = "GET" if route.method == "*" else route.method
        async with session.request(method, f"{live_server.http_url}{path}") as response:
            assert response.status == 401, (route.method, route.resource.canonical)


async def test_healthz_needs_no_token(live_server: Any) -> None:
    session = await live_server.session()
    async with session.get(f"{live_server.http_url}/healthz") as response:
        assert response.status == 200 and (await response.json())["status"] == "ok"


async def test_unknown_routes_and_methods_are_json_errors(live_server: Any) -> None:
    status, body, _ = await call(live_server, "GET", "/nothing-here")
    assert status == 404 and body["error"] == "not-found"
    status, body, headers = await call(live_server, "DELETE", "/clock")
    assert status == 405 and "detail" in body and headers["Allow"] == "GET,PUT"


# --- mobile access --------------------------------------------------------------------------
async def test_mobile_access_get_and_put(live_server: Any) -> None:
    status, body, _ = await call(live_server, "GET", "/tenants/contoso.com/mobile-access")
    assert status == 200 and body == {
        "mode": "off", "rollout_window_s": 172800, "quarantine_s": 86400, "available": True,
        "unavailable_reason": None, "enabled_at": None}
    status, body, _ = await call(live_server, "PUT", "/tenants/contoso.com/mobile-access",
                                 json={"mode": "recommend-all", "rollout_window_s": 3600})
    assert status == 200 and body["mode"] == "recommend-all" and body["rollout_window_s"] == 3600
    assert body["enabled_at"] == live_server.clock.now().isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("change, status, error", [
    ({"mode": "sometimes"}, 422, "invalid-field"),
    ({"mode": 3}, 422, "invalid-field"),
    ({"rollout_window_s": -1}, 422, "invalid-setting"),
    ({"rollout_window_s": 10**12}, 422, "invalid-setting"),
    ({"quarantine_s": 0}, 422, "invalid-setting"),
    ({"quarantine_s": "24h"}, 422, "invalid-field"),
    ({"mode": "off", "colour": "blue"}, 400, "unknown-field"),
    (["off"], 400, "bad-json"),
])
async def test_bad_settings_are_refused_and_change_nothing(
        live_server: Any, change: Any, status: int, error: str) -> None:
    got, body, _ = await call(live_server, "PUT", "/tenants/contoso.com/mobile-access",
                              json=change)
    assert (got, body["error"]) == (status, error)
    assert (await live_server.store.get_tenant("contoso.com")).rollout_window_s == 172800


async def test_broken_json_and_unknown_tenants(live_server: Any) -> None:
    status, body, _ = await call(live_server, "PUT", "/tenants/contoso.com/mobile-access",
                                 data=b"{not json")
    assert (status, body["error"]) == (400, "bad-json")
    status, body, _ = await call(live_server, "GET", "/tenants/fabrikam.com/mobile-access")
    assert (status, body["error"]) == (404, "unknown-tenant")


async def test_the_setting_is_unavailable_under_intune_or_eac_rules(live_server: Any) -> None:
    status, body, _ = await call(live_server, "PUT", "/tenants/contoso.com/device-access",
                                 json={"mdm_authority": "intune"})
    assert status == 200 and body["setting_available"] is False
    status, body, _ = await call(live_server, "GET", "/tenants/contoso.com/mobile-access")
    assert body["available"] is False and "Intune" in body["unavailable_reason"]
    status, body, _ = await call(live_server, "PUT", "/tenants/contoso.com/mobile-access",
                                 json={"mode": "outlook-only"})
    assert (status, body["error"]) == (409, "setting-unavailable")
    await call(live_server, "PUT", "/tenants/contoso.com/device-access",
               json={"mdm_authority": None, "rules": [
                   {"field": "DeviceType", "value": "iPhone", "access": "quarantine"}]})
    status, body, _ = await call(live_server, "PUT", "/tenants/contoso.com/mobile-access",
                                 json={"mode": "outlook-only"})
    assert status == 409 and "rules" in body["detail"]
    assert (await live_server.store.get_tenant("contoso.com")).mode == "off"


# --- device access (EAC) ------------------------------------------------------------------
async def test_device_access_round_trip_and_validation(live_server: Any) -> None:
    rules = [{"field": "DeviceType", "value": "iPhone", "access": "quarantine"},
             {"field": "UserAgent", "value": "Outlook-iOS/2.0", "access": "allow"}]
    status, body, _ = await call(live_server, "PUT", "/tenants/contoso.com/device-access",
                                 json={"rules": rules, "org_default_access": "allow",
                                       "user_mail_insert": "Help desk: 555-0100",
                                       "admin_mail_recipients": ["bob@contoso.com"]})
    assert status == 200
    assert [(r["field"], r["access"]) for r in body["rules"]] == [
        ("DeviceType", "quarantine"), ("UserAgent", "allow")]
    assert all(r["id"] > 0 for r in body["rules"])
    for bad in ({"rules": [{"field": "IP", "value": "1.2.3.4", "access": "block"}]},
                {"rules": "all"}, {"org_default_access": "maybe"},
                {"admin_mail_recipients": ["not an address"]}):
        status, body, _ = await call(live_server, "PUT", "/tenants/contoso.com/device-access",
                                     json=bad)
        assert status == 422, bad
    status, body, _ = await call(live_server, "GET", "/tenants/contoso.com/device-access")
    assert len(body["rules"]) == 2 and body["admin_mail_recipients"] == ["bob@contoso.com"]


# --- the clock ----------------------------------------------------------------------------
async def test_clock_get_put_and_advance(live_server: Any) -> None:
    status, body, _ = await call(live_server, "GET", "/clock")
    assert status == 200 and body["mode"] == "manual"
    status, body, _ = await call(live_server, "PUT", "/clock", json={"now": "2027-01-01T00:00:00Z"})
    assert (status, body["now"]) == (200, "2027-01-01T00:00:00Z")
    status, body, _ = await call(live_server, "POST", "/clock/advance", json={"seconds": 5400})
    assert body["now"] == "2027-01-01T01:30:00Z"
    for bad in ({"seconds": -1}, {"seconds": 0}, {"seconds": "1h"}, {"seconds": 10**12}):
        status, body, _ = await call(live_server, "POST", "/clock/advance", json=bad)
        assert status == 422, bad
    for bad in ({"now": "yesterday"}, {"now": "2027-01-01T00:00:00"}, {"mode": "slow"}, {}):
        status, body, _ = await call(live_server, "PUT", "/clock", json=bad)
        assert status in (400, 422), bad
    status, body, _ = await call(live_server, "GET", "/clock")
    assert body["now"] == "2027-01-01T01:30:00Z"


async def test_the_clock_never_goes_back_during_a_quarantine(live_server: Any) -> None:
    await call(live_server, "PUT", "/tenants/contoso.com/mobile-access",
               json={"mode": "recommend-all"})
    await iphone_request(live_server)
    before = live_server.clock.now()
    status, body, _ = await call(live_server, "PUT", "/clock", json={"now": "2020-01-01T00:00:00Z"})
    assert (status, body["error"]) == (409, "clock-backwards")
    assert live_server.clock.now() == before


# --- devices --------------------------------------------------------------------------------
async def test_devices_list_show_choice_and_events(live_server: Any) -> None:
    await call(live_server, "PUT", "/tenants/contoso.com/mobile-access",
               json={"mode": "recommend-all"})
    await iphone_request(live_server)
    status, devices, _ = await call(live_server, "GET", "/devices?state=quarantined")
    assert status == 200 and [d["device_id"] for d in devices] == ["IPHONE1"]
    device = devices[0]
    assert set(device) >= {"id", "user", "device_id", "device_type", "user_agent", "model",
                           "app", "protocol_version", "state", "reason", "notice_at",
                           "quarantine_until", "choice", "first_seen", "last_seen"}
    assert (device["user"], device["app"], device["reason"]) == (
        "alice@contoso.com", "third-party", "notice")
    status, shown, _ = await call(live_server, "GET", f"/devices/{device['id']}")
    assert shown == device
    status, chosen, _ = await call(live_server, "POST", f"/devices/{device['id']}/choice",
                                   json={"choice": "keep"})
    assert (status, chosen["state"], chosen["choice"]) == (200, "allowed", "keep")
    status, again, _ = await call(live_server, "POST", f"/devices/{device['id']}/choice",
                                  json={"choice": "outlook"})
    assert (status, again["error"]) == (409, "no-open-choice")
    status, events, _ = await call(live_server, "GET", f"/devices/{device['id']}/events")
    assert [e["kind"] for e in events] == ["first-seen", "notice-delivered", "chose-keep"]
    assert events[-1]["detail"]["trigger"] == "admin"


async def test_device_route_bad_input(live_server: Any) -> None:
    await iphone_request(live_server)
    pk = await device_pk(live_server, "IPHONE1")
    cases = [
        ("GET", "/devices/99999", None, 404), ("GET", "/devices/abc", None, 404),
        ("GET", "/devices?state=sleepy", None, 400), ("GET", "/devices?colour=red", None, 400),
        ("POST", f"/devices/{pk}/choice", {"choice": "maybe"}, 422),
        ("POST", f"/devices/{pk}/choice", {}, 400),
        ("POST", f"/devices/{pk}/choice", {"choice": "keep"}, 409),  # not quarantined
        ("POST", f"/devices/{pk}/access", {"access": "allow"}, 409),  # not managed in EAC
        ("POST", f"/devices/{pk}/access", {"access": "wipe"}, 422),
        ("POST", "/devices/99999/choice", {"choice": "keep"}, 404),
    ]
    for method, path, body, expected in cases:
        status, answer, _ = await call(live_server, method, path, json=body)
        assert (status, set(answer)) == (expected, {"error", "detail"}), (method, path, body)
    status, events, _ = await call(live_server, "GET", f"/devices/{pk}/events")
    assert [e["kind"] for e in events] == ["first-seen"]


async def test_individual_access_under_eac(live_server: Any) -> None:
    await call(live_server, "PUT", "/tenants/contoso.com/device-access",
               json={"org_default_access": "quarantine"})
    await iphone_request(live_server)
    pk = await device_pk(live_server, "IPHONE1")
    status, device, _ = await call(live_server, "GET", f"/devices/{pk}")
    assert (device["state"], device["reason"]) == ("quarantined", "global")
    status, device, _ = await call(live_server, "POST", f"/devices/{pk}/access",
                                   json={"access": "allow"})
    assert (status, device["state"], device["reason"]) == (200, "allowed", "individual")


# --- users and content ------------------------------------------------------------------------
async def test_users_messages_events_contacts(live_server: Any) -> None:
    status, user, _ = await call(live_server, "POST", "/users", json={
        "address": "dave@contoso.com", "password": "pw-123456", "display_name": "Dave Park"})
    assert status == 201 and user["address"] == "dave@contoso.com"
    status, body, _ = await call(live_server, "POST", "/users", json={
        "address": "dave@contoso.com", "password": "x"})
    assert status == 409
    status, body, _ = await call(live_server, "POST", "/users", json={
        "address": "eve@fabrikam.com", "password": "x"})
    assert (status, body["error"]) == (404, "unknown-tenant")
    status, mail, _ = await call(live_server, "POST", "/users/dave@contoso.com/messages", json={
        "from": "Carol <carol@contoso.com>", "subject": "Welcome", "body": "Hello Dave"})
    assert status == 201 and mail["folder_id"] == "2"
    stored = await live_server.store.get_item(user["id"], mail["server_id"])
    assert stored.data["Subject"] == "Welcome" and b"Hello Dave" in stored.mime
    status, event, _ = await call(live_server, "POST", "/users/dave@contoso.com/events", json={
        "subject": "Kick-off", "start": "2026-12-01T10:00:00Z", "location": "Room 1"})
    assert status == 201 and event["folder_id"] == "8"
    status, contact, _ = await call(live_server, "POST", "/users/dave@contoso.com/contacts",
                                    json={"first_name": "Ann", "last_name": "Lee",
                                          "email": "ann@example.com"})
    assert status == 201 and contact["subject"] == "Lee, Ann"
    for path, body, expected in [
        ("/users/nobody@contoso.com/messages", {"subject": "x"}, 404),
        ("/users/dave@contoso.com/messages", {"subject": "x", "folder": "Nope"}, 404),
        ("/users/dave@contoso.com/messages", {"subject": "x", "folder": "Calendar"}, 422),
        ("/users/dave@contoso.com/events", {"subject": "x", "start": "soon"}, 422),
        ("/users/dave@contoso.com/events", {"subject": "x", "start": "2026-12-01T10:00:00Z",
                                            "end": "2026-11-01T10:00:00Z"}, 422),
        ("/users/dave@contoso.com/contacts", {"company": "Nobody Inc"}, 422),
        ("/users", {"address": "no-at-sign", "password": "x"}, 422),
    ]:
        status, answer, _ = await call(live_server, "POST", path, json=body)
        assert status == expected, (path, body, answer)


async def test_admin_routes_do_not_leak_tracebacks(live_server: Any) -> None:
    session = await live_server.session()
    async with session.put(f"{live_server.http_url}{BASE}/clock", data=b"\xff\xfe",
                           headers={"Authorization": f"Bearer {live_server.admin_token}",
                                    "Content-Type": "application/json"}) as response:
        assert response.status == 400
        assert "Traceback" not in await response.text()
    assert aiohttp  # the client library the server is checked with


# --- tenants --------------------------------------------------------------------------------
async def test_a_tenant_is_added_with_its_setting_then_its_users(live_server: Any) -> None:
    status, tenant, _ = await call(live_server, "POST", "/tenants",
                                   json={"domain": "Northwind.example", "mode": "outlook-only"})
    assert status == 201
    assert (tenant["domain"], tenant["mode"], tenant["available"]) == (
        "northwind.example", "outlook-only", True)
    status, body, _ = await call(live_server, "POST", "/tenants",
                                 json={"domain": "northwind.example"})
    assert (status, body["error"]) == (409, "tenant-exists")
    status, tenants, _ = await call(live_server, "GET", "/tenants")
    assert {t["domain"] for t in tenants} >= {"contoso.com", "northwind.example"}
    status, _, _ = await call(live_server, "POST", "/users", json={
        "address": "erin@northwind.example", "password": "erin-pass"})
    assert status == 201
    from protocol.xml import E
    answer = await live_server.eas("FolderSync", E("FolderHierarchy:FolderSync",
                                                   E("FolderHierarchy:SyncKey", "0")),
                                   user="erin@northwind.example", password="erin-pass",
                                   device_id="ERINPHONE", provision=False)
    assert (answer.status, answer.eas_status) == (200, 129)  # an iPhone, under outlook-only


@pytest.mark.parametrize("body", [{}, {"domain": ""}, {"domain": "no-dot"},
                                  {"domain": "bad domain.com"}, {"domain": "x@y.com"},
                                  {"domain": "ok.example", "mode": "sometimes"},
                                  {"domain": "ok.example", "colour": "blue"},
                                  {"domain": "ok.example", "quarantine_s": 5}])
async def test_a_tenant_that_cannot_be_made_is_4xx_and_nothing_is_made(
        live_server: Any, body: dict) -> None:
    status, answer, _ = await call(live_server, "POST", "/tenants", json=body)
    assert status in (400, 422) and set(answer) == {"error", "detail"}
    status, tenants, _ = await call(live_server, "GET", "/tenants")
    assert "ok.example" not in {t["domain"] for t in tenants}
