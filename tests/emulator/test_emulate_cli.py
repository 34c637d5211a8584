"""`easgate emulate` as a person runs it, in its own process, against a live server."""
import asyncio
import sys

import pytest

pytestmark = pytest.mark.timeout(120)


async def emulate(server, *args, timeout=90.0):
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli", "emulate", "--url", server.http_url,
        "--user", "alice@contoso.com", "--password", "demo-pass", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    return process.returncode, out.decode(), err.decode()


async def test_emulate_prints_each_command_and_its_status(live_server):
    code, out, err = await emulate(live_server, "--profile", "iphone-mail")
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0].startswith("iphone-mail (Apple-iPhone14C2/2104.92, EAS 16.1) as alice")
    assert "Status 142 DEVICE_NOT_PROVISIONED" in lines[2] and "FolderSync" in lines[2]
    assert any("Provision (acknowledge)" in line and "policy key" in line for line in lines)
    assert any("Sync Inbox" in line and "25 added, more available" in line for line in lines)
    assert lines[-1].startswith("synced: 10 folders; Inbox")


async def test_emulate_shows_the_quarantine_and_follows_the_choice(live_server):
    status, _ = await live_server.admin(
        "PUT", "/tenants/contoso.com/mobile-access", {"mode": "recommend-all"})
    assert status == 200
    code, out, err = await emulate(live_server, "--profile", "android-gmail")
    assert code == 0, out + err
    assert "notice seen" in out and "quarantined" in out
    assert f"keep this app: {live_server.http_url}/choice/" in out
    assert f"use Outlook:   {live_server.http_url}/choice/" in out
    code, out, err = await emulate(live_server, "--profile", "android-gmail", "--choose", "keep")
    assert code == 0, out + err
    assert "confirmed (HTTP 200)" in out
    assert out.splitlines()[-1].startswith("synced:")


async def test_emulate_names_an_unknown_profile(live_server):
    code, out, err = await emulate(live_server, "--profile", "nokia-9000")
    assert code == 2 and "unknown profile 'nokia-9000'" in err


async def test_emulate_reports_bad_credentials(live_server):
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli", "emulate", "--url", live_server.http_url,
        "--user", "alice@contoso.com", "--password", "wrong", "--profile", "outlook-ios",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    assert "401" in err.decode()
