"""`easgate devices trace ID` against the live server's admin API."""
import asyncio
import json

from typer.testing import CliRunner

from gateway.cli import app
from protocol.xml import E


async def invoke(live_server, *args: str):
    runner = CliRunner()
    options = ["--url", live_server.http_url, "--token", live_server.admin_token]
    # The server runs in this event loop: the synchronous CLI runs in a thread.
    return await asyncio.to_thread(runner.invoke, app, ["devices", "trace", *args, *options],
                                   env={"COLUMNS": "120"})


async def test_trace_prints_the_decoded_exchanges_without_the_password(live_server):
    await live_server.eas("FolderSync", E("FolderHierarchy:FolderSync",
                                          E("FolderHierarchy:SyncKey", "0")))
    [device] = await live_server.store.list_devices()
    result = await invoke(live_server, str(device.id))
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.index("Provision") < out.index("FolderSync · HTTP 200 · Status 1")
    assert "POST /Microsoft-Server-ActiveSync?Cmd=FolderSync" in out
    assert "Authorization: Basic [redacted]" in out
    assert "<FolderHierarchy:SyncKey>0</FolderHierarchy:SyncKey>" in out
    assert live_server.password not in out


async def test_trace_as_json_lines_and_only_the_last(live_server):
    await live_server.eas("FolderSync", E("FolderHierarchy:FolderSync",
                                          E("FolderHierarchy:SyncKey", "0")))
    [device] = await live_server.store.list_devices()
    result = await invoke(live_server, str(device.id), "--last", "1", "--json")
    assert result.exit_code == 0, result.output
    [line] = result.output.splitlines()
    assert json.loads(line)["command"] == "FolderSync"


async def test_an_unknown_device_is_a_clear_error(live_server):
    result = await invoke(live_server, "424242")
    assert result.exit_code == 1
    assert "no device 424242" in result.output
