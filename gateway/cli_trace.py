"""``easgate devices trace ID``: a device's last exchanges as the gateway decoded them —
request line, headers (credentials redacted), the WBXML bodies as indented XML, status and
duration — oldest first, from a running server's admin API.

Importing this module adds the command to the ``devices`` group of `gateway.cli_admin`.
"""
from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console

from gateway.admin_client import DEFAULT_URL, AdminClient
from gateway.cli_admin import TokenOption, UrlOption, _run, devices_app


class TraceClient(AdminClient):
    def trace(self, pk: int) -> list[dict[str, Any]]:
        return self._call("GET", f"/devices/{pk}/trace")


@devices_app.command("trace")
def devices_trace(
    device: Annotated[int, typer.Argument(help="The device's id (see `easgate devices list`).")],
    last: Annotated[int | None, typer.Option("--last", min=1,
                                             help="Only the last N exchanges.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Print the device's decoded protocol trace, newest last."""
    entries = _run(lambda: TraceClient(url, token).trace(device))
    if last is not None:
        entries = entries[-last:]
    if as_json:
        for entry in entries:
            typer.echo(json.dumps(entry, ensure_ascii=False))
        return
    console = Console(highlight=False)
    if not entries:
        console.print(f"No exchange of device {device} since the server started.")
    for entry in entries:
        print_entry(console, entry)


def print_entry(console: Console, entry: dict[str, Any]) -> None:
    status = f"HTTP {entry['response_status']}"
    if entry.get("eas_status"):
        status += f" · Status {entry['eas_status']}"
    console.rule(f"{entry['command'] or '?'} · {status} · {entry['duration_ms']:.1f} ms · "
                 f"{entry['at']}", style="cyan")
    # Traces hold text such as "[redacted]": print it as it is, never as rich markup.
    plain = {"markup": False, "highlight": False, "soft_wrap": True}
    console.print(entry["request_line"], **plain)
    for name, value in entry["request_headers"]:
        console.print(f"{name}: {value}", **plain)
    if entry.get("request_xml"):
        console.print("\n" + entry["request_xml"].rstrip(), **plain)
    elif entry.get("request_body"):
        console.print("\n" + entry["request_body"].rstrip(), **plain)
    console.print(f"\nHTTP/1.1 {entry['response_status']}", **plain)
    for name, value in entry["response_headers"]:
        console.print(f"{name}: {value}", **plain)
    if entry.get("response_xml"):
        console.print("\n" + entry["response_xml"].rstrip(), **plain)
    for key, value in (entry.get("notes") or {}).items():
        console.print(f"{key}: {value}", **plain)
    console.print()
