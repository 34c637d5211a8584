"""The admin commands of the CLI (SPEC §8): ``easgate policy``, ``tenants``, ``clock``,
``devices`` and ``mail``. Each talks to a running server's admin API (`gateway.admin_client`): ``--url``
(default http://127.0.0.1:8080) and ``--token`` or ``EASGATE_ADMIN_TOKEN``. Answers are
printed as rich tables; a refusal prints the server's reason and exits 1.

gateway/cli.py mounts the groups with ``app.add_typer``.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from gateway.admin_client import DEFAULT_URL, AdminApiError, AdminClient

policy_app = typer.Typer(help="The tenant's mobile email access setting.", no_args_is_help=True)
tenants_app = typer.Typer(help="Tenants (mail domains) and their setting.", no_args_is_help=True)
clock_app = typer.Typer(help="The gateway clock (policy time).", no_args_is_help=True)
devices_app = typer.Typer(help="Devices, their access state and choices.", no_args_is_help=True)
mail_app = typer.Typer(help="Put mail into mailboxes.", no_args_is_help=True)

T = TypeVar("T")

UrlOption = Annotated[str, typer.Option("--url", help="The gateway's base URL.",
                                        envvar="EASGATE_URL")]
TokenOption = Annotated[str | None, typer.Option(
    "--token", help="The admin token.", envvar="EASGATE_ADMIN_TOKEN", show_envvar=True)]
TenantOption = Annotated[str, typer.Option("--tenant", help="The tenant's mail domain.")]

MODES = ("off", "outlook-only", "recommend-all", "prompt-new-once")
MODE_LABELS = {
    "off": "Off (check box cleared): every app syncs",
    "outlook-only": "Outlook only",
    "recommend-all": "Any email app — all users prompted to use Outlook",
    "prompt-new-once": "Any email app — new users or devices prompted once",
}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([dhms])", re.IGNORECASE)
_UNIT_S = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def _console() -> Console:
    """A console per output, so the terminal's width (COLUMNS) is read when printing."""
    return Console()


def _client(url: str, token: str | None) -> AdminClient:
    return AdminClient(url, token)


def _run(call: Callable[[], T]) -> T:
    try:
        return call()
    except AdminApiError as exc:
        _console().print(f"[red]error:[/red] {exc.detail} [dim]({exc.error})[/dim]")
        raise typer.Exit(1) from None


# --- policy -------------------------------------------------------------------------------
@policy_app.command("show")
def policy_show(tenant: TenantOption = "contoso.com", url: UrlOption = DEFAULT_URL,
                token: TokenOption = None) -> None:
    """Show the mobile email access setting."""
    _print_setting(tenant, _run(lambda: _client(url, token).mobile_access(tenant)))


@policy_app.command("set")
def policy_set(
    mode: Annotated[str, typer.Argument(help=f"One of: {', '.join(MODES)}.")],
    tenant: TenantOption = "contoso.com",
    rollout_window: Annotated[str | None, typer.Option(
        "--rollout-window", help="Spread of previously configured devices' notices, e.g. 48h.")] = None,
    quarantine: Annotated[str | None, typer.Option(
        "--quarantine", help="How long a notice's quarantine lasts, e.g. 24h.")] = None,
    url: UrlOption = DEFAULT_URL, token: TokenOption = None,
) -> None:
    """Change the mobile email access setting."""
    if mode not in MODES:
        _console().print(f"[red]error:[/red] unknown mode {mode!r}; one of {', '.join(MODES)}")
        raise typer.Exit(2)
    change: dict[str, Any] = {"mode": mode}
    if rollout_window is not None:
        change["rollout_window_s"] = int(parse_duration(rollout_window, allow_zero=True))
    if quarantine is not None:
        change["quarantine_s"] = int(parse_duration(quarantine))
    _print_setting(tenant, _run(lambda: _client(url, token).set_mobile_access(tenant, **change)))


