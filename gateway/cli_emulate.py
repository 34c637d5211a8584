"""`easgate emulate` (one scripted device) and `easgate load` (many), over `emulator/`."""
from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, TextIO

import aiohttp
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from emulator.client import Account, EASClient, TransportError
from emulator.load import LoadGenerator, LoadPlan, PlanError
from emulator.profiles import ProfileError, get_profile, parse_mix
from emulator.session import Event, Session, SessionError

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_DELIVER_RATE = 0.2
stdout = Console(soft_wrap=True)  # long links stay whole, so they can be copied
stderr = Console(stderr=True, soft_wrap=True)


# --- easgate emulate -------------------------------------------------------------------------
def print_event(event: Event) -> None:
    if event.kind == "note":
        stdout.print(f"  [bold yellow]![/] [yellow]{event.step}:[/] {event.detail}",
                     highlight=False)
        return
    status = f"Status {event.status_text}" if event.status is not None else ""
    colour = "green" if event.http_status == 200 and event.status in (None, 1, 2) else "red"
    stdout.print(
        f"  {event.step:<24} [{colour}]HTTP {event.http_status:<3} {status:<34}[/] "
        f"{event.elapsed * 1000:7.1f} ms  {event.detail}", highlight=False)


def print_outcome(session: Session) -> None:
    outcome = session.outcome
    counts = ", ".join(f"{c.folder.name} {len(c.items)}" for c in session.collections.values())
    if outcome == "quarantined" and session.notice is not None:
        notice = session.notice
        stdout.print(f"[bold yellow]quarantined[/]: the notice {notice.subject!r} is the only "
                     f"mail the device receives", highlight=False)
        stdout.print(f"  keep this app: {notice.keep_url}\n  use Outlook:   {notice.outlook_url}",
                     highlight=False)
    elif outcome == "blocked":
        stdout.print("[bold red]blocked[/]: the server refuses this device (Status 129 / HTTP 403)")
    elif outcome == "wiped":
        stdout.print("[bold red]wiped[/]: the server ordered a remote wipe; the device obeyed")
    else:
        stdout.print(f"[bold green]synced[/]: {len(session.folders)} folders; {counts}",
                     highlight=False)


async def emulate_session(
    url: str, profile_name: str, account: Account, *, device_id: str | None, steps: int | None,
    heartbeat: int | None, choose: str | None, insecure: bool,
) -> str:
    profile = get_profile(profile_name)
    connector = aiohttp.TCPConnector(ssl=False if insecure else True)
    async with aiohttp.ClientSession(connector=connector) as http:
        client = EASClient(http, url, account, profile,
                           device_id or profile.device_id(account.address))
        stdout.print(f"[bold]{profile.name}[/] ({profile.user_agent}, EAS {profile.version}) "
                     f"as {account.address}, DeviceId {client.device_id}", highlight=False)
        session = Session(client, on_event=print_event)
        await session.first_sync()
        if choose and session.outcome == "quarantined":
            await session.choose(choose)
        if steps != 0 and session.outcome in ("synced", "quarantined"):
            await session.ping_rounds(steps, heartbeat)
        print_outcome(session)
        return session.outcome


