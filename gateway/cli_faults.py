"""``easgate faults add|list|clear|load`` and ``easgate devices wipe ID [--account-only]``:
fault injection and remote wipe on a running gateway, through its admin API (SPEC §8).

Importing this module adds ``wipe`` to the ``devices`` group of `gateway.cli_admin`;
gateway/cli.py mounts ``faults_app``.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from gateway.admin_client import DEFAULT_URL, AdminClient
from gateway.cli_admin import TokenOption, UrlOption, _run, _state, devices_app
from gateway.faults.rules import ACTIONS
from gateway.faults.scenario import ScenarioError, read_scenario

faults_app = typer.Typer(help="Fault injection: make the gateway misbehave on purpose.",
                         no_args_is_help=True)


class FaultsClient(AdminClient):
    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/faults")

    def add_fault(self, rule: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/faults", rule)

    def delete_faults(self, rule_id: int | None = None) -> dict[str, Any]:
        return self._call("DELETE", "/faults" if rule_id is None else f"/faults/{rule_id}")

    def wipe(self, pk: int, *, account_only: bool) -> dict[str, Any]:
        return self._call("POST", f"/devices/{pk}/wipe", {"account_only": account_only})

    def cancel_wipe(self, pk: int) -> dict[str, Any]:
        return self._call("DELETE", f"/devices/{pk}/wipe")


def _client(url: str, token: str | None) -> FaultsClient:
    return FaultsClient(url, token)


def _console() -> Console:
    return Console(highlight=False)


@faults_app.command("add")
def faults_add(
    action: Annotated[str, typer.Argument(help=f"One of: {', '.join(ACTIONS)}.")],
    command: Annotated[str | None, typer.Option(help="Only this EAS command, e.g. Sync.")] = None,
    user: Annotated[str | None, typer.Option(help="Only this user's requests.")] = None,
    device_id: Annotated[str | None, typer.Option(help="Only this DeviceId.")] = None,
    device_type: Annotated[str | None, typer.Option(help="Only this DeviceType.")] = None,
    status: Annotated[int | None, typer.Option(
        help="http: the HTTP status (503, 500, 401, 449, 451, 507 …); status: the EAS Status.")] = None,
    retry_after: Annotated[int | None, typer.Option(help="http 503: Retry-After seconds.")] = None,
    throttle: Annotated[str | None, typer.Option(help="http 503: X-MS-ASThrottle reason.")] = None,
    location: Annotated[str | None, typer.Option(help="http 451: the X-MS-Location URL.")] = None,
    ms: Annotated[int | None, typer.Option(help="delay: milliseconds.")] = None,
    bytes_per_s: Annotated[int | None, typer.Option(help="slow: bytes per second.")] = None,
    size: Annotated[int | None, typer.Option(
        "--bytes", help="truncate: bytes kept; corrupt: bytes flipped.")] = None,
    after: Annotated[int | None, typer.Option(help="Let the first N matching requests through.")] = None,
    count: Annotated[int | None, typer.Option(help="Fire N times, then retire.")] = None,
    probability: Annotated[float | None, typer.Option(help="Chance of firing, 0 to 1.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the draws (runs repeat).")] = None,
    expires_at: Annotated[str | None, typer.Option(help="ISO time on the gateway clock.")] = None,
    note: Annotated[str | None, typer.Option(help="Why this rule is there.")] = None,
    url: UrlOption = DEFAULT_URL, token: TokenOption = None,
) -> None:
    """Add a fault rule."""
    given = {"action": action, "command": command, "user": user, "device_id": device_id,
             "device_type": device_type, "status": status, "retry_after": retry_after,
             "throttle": throttle, "location": location, "ms": ms, "bytes_per_s": bytes_per_s,
             "bytes": size, "after": after, "count": count, "probability": probability,
             "seed": seed, "expires_at": expires_at, "note": note}
    rule = _run(lambda: _client(url, token).add_fault(
        {k: v for k, v in given.items() if v is not None}))
    _console().print(f"rule {rule['id']}: {_matching(rule)} → {rule['summary']}{_when(rule)}")


@faults_app.command("list")
def faults_list(url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """List the fault rules with what each has counted and fired."""
    found = _run(lambda: _client(url, token).faults())
    table = Table(title=f"{len(found)} fault rule(s)")
    for column in ("id", "matches", "fault", "when", "seen", "fired", "active"):
        table.add_column(column)
    for rule in found:
        table.add_row(str(rule["id"]), _matching(rule), rule["summary"],
                      _when(rule).strip(" ,") or "always", str(rule["seen"]),
                      str(rule["fired"]), "yes" if rule["active"] else "[dim]retired[/dim]")
    _console().print(table)


@faults_app.command("clear")
def faults_clear(
    rule_id: Annotated[int | None, typer.Argument(metavar="[ID]", help="One rule; all when left out.")] = None,
    url: UrlOption = DEFAULT_URL, token: TokenOption = None,
) -> None:
    """Remove one fault rule, or all of them."""
    answer = _run(lambda: _client(url, token).delete_faults(rule_id))
    _console().print(f"{answer['deleted']} rule(s) removed")


@faults_app.command("load")
def faults_load(
    file: Annotated[Path, typer.Argument(help="A scenario file, JSON or TOML.")],
    url: UrlOption = DEFAULT_URL, token: TokenOption = None,
) -> None:
    """Load a scenario of fault rules (at and for are read on the gateway clock)."""
    client = _client(url, token)
    now = datetime.fromisoformat(_run(client.clock)["now"].replace("Z", "+00:00"))
    try:
        scenario = read_scenario(file, now)
    except ScenarioError as error:
        _console().print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from None
    if scenario.replace:
        _run(client.delete_faults)
    for rule in scenario.rules:
        added = _run(lambda rule=rule: client.add_fault(rule))
        _console().print(f"rule {added['id']}: {_matching(added)} → {added['summary']}"
                         f"{_when(added)}")
    _console().print(f"{len(scenario.rules)} rule(s) loaded from {file}")


@devices_app.command("wipe")
def devices_wipe(
    pk: Annotated[int, typer.Argument(metavar="ID", help="The device's id.")],
    account_only: Annotated[bool, typer.Option(
        "--account-only", help="Remove only this account's data (EAS 16.1).")] = False,
    cancel: Annotated[bool, typer.Option(
        "--cancel", help="Withdraw a pending wipe (or clear a completed one).")] = False,
    url: UrlOption = DEFAULT_URL, token: TokenOption = None,
) -> None:
    """Order a remote wipe, delivered at the device's next request (MS-ASPROV)."""
    client = _client(url, token)
    if cancel:
        device = _run(lambda: client.cancel_wipe(pk))
    else:
        device = _run(lambda: client.wipe(pk, account_only=account_only))
    _console().print(f"device {pk}: {_state(device['state'])} (wipe: {device['wipe']})")


def _matching(rule: dict[str, Any]) -> str:
    parts = [f"{name}={rule[name]}" for name in ("command", "user", "device_id", "device_type")
             if rule.get(name)]
    return " ".join(parts) or "every request"


def _when(rule: dict[str, Any]) -> str:
    parts = []
    if rule.get("after"):
        parts.append(f"after {rule['after']}")
    if rule.get("count") is not None:
        parts.append(f"{rule['count']} time(s)")
    if rule.get("probability", 1) < 1:
        parts.append(f"p={rule['probability']:g} seed {rule['seed']}")
    if rule.get("starts_at"):
        parts.append(f"from {rule['starts_at']}")
    if rule.get("expires_at"):
        parts.append(f"until {rule['expires_at']}")
    return (", " + ", ".join(parts)) if parts else ""