# --- tenants ------------------------------------------------------------------------------
@tenants_app.command("list")
def tenants_list(url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """List the tenants with their mobile email access mode."""
    table = Table("domain", "mode", "available", "enabled at")
    for tenant in _run(lambda: _client(url, token).tenants()):
        table.add_row(tenant["domain"], tenant["mode"], "yes" if tenant["available"] else "no",
                      tenant["enabled_at"] or "—")
    _console().print(table)


@tenants_app.command("add")
def tenants_add(
    domain: Annotated[str, typer.Argument(help="The tenant's mail domain, e.g. fabrikam.com.")],
    mode: Annotated[str, typer.Option("--mode", help=f"One of: {', '.join(MODES)}.")] = "off",
    url: UrlOption = DEFAULT_URL, token: TokenOption = None,
) -> None:
    """Add a tenant, with its setting, before any of its users signs in."""
    added = _run(lambda: _client(url, token).add_tenant(domain, mode=mode))
    _print_setting(added["domain"], added)


def _print_setting(tenant: str, setting: dict[str, Any]) -> None:
    table = Table(title=f"Mobile email access — {tenant}", show_header=False)
    table.add_row("mode", f"[bold]{setting['mode']}[/bold]  {MODE_LABELS.get(setting['mode'], '')}")
    table.add_row("available", "yes" if setting["available"] else
                  f"[yellow]no[/yellow] — {setting['unavailable_reason']}")
    table.add_row("enabled at", setting["enabled_at"] or "—")
    table.add_row("rollout window", describe_seconds(setting["rollout_window_s"]))
    table.add_row("quarantine", describe_seconds(setting["quarantine_s"]))
    _console().print(table)


# --- clock --------------------------------------------------------------------------------
@clock_app.command("show")
def clock_show(url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """Show policy time and the clock's mode."""
    _print_clock(_run(lambda: _client(url, token).clock()))


@clock_app.command("advance")
def clock_advance(
    duration: Annotated[str, typer.Argument(help="How far, e.g. 24h, 90m, 1d12h, 30s.")],
    url: UrlOption = DEFAULT_URL, token: TokenOption = None,
) -> None:
    """Move the clock forward; deadlines it passes fire before this returns."""
    seconds = parse_duration(duration)
    _print_clock(_run(lambda: _client(url, token).advance_clock(seconds)))


@clock_app.command("set")
def clock_set(
    when: Annotated[str, typer.Argument(help="An ISO 8601 time, e.g. 2026-11-20T09:00:00Z.")],
    url: UrlOption = DEFAULT_URL, token: TokenOption = None,
) -> None:
    """Jump to a time (never back while a device is quarantined)."""
    _print_clock(_run(lambda: _client(url, token).set_clock(now=when)))


def _print_clock(clock: dict[str, Any]) -> None:
    _console().print(f"[bold]{clock['now']}[/bold]  ({clock['mode']} clock)")


# --- devices ------------------------------------------------------------------------------
STATE_STYLES = {"allowed": "green", "pending": "cyan", "quarantined": "yellow",
                "blocked": "red", "wipe-pending": "magenta", "wiped": "magenta"}


@devices_app.command("list")
def devices_list(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's devices.")] = None,
    state: Annotated[str | None, typer.Option("--state", help="Only devices in this state.")] = None,
    url: UrlOption = DEFAULT_URL, token: TokenOption = None,
) -> None:
    """List devices with their access state."""
    devices = _run(lambda: _client(url, token).devices(user=user, state=state))
    table = Table(title=f"{len(devices)} device(s)")
    for column in ("id", "user", "device id", "type", "app", "state", "reason", "deadline",
                   "last seen"):
        table.add_column(column)
    for device in devices:
        table.add_row(str(device["id"]), device["user"], device["device_id"],
                      device["device_type"], device["app"], _state(device["state"]),
                      device["reason"] or "—", _deadline(device), device["last_seen"] or "—")
    _console().print(table)


@devices_app.command("show")
def devices_show(pk: Annotated[int, typer.Argument(metavar="ID", help="The device's id.")],
                 url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """Show one device and its audit rows."""
    client = _client(url, token)
    device = _run(lambda: client.device(pk))
    events = _run(lambda: client.events(pk))
    table = Table(title=f"Device {pk}", show_header=False)
    for name, value in device.items():
        shown = _state(value) if name == "state" else ("—" if value in (None, "") else str(value))
        table.add_row(name, shown)
    _console().print(table)
    timeline = Table(title="Audit rows")
    for column in ("at", "event", "detail"):
        timeline.add_column(column)
    for event in events:
        detail = ", ".join(f"{k}={v}" for k, v in event["detail"].items())
        timeline.add_row(event["at"], event["kind"], detail)
    _console().print(timeline)


@devices_app.command("choose")
def devices_choose(
    pk: Annotated[int, typer.Argument(metavar="ID", help="The device's id.")],
    choice: Annotated[str, typer.Argument(help="keep or outlook")],
    url: UrlOption = DEFAULT_URL, token: TokenOption = None,
) -> None:
    """Record the user's choice for a quarantined device."""
    if choice not in ("keep", "outlook"):
        _console().print("[red]error:[/red] the choice is keep or outlook")
        raise typer.Exit(2)
    device = _run(lambda: _client(url, token).choose(pk, choice))
    _console().print(f"device {pk}: {_state(device['state'])} ({device['reason']})")


def _state(state: str) -> str:
    style = STATE_STYLES.get(state)
    return f"[{style}]{state}[/{style}]" if style else state


def _deadline(device: dict[str, Any]) -> str:
    if device["state"] == "pending" and device["notice_at"]:
        return f"notice {device['notice_at']}"
    if device["state"] == "quarantined" and device["quarantine_until"]:
        return f"until {device['quarantine_until']}"
    return "—"


# --- mail ---------------------------------------------------------------------------------
@mail_app.command("deliver")
def mail_deliver(
    to: Annotated[str, typer.Option("--to", help="The recipient's address.")],
    subject: Annotated[str, typer.Option("--subject", help="The subject.")],
    body: Annotated[str, typer.Option("--body", help="The plain-text body.")] = "",
    sender: Annotated[str | None, typer.Option("--from", help="The sender.")] = None,
    folder: Annotated[str | None, typer.Option("--folder", help="A folder name (Inbox).")] = None,
    url: UrlOption = DEFAULT_URL, token: TokenOption = None,
) -> None:
    """Deliver a mail into a user's mailbox (devices' Pings wake)."""
    message: dict[str, Any] = {"subject": subject, "body": body}
    if sender:
        message["from"] = sender
    if folder:
        message["folder"] = folder
    added = _run(lambda: _client(url, token).deliver(to, **message))
    _console().print(f"delivered to {to}: {added['server_id']} in folder {added['folder_id']}")


# --- durations ----------------------------------------------------------------------------
def parse_duration(text: str, *, allow_zero: bool = False) -> float:
    """``24h``, ``90m``, ``1d12h``, ``30s`` or plain seconds → seconds."""
    cleaned = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", cleaned):
        seconds = float(cleaned)
    elif cleaned and _DURATION.sub("", cleaned).strip() == "":
        seconds = sum(float(n) * _UNIT_S[u.lower()] for n, u in _DURATION.findall(cleaned))
    else:
        raise typer.BadParameter(f"{text!r} is not a duration like 24h, 90m or 1d12h")
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise typer.BadParameter("the duration must be positive")
    return seconds


def describe_seconds(seconds: int) -> str:
    hours, rest = divmod(int(seconds), 3600)
    minutes = rest // 60
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
