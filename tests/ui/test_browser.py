"""The issue's acceptance scenario in a real headless Chromium (Debian's, driven by
Playwright): sign in, turn on "recommend to all", a device appears quarantined with a
countdown, +24 h turns it allowed without a reload, and its page shows the notice's Sync in
the decoded trace. Screenshots go to test-artifacts/."""
import re
from pathlib import Path

import pytest
from admin_helpers import sync_inbox
from playwright.async_api import async_playwright, expect

from protocol.xml import E

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WAIT_MS = 10_000


@pytest.fixture
async def page():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/sysdeps.sh")
    ARTIFACTS.mkdir(exist_ok=True)
    expect.set_options(timeout=WAIT_MS)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(WAIT_MS)
        yield await context.new_page()
        await context.close()
        await browser.close()


async def sign_in(page, live_server):
    await page.goto(f"{live_server.http_url}/admin")
    await expect(page).to_have_url(re.compile(r"/admin/login\?next="))
    await page.fill("#token", live_server.admin_token)
    await page.click("button[type=submit]")
    await expect(page.locator("#mobile-access")).to_be_visible()


async def test_quarantine_countdown_and_release_live(page, live_server):
    await sign_in(page, live_server)

    # Turn on "Any email app — all users prompted to use Outlook".
    await page.check("#access-enabled")
    await page.check("input[name=mode][value=recommend-all]")
    await page.click("#mobile-access button[type=submit]")
    await expect(page.locator("p.flash")).to_have_text("Mobile email access saved.")
    assert (await live_server.store.get_tenant("contoso.com")).mode == "recommend-all"
    await page.screenshot(path=ARTIFACTS / "admin-1-recommend-all.png", full_page=True)

    # An iPhone makes first contact over the EAS endpoint and syncs its Inbox: the notice.
    notice_sync = await sync_inbox(live_server)
    assert notice_sync.status == 200
    [device] = await live_server.store.list_devices(user="alice@contoso.com")
    row = page.locator(f'tr[data-device-id="{device.id}"]')
    await expect(row.locator('[data-field="state"]')).to_have_text("quarantined")
    await expect(row.locator('[data-field="time_left"]')).to_have_text("24 h 0 min")
    await expect(row.locator('[data-field="user_agent"]')).to_have_text("Apple-iPhone14C2/2104.92")
    await page.screenshot(path=ARTIFACTS / "admin-2-quarantined.png", full_page=True)

    # +24 h: the row turns allowed on the open page, without a reload.
    await page.evaluate("window.stillTheSamePage = true")
    await page.click("#clock button[value='86400']")
    await expect(row.locator('[data-field="state"]')).to_have_text("allowed")
    await expect(row.locator('[data-field="reason"]')).to_have_text("timeout")
    await expect(row.locator('[data-field="time_left"]')).to_have_text("—")
    assert await page.evaluate("window.stillTheSamePage === true")
    await page.screenshot(path=ARTIFACTS / "admin-3-allowed.png", full_page=True)

    # The device page: its timeline and the notice's Sync in the decoded trace.
    await row.locator('a[data-link="device"]').click()
    await expect(page).to_have_url(f"{live_server.http_url}/admin/devices/{device.id}")
    await expect(page.locator("#timeline")).to_contain_text("notice-delivered")
    await expect(page.locator("#timeline")).to_contain_text("quarantine-expired")
    sync = page.locator("details.exchange", has_text="Action required").first
    await expect(sync.locator(".cmd")).to_have_text("Sync")
    if await sync.get_attribute("open") is None:
        await sync.locator("summary").click()
    answer = sync.locator(".side").last.locator("pre.xml")
    await expect(answer).to_be_visible()
    await expect(answer).to_contain_text("<Email:Subject>Action required")
    await answer.get_by_text("Action required").scroll_into_view_if_needed()
    assert live_server.password not in await page.content()
    await page.screenshot(path=ARTIFACTS / "admin-4-device-trace.png")


async def test_a_script_user_agent_stays_text_in_the_browser(page, live_server):
    agent = "<script>window.injected = 1</script><img src=x onerror=\"window.injected=2\">"
    await live_server.eas("FolderSync", E("FolderHierarchy:FolderSync",
                                          E("FolderHierarchy:SyncKey", "0")),
                          device_id="XSS1", user_agent=agent)
    await sign_in(page, live_server)
    cell = page.locator('tr[data-device-id] [data-field="user_agent"]').first
    await expect(cell).to_have_text(agent)
    assert await page.evaluate("window.injected === undefined")
    await page.screenshot(path=ARTIFACTS / "admin-5-escaped-user-agent.png", full_page=True)
