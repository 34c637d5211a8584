"""The admin page over HTTP: sign-in, CSRF, escaping, actions, metrics and traces."""
from datetime import UTC, datetime

from admin_helpers import Browser

from protocol.xml import E


async def test_without_a_session_pages_redirect_and_forms_refuse(live_server):
    anonymous = Browser(live_server.http_url)
    try:
        status, _ = await anonymous.get("/admin")
        assert status == 303
        status, body = await anonymous.get("/admin/login?next=/admin/devices/1")
        assert status == 200 and 'value="/admin/devices/1"' in body
        status, _, _ = await anonymous.post("/admin/clock/advance", {"seconds": "3600"}, csrf="x")
        assert status == 401
        status, _ = await anonymous.get("/admin/live")
        assert status == 303
    finally:
        await anonymous.close()


async def test_a_wrong_token_does_not_sign_in(live_server):
    browser = Browser(live_server.http_url)
    try:
        async with browser.session.post(f"{live_server.http_url}/admin/login",
                                        data={"token": "nope", "next": "//evil.example"},
                                        allow_redirects=False) as response:
            assert response.status == 401
            assert "not the admin token" in await response.text()
        status, _ = await browser.get("/admin")
        assert status == 303
    finally:
        await browser.close()


async def test_sign_in_never_redirects_off_site(live_server):
    browser = Browser(live_server.http_url)
    try:
        async with browser.session.post(f"{live_server.http_url}/admin/login",
                                        data={"token": live_server.admin_token,
                                              "next": "//evil.example/admin"},
                                        allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"] == "/admin"
            cookie = response.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    finally:
        await browser.close()


async def test_forged_csrf_tokens_change_nothing(live_server, admin_browser):
    before = live_server.clock.now()
    status, body, _ = await admin_browser.post("/admin/clock/advance", {"seconds": "3600"},
                                               csrf="forged")
    assert status == 403 and "CSRF" in body
    status, _, _ = await admin_browser.post("/admin/clock/advance", {"seconds": "3600"}, csrf="")
    assert status == 403
    assert live_server.clock.now() == before


async def test_the_page_shows_the_tenant_setting_and_the_clock(live_server, admin_browser):
    status, body = await admin_browser.get("/admin")
    assert status == 200
    assert "Mobile email access" in body and "contoso.com" in body
    assert "Outlook only" in body and "prompted once" in body
    assert live_server.clock.now().strftime("%Y-%m-%d %H:%M") in body


async def test_a_script_in_a_user_agent_is_shown_as_text(live_server, admin_browser):
    agent = '<script>alert("owned")</script>'
    await live_server.eas("FolderSync", E("FolderHierarchy:FolderSync", E("FolderHierarchy:SyncKey", "0")),
                          device_id="XSSDEVICE1", user_agent=agent)
    status, body = await admin_browser.get("/admin")
    assert status == 200
    assert agent not in body
    assert "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in body
    [device] = [d for d in await live_server.store.list_devices() if d.device_id == "XSSDEVICE1"]
    status, body = await admin_browser.get(f"/admin/devices/{device.id}")
    assert status == 200 and agent not in body and "&lt;script&gt;" in body


async def test_clock_buttons_move_the_gateway_clock(live_server, admin_browser):
    before = live_server.clock.now()
    status, _, headers = await admin_browser.post("/admin/clock/advance", {"seconds": "86400"})
    assert status == 303 and headers["Location"].startswith("/admin")
    assert (live_server.clock.now() - before).total_seconds() == 86400
    status, _, _ = await admin_browser.post("/admin/clock/set", {"now": "2030-01-02T03:04"})
    assert status == 303
    assert live_server.clock.now() == datetime(2030, 1, 2, 3, 4, tzinfo=UTC)
    status, body, _ = await admin_browser.post("/admin/clock/set", {"now": "yesterday"})
    assert status == 422 and "Not a date" in body


async def test_the_access_setting_is_changed_from_the_panel(live_server, admin_browser):
    status, _, _ = await admin_browser.post("/admin/tenants/contoso.com/mobile-access",
                                            {"enabled": "on", "mode": "recommend-all"})
    assert status == 303
    assert (await live_server.store.get_tenant("contoso.com")).mode == "recommend-all"
    status, body, _ = await admin_browser.post("/admin/tenants/contoso.com/mobile-access",
                                               {"enabled": "on", "mode": "everything"})
    assert status == 422
    status, _, _ = await admin_browser.post("/admin/tenants/contoso.com/mobile-access", {})
    assert (await live_server.store.get_tenant("contoso.com")).mode == "off"


async def test_rules_make_the_setting_unavailable_and_greyed_out(live_server, admin_browser):
    status, _, _ = await admin_browser.post("/admin/tenants/contoso.com/device-access", {
        "op": "add", "field": "DeviceType", "value": "iPhone", "access": "quarantine"})
    assert status == 303
    tenant = await live_server.store.get_tenant("contoso.com")
    assert [(r.field, r.value, r.access) for r in tenant.device_rules] == [
        ("DeviceType", "iPhone", "quarantine")]
    status, body = await admin_browser.get("/admin")
    assert "Unavailable:" in body and "disabled" in body
    status, body, _ = await admin_browser.post("/admin/tenants/contoso.com/mobile-access",
                                               {"enabled": "on", "mode": "outlook-only"})
    assert status == 409 and "Exchange admin center" in body
    status, _, _ = await admin_browser.post("/admin/tenants/contoso.com/device-access", {
        "op": "delete", "rule_id": str(tenant.device_rules[0].id)})
    assert status == 303
    assert (await live_server.store.get_tenant("contoso.com")).device_rules == ()


async def quarantined_iphone(live_server):
    """Turn on "recommend to all" and let an iPhone make first contact: it is quarantined."""
    await live_server.services.access.set_mode("contoso.com", "recommend-all")
    answer = await live_server.eas("FolderSync", E("FolderHierarchy:FolderSync",
                                                   E("FolderHierarchy:SyncKey", "0")))
    assert answer.eas_status == 1
    [device] = await live_server.store.list_devices(user="alice@contoso.com")
    assert device.state == "quarantined"
    return device


async def test_device_page_shows_timeline_and_a_trace_without_the_password(live_server,
                                                                            admin_browser):
    device = await quarantined_iphone(live_server)
    status, body = await admin_browser.get(f"/admin/devices/{device.id}")
    assert status == 200
    assert "notice-delivered" in body  # the timeline (audit rows)
    assert "FolderSync" in body and "FolderHierarchy:SyncKey" in body  # the decoded trace
    assert "Provision:PolicyType" in body
    assert live_server.password not in body
    assert "Basic [redacted]" in body
    status, _ = await admin_browser.get("/admin/devices/99999")
    assert status == 404


async def test_device_actions_record_choices(live_server, admin_browser):
    device = await quarantined_iphone(live_server)
    status, _, headers = await admin_browser.post(f"/admin/devices/{device.id}/action",
                                                  {"action": "keep", "back": "device"})
    assert status == 303 and headers["Location"] == f"/admin/devices/{device.id}?done=keep"
    device = await live_server.store.get_device_by_pk(device.id)
    assert device.state == "allowed" and device.choice == "keep"
    status, body, _ = await admin_browser.post(f"/admin/devices/{device.id}/action",
                                               {"action": "outlook"})
    assert status == 409  # no open choice any more: said on the page, nothing changes
    status, body, _ = await admin_browser.post(f"/admin/devices/{device.id}/action",
                                               {"action": "block"})
    assert status == 409 and "Exchange admin center" in body  # individual access is EAC's
    status, _, _ = await admin_browser.post(f"/admin/devices/{device.id}/action",
                                            {"action": "explode"})
    assert status == 422
