"""`easgate policy|tenants|clock|devices|mail` against the live server's admin API. The CLI is
synchronous; it runs in a thread while the server keeps serving in the test's loop."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.cli_admin import parse_duration
from protocol.xml import E


async def easgate(live_server: Any, *args: str, token: str | None = "") -> tuple[int, str]:
    env = {"EASGATE_ADMIN_TOKEN": live_server.admin_token if token == "" else (token or ""),
           "COLUMNS": "220"}
    runner = CliRunner()
    result = await asyncio.to_thread(
        runner.invoke, app, [*args, "--url", live_server.http_url], env=env)
    return result.exit_code, result.output


async def test_policy_show_and_set(live_server: Any) -> None:
    code, out = await easgate(live_server, "policy", "show", "--tenant", "contoso.com")
    assert code == 0 and "off" in out and "48 h" in out
    code, out = await easgate(live_server, "policy", "set", "recommend-all",
                              "--rollout-window", "2h")
    assert code == 0 and "recommend-all" in out and "2 h" in out
    assert (await live_server.store.get_tenant("contoso.com")).mode == "recommend-all"
    code, out = await easgate(live_server, "policy", "set", "sometimes")
    assert code == 2 and "unknown mode" in out


async def test_tenants_add_and_list(live_server: Any) -> None:
    code, out = await easgate(live_server, "tenants", "add", "litware.example", "--mode",
                              "prompt-new-once")
    assert code == 0 and "prompt-new-once" in out
    assert (await live_server.store.get_tenant("litware.example")).mode == "prompt-new-once"
    code, out = await easgate(live_server, "tenants", "list")
    assert code == 0 and "contoso.com" in out and "litware.example" in out
    code, out = await easgate(live_server, "tenants", "add", "litware.example")
    assert code == 1 and "exists" in out


async def test_clock_show_advance_set(live_server: Any) -> None:
    before = live_server.clock.now()
    code, out = await easgate(live_server, "clock", "advance", "1d2h30m")
    assert code == 0
    assert (live_server.clock.now() - before).total_seconds() == 26.5 * 3600
    code, out = await easgate(live_server, "clock", "set", "2030-01-01T00:00:00Z")
    assert code == 0 and "2030-01-01T00:00:00Z" in out
    code, out = await easgate(live_server, "clock", "show")
    assert "2030-01-01T00:00:00Z" in out and "manual" in out
    code, out = await easgate(live_server, "clock", "advance", "soon")
    assert code == 2


async def test_devices_list_show_choose_and_mail(live_server: Any) -> None:
    await live_server.services.access.set_mode("contoso.com", "recommend-all")
    await live_server.eas("FolderSync", E("FolderHierarchy:FolderSync",
                                          E("FolderHierarchy:SyncKey", "0")),
                          device_id="IPHONE1")
    code, out = await easgate(live_server, "devices", "list", "--state", "quarantined")
    assert code == 0 and "IPHONE1" in out and "quarantined" in out
    pk = (await live_server.store.list_devices(state="quarantined"))[0].id
    code, out = await easgate(live_server, "devices", "show", str(pk))
    assert code == 0 and "notice-delivered" in out
    code, out = await easgate(live_server, "devices", "choose", str(pk), "keep")
    assert code == 0 and "allowed" in out
    code, out = await easgate(live_server, "devices", "choose", str(pk), "outlook")
    assert code == 1 and "not waiting" in out
    code, out = await easgate(live_server, "mail", "deliver", "--to", "bob@contoso.com",
                              "--subject", "Lunch?", "--body", "At noon", "--from",
                              "carol@contoso.com")
    assert code == 0 and "delivered" in out
    bob = await live_server.store.get_user("bob@contoso.com")
    assert "Lunch?" in [i.data["Subject"] for i in await live_server.store.list_items(bob.id, "2")]


async def test_a_missing_or_wrong_token_is_a_clear_error(live_server: Any) -> None:
    code, out = await easgate(live_server, "clock", "show", token=None)
    assert code == 1 and "Bearer" in out
    code, out = await easgate(live_server, "clock", "show", token="nope")
    assert code == 1 and "not valid" in out


def test_an_unreachable_server_is_a_clear_error() -> None:
    result = CliRunner().invoke(app, ["clock", "show", "--url", "http://127.0.0.1:9",
                                      "--token", "x"])
    assert result.exit_code == 1 and "unreachable" in result.output


@pytest.mark.parametrize("text, seconds", [("24h", 86400), ("90m", 5400), ("1d12h", 129600),
                                           ("30s", 30), ("3600", 3600), ("1.5h", 5400)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds
