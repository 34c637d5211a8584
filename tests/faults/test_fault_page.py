"""The admin page's faults panel and wipe buttons, over HTTP with a signed-in session."""
from __future__ import annotations

import pytest
from faults_helpers import device_pk, rules, sync_document
from ui.admin_helpers import Browser


@pytest.fixture
async def browser(live_server):
    signed_in = Browser(live_server.http_url)
    await signed_in.sign_in(live_server.admin_token)
    yield signed_in
    await signed_in.close()


async def test_faults_panel_adds_lists_and_removes(live_server, browser):
    status, _, headers = await browser.post("/admin/faults", {
        "op": "add", "action": "delay", "amount": "250", "command": "Sync", "count": "2",
        "probability": "0.5"})
    assert status == 303 and headers["Location"].endswith("done=faults")
    [rule] = await rules(live_server)
    assert (rule["ms"], rule["command"], rule["count"], rule["probability"]) == (
        250, "Sync", 2, 0.5)
    status, page = await browser.get("/admin")
    assert 'id="faults"' in page and "delay 250 ms" in page and "command=Sync" in page
    status, page, _ = await browser.post("/admin/faults", {"op": "add", "action": "http",
                                                           "status": "418"})
    assert status == 400 and "status: an http fault answers one of" in page
    status, _, _ = await browser.post("/admin/faults", {"op": "delete",
                                                        "rule_id": str(rule["id"])})
    assert status == 303 and await rules(live_server) == []
    status, page, _ = await browser.post("/admin/faults", {"op": "delete", "rule_id": "99"})
    assert status == 404


async def test_wipe_button_and_the_injected_mark_in_the_trace(live_server, browser):
    await live_server.eas("Sync", sync_document("0"))
    pk = await device_pk(live_server, "TESTDEVICE0001")
    status, page = await browser.get(f"/admin/devices/{pk}")
    assert 'value="wipe"' in page and 'value="wipe-account"' in page
    status, _, headers = await browser.post(f"/admin/devices/{pk}/action",
                                            {"action": "wipe", "back": "device"})
    assert status == 303
    status, page = await browser.get(f"/admin/devices/{pk}")
    assert "wipe-pending" in page and 'value="cancel-wipe"' in page
    await browser.post(f"/admin/devices/{pk}/action", {"action": "cancel-wipe",
                                                       "back": "device"})
    await browser.post("/admin/faults", {"op": "add", "action": "http", "status": "500",
                                         "command": "Sync", "count": "1"})
    await live_server.eas("Sync", sync_document("0"))
    status, page = await browser.get(f"/admin/devices/{pk}")
    assert "allowed" in page and "injected fault" in page and "fault-injected" in page
