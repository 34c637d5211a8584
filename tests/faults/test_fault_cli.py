"""`easgate faults add|list|clear|load` and `easgate devices wipe` against the live server's
admin API (the CLI is synchronous: it runs in a thread while the server serves), and the
scenario reader on its own."""
from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import typer
from faults_helpers import device_pk, rules
from typer.testing import CliRunner

from gateway.cli_admin import devices_app
from gateway.cli_faults import faults_app
from gateway.faults.scenario import ScenarioError, scenario_of

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

cli = typer.Typer()
cli.add_typer(faults_app, name="faults")
cli.add_typer(devices_app, name="devices")


async def easgate(live_server: Any, *args: str) -> tuple[int, str]:
    env = {"EASGATE_ADMIN_TOKEN": live_server.admin_token, "COLUMNS": "220"}
    result = await asyncio.to_thread(CliRunner().invoke, cli,
                                     [*args, "--url", live_server.http_url], env=env)
    return result.exit_code, result.output


async def test_add_list_clear(live_server):
    code, out = await easgate(live_server, "faults", "add", "http", "--command", "Sync",
                              "--status", "503", "--retry-after", "5", "--count", "2")
    assert code == 0 and "http 503 (Retry-After 5 s)" in out and "command=Sync" in out
    code, out = await easgate(live_server, "faults", "add", "delay", "--ms", "250",
                              "--user", "bob@contoso.com", "--probability", "0.5",
                              "--seed", "3")
    assert code == 0 and "delay 250 ms" in out and "p=0.5 seed 3" in out
    code, out = await easgate(live_server, "faults", "add", "status", "--command", "Sync",
                              "--status", "99")
    assert code == 1 and "status: 99 is not in Sync's status table" in out
    code, out = await easgate(live_server, "faults", "list")
    assert code == 0 and "2 fault rule(s)" in out and "user=bob@contoso.com" in out
    first = (await rules(live_server))[0]["id"]
    code, out = await easgate(live_server, "faults", "clear", str(first))
    assert code == 0 and "1 rule(s) removed" in out
    code, out = await easgate(live_server, "faults", "clear")
    assert code == 0 and await rules(live_server) == []


async def test_load_a_timed_toml_scenario(live_server, tmp_path):
    scenario = tmp_path / "chaos.toml"
    scenario.write_text('replace = true\nseed = 7\n\n'
                        '[[rules]]\ncommand = "Sync"\naction = "http"\nstatus = 503\n'
                        'probability = 0.2\n\n'
                        '[[rules]]\nat = "10m"\nfor = "5m"\ncommand = "Ping"\n'
                        'action = "drop-after"\n')
    await easgate(live_server, "faults", "add", "drop-before")
    code, out = await easgate(live_server, "faults", "load", str(scenario))
    assert code == 0 and "2 rule(s) loaded" in out, out
    loaded = await rules(live_server)
    assert [r["action"] for r in loaded] == ["http", "drop-after"]  # replaced
    assert all(r["seed"] == 7 for r in loaded)
    now = live_server.clock.now()
    starts = datetime.fromisoformat(loaded[1]["starts_at"].replace("Z", "+00:00"))
    ends = datetime.fromisoformat(loaded[1]["expires_at"].replace("Z", "+00:00"))
    assert (starts - now, ends - starts) == (timedelta(minutes=10), timedelta(minutes=5))


async def test_load_refuses_a_bad_scenario_naming_the_rule(live_server, tmp_path):
    scenario = tmp_path / "bad.json"
    scenario.write_text(json.dumps([{"action": "delay", "ms": 5},
                                    {"action": "http", "status": 999}]))
    code, out = await easgate(live_server, "faults", "load", str(scenario))
    assert code == 1 and "rules[1]: status" in out
    assert await rules(live_server) == []


async def test_devices_wipe_and_cancel(live_server):
    await live_server.provision()
    pk = await device_pk(live_server, "TESTDEVICE0001")
    code, out = await easgate(live_server, "devices", "wipe", str(pk))
    assert code == 0 and "wipe-pending" in out
    code, out = await easgate(live_server, "devices", "wipe", str(pk), "--account-only")
    assert code == 1 and "already" in out
    code, out = await easgate(live_server, "devices", "wipe", str(pk), "--cancel")
    assert code == 0 and "allowed" in out and "wipe: none" in out
    code, out = await easgate(live_server, "devices", "wipe", str(pk), "--account-only")
    assert code == 0 and "account-pending" in out


def test_scenario_shapes():
    listed = scenario_of([{"action": "drop-before"}], NOW)
    assert listed.replace is False and listed.rules == [{"action": "drop-before"}]
    with pytest.raises(ScenarioError, match="unknown key 'rule'"):
        scenario_of({"rule": []}, NOW)
    with pytest.raises(ScenarioError, match="rules: give at least one"):
        scenario_of({"rules": []}, NOW)
    with pytest.raises(ScenarioError, match=r"rules\[0\]: at: 'soon'"):
        scenario_of([{"action": "drop-before", "at": "soon"}], NOW)


def test_the_easgate_command_mounts_faults_and_devices_wipe():
    from gateway.cli import app

    runner = CliRunner()
    faults = runner.invoke(app, ["faults", "--help"], env={"COLUMNS": "200"})
    assert faults.exit_code == 0 and all(c in faults.output for c in ("add", "list", "clear",
                                                                       "load"))
    wipe = runner.invoke(app, ["devices", "wipe", "--help"], env={"COLUMNS": "200"})
    assert wipe.exit_code == 0 and "--account-only" in wipe.output