def emulate_command(
    profile: str = typer.Option(..., "--profile", help="Device profile, e.g. iphone-mail."),
    user: str = typer.Option(..., "--user", help="alice@contoso.com"),
    password: str = typer.Option(..., "--password"),
    url: str = typer.Option(DEFAULT_URL, "--url", help="The gateway (its ActiveSync path is added)."),
    steps: int = typer.Option(0, "--steps", min=0, help="Ping rounds after the first sync."),
    forever: bool = typer.Option(False, "--forever", help="Ping until interrupted."),
    choose: str | None = typer.Option(
        None, "--choose", help="Follow the notice's link: keep or outlook."),
    heartbeat: int | None = typer.Option(
        None, "--heartbeat", min=1, help="Ping heartbeat in seconds (default: the app's)."),
    device_id: str | None = typer.Option(None, "--device-id", help="Default: stable per user."),
    insecure: bool = typer.Option(False, "--insecure", help="Do not verify the certificate."),
) -> None:
    """Play one device: the app's scripted first sync, then --steps Ping rounds."""
    if choose not in (None, "keep", "outlook"):
        raise typer.BadParameter("--choose takes keep or outlook")
    try:
        asyncio.run(emulate_session(
            url, profile, Account(user, password), device_id=device_id,
            steps=None if forever else steps, heartbeat=heartbeat, choose=choose,
            insecure=insecure))
    except ProfileError as error:
        stderr.print(f"error: {error}", highlight=False)
        raise typer.Exit(2) from None
    except (SessionError, TransportError) as error:
        stderr.print(f"[red]failed:[/] {error}", highlight=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


# --- easgate load ------------------------------------------------------------------------------
class LoadProgress:
    """A rich progress bar over the run's duration, with the run's counters beside it."""

    def __init__(self, duration: float, enabled: bool):
        self.progress = Progress(
            TextColumn("[bold]load"), BarColumn(), TimeElapsedColumn(),
            TextColumn("{task.description}"), console=stderr, disable=not enabled,
            transient=False)
        self.task = self.progress.add_task("", total=duration)

    def tick(self, load: LoadGenerator) -> None:
        stats = load.stats
        elapsed = stats.elapsed()
        rate = stats.requests / elapsed if elapsed > 0 else 0.0
        self.progress.update(self.task, completed=min(elapsed, load.plan.duration), description=(
            f"devices {stats.devices_ready}/{load.plan.devices}  pings held {stats.pings_held}  "
            f"requests {stats.requests} ({rate:.0f}/s)  errors {stats.error_count}"))


def print_summary(summary: dict[str, Any]) -> None:
    table = Table(title=f"easgate load: {summary['requests']} requests in "
                        f"{summary['duration_s']} s ({summary['requests_per_s']}/s)")
    for column in ("command", "requests", "per s", "p50 ms", "p90 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="left" if column == "command" else "right")
    for command, entry in summary["commands"].items():
        table.add_row(command, str(entry["requests"]), f"{entry['per_s']:.2f}",
                      *(f"{entry[k]:.1f}" if k in entry else "held"
                        for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms")))
    stdout.print(table)
    push = summary["push_latency"]
    devices = summary["devices"]
    stdout.print(
        f"devices: {devices['ready']} ready of {devices['started']} started, "
        f"{devices['blocked']} blocked, {devices['quarantined']} quarantined; "
        f"pings {summary['pings']}; sent {summary['sends']}, "
        f"delivered {summary['deliveries']}", highlight=False)
    stdout.print(
        f"push latency: {push['count']} pushes, p50 {push['p50_ms']} ms, p90 {push['p90_ms']} ms, "
        f"p99 {push['p99_ms']} ms, max {push['max_ms']} ms", highlight=False)
    if summary["errors"]:
        stdout.print(f"[red]errors: {summary['error_count']}[/]")
        for kind, count in summary["errors"].items():
            samples = "; ".join(summary["error_samples"].get(kind, []))
            stdout.print(f"  {count:6d}  {kind}  {samples}", highlight=False)
    else:
        stdout.print("[green]errors: 0[/]")


def _events_stream(target: str | None) -> TextIO | None:
    if target is None:
        return None
    return sys.stdout if target == "-" else open(target, "w", encoding="utf-8")  # noqa: SIM115


def load_command(
    devices: int = typer.Option(..., "--devices", help="How many devices to emulate."),
    duration: float = typer.Option(..., "--duration", help="Seconds to run."),
    profile_mix: str | None = typer.Option(
        None, "--profile-mix", help="Weights, e.g. outlook-ios=1,iphone-mail=3 (default: even)."),
    users: int = typer.Option(0, "--users", min=0,
                              help="Create this many users through the admin API."),
    reuse_users: bool = typer.Option(False, "--reuse-users",
                                     help="The --users accounts exist already: create none."),
    url: str = typer.Option(DEFAULT_URL, "--url"),
    json_file: Path | None = typer.Option(None, "--json", help="Write the summary as JSON."),
    allow_remote: bool = typer.Option(False, "--allow-remote",
                                      help="Allow a server that is not on this machine."),
    token: str | None = typer.Option(None, "--token", envvar="EASGATE_ADMIN_TOKEN",
                                     help="Admin token (users, deliveries)."),
    password: str = typer.Option("demo-pass", "--password", help="The users' password."),
    tenant: str = typer.Option("contoso.com", "--tenant"),
    active_fraction: float = typer.Option(0.1, "--active-fraction",
                                          help="Share of devices syncing instead of in Ping."),
    sync_interval: float = typer.Option(10.0, "--sync-interval",
                                        help="Seconds between an active device's syncs."),
    send_rate: float = typer.Option(0.1, "--send-rate", help="SendMail per second."),
    deliver_rate: float | None = typer.Option(
        None, "--deliver-rate", help=f"Mails delivered per second (default {DEFAULT_DELIVER_RATE} "
                                     "with a token, else 0)."),
    heartbeat: int | None = typer.Option(None, "--heartbeat", min=1,
                                         help="Ping heartbeat (default: each app's)."),
    ramp: float | None = typer.Option(None, "--ramp", min=0,
                                      help="Seconds over which devices start."),
    setup_concurrency: int = typer.Option(
        32, "--setup-concurrency", min=1, help="Devices setting up at the same time."),
    push_probe: int = typer.Option(0, "--push-probe", min=0,
                                   help="Once all hold Ping, time the push of N mails, then end."),
    settle: float = typer.Option(0.0, "--settle", min=0, help="Seconds between ready and probe."),
    events: str | None = typer.Option(None, "--events", help="JSON-lines progress events: FILE or -."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar and no summary table."),
    insecure: bool = typer.Option(False, "--insecure", help="Do not verify the certificate."),
    seed: int = typer.Option(1, "--seed"),
) -> None:
    """Many emulated devices: most idle in Ping, some syncing, mail sent and delivered."""
    if deliver_rate is None:
        deliver_rate = DEFAULT_DELIVER_RATE if token else 0.0
        if not token and not quiet:
            stderr.print("no admin token: no mail is delivered, so no push latency is measured")
    try:
        plan = LoadPlan(
            url=url, devices=devices, duration=duration,
            mix=parse_mix(profile_mix) if profile_mix else {}, create_users=users,
            reuse_users=reuse_users,
            tenant=tenant, password=password, token=token, active_fraction=active_fraction,
            sync_interval=sync_interval, send_rate=send_rate, deliver_rate=deliver_rate,
            heartbeat=heartbeat, ramp=ramp, setup_concurrency=setup_concurrency,
            push_probe=push_probe, settle=settle,
            allow_remote=allow_remote, insecure=insecure, seed=seed)
        plan.check()
    except (PlanError, ProfileError) as error:
        stderr.print(f"error: {error}", highlight=False)
        raise typer.Exit(2) from None
    summary = _run_load(plan, events, quiet)
    if json_file is not None:
        json_file.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if not quiet:
        print_summary(summary)
    if summary["error_count"]:
        raise typer.Exit(1)


def _run_load(plan: LoadPlan, events: str | None, quiet: bool) -> dict[str, Any]:
    stream = _events_stream(events)
    progress = LoadProgress(plan.duration, enabled=not quiet)
    try:
        with progress.progress:
            generator = LoadGenerator(plan, events=stream, on_tick=progress.tick)
            return asyncio.run(generator.run())
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except Exception as error:  # set-up failures: no server, admin API refused …
        stderr.print(f"[red]load failed:[/] {type(error).__name__}: {error}", highlight=False)
        raise typer.Exit(1) from None
    finally:
        if stream is not None and stream is not sys.stdout:
            stream.close()
