"""The load generator (`easgate load`): many emulated devices against one gateway.

Each device is a `Session` of its profile. After setting up as an already configured phone
does on start (Provision, FolderSync, the Inbox brought up to date), most devices idle in
Ping; the *active* fraction syncs every few seconds instead (and marks mail read now and
then). Meanwhile mail is sent from active devices (SendMail) and delivered from outside
through the admin API; the time from a delivery to the Ping answer that tells one of the
recipient's devices is the push latency.

Bounded: a device count and a duration (both capped), loopback servers only unless told
otherwise. With ``push_probe`` the run waits until every idle device holds its Ping, says so
(the ``ready`` event), waits ``settle`` seconds (or less: SIGUSR1 ends the wait), then
delivers that many mails one at a time, each once the previous one's pushes are in, and
ends: the Ping fan-out benchmark drives it that way, measuring the gateway while it waits.
"""
from __future__ import annotations

import asyncio
import bisect
import contextlib
import gc
import ipaddress
import json
import random
import resource
import signal
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import urlsplit

import aiohttp

from emulator import documents as docs
from emulator.admin import AdminAPI, AdminError
from emulator.client import Account, EASClient, TransportError, server_root
from emulator.profiles import Profile, load_profiles, spread
from emulator.session import DeviceBlocked, DeviceWiped, Event, Session, SessionError
from emulator.stats import LoadStats

MAX_DEVICES = 20_000
MAX_DURATION = 24 * 3600.0
MAX_USERS = 10_000
DEMO_USERS = ("alice", "bob", "carol")
ERROR_BACKOFF = 5.0  # seconds a device waits after an error, as apps back off
PROBE_GRACE = 15.0  # seconds to wait for a probe mail's pushes to come in


class PlanError(ValueError):
    """The load plan is out of bounds or unsafe (a remote server without allow_remote)."""


@dataclass(frozen=True)
class LoadPlan:
    url: str = "http://127.0.0.1:8080"
    devices: int = 100
    duration: float = 60.0
    mix: dict[str, int] = field(default_factory=dict)  # profile → weight; empty: all alike
    create_users: int = 0  # generate this many users through the admin API
    reuse_users: bool = False  # the generated users exist already: use them, create none
    tenant: str = "contoso.com"
    password: str = "demo-pass"
    token: str | None = None  # admin token: needed to create users and deliver mail
    active_fraction: float = 0.1
    sync_interval: float = 10.0  # seconds between an active device's syncs
    send_rate: float = 0.1  # SendMail per second, over all active devices
    deliver_rate: float = 0.2  # mails delivered per second through the admin API
    heartbeat: int | None = None  # Ping heartbeat; None: each profile's own
    ramp: float | None = None  # seconds over which devices start; None: min(10, duration/4)
    setup_concurrency: int = 32  # devices setting up at once (a server is not a stampede)
    push_probe: int = 0
    settle: float = 0.0  # seconds between "ready" and the push probe
    allow_remote: bool = False
    insecure: bool = False  # do not verify the server's certificate
    seed: int = 1

    def check(self) -> None:
        if not 1 <= self.devices <= MAX_DEVICES:
            raise PlanError(f"--devices must be between 1 and {MAX_DEVICES}")
        if not 0 < self.duration <= MAX_DURATION:
            raise PlanError(f"--duration must be between 1 and {MAX_DURATION:.0f} seconds")
        if not 0 <= self.create_users <= MAX_USERS:
            raise PlanError(f"--users must be between 1 and {MAX_USERS}")
        if not 0 <= self.active_fraction <= 1:
            raise PlanError("the active fraction must be between 0 and 1")
        if self.setup_concurrency < 1:
            raise PlanError("--setup-concurrency must be at least 1")
        if min(self.send_rate, self.deliver_rate, self.sync_interval, self.settle) < 0:
            raise PlanError("rates, intervals and the settle time cannot be negative")
        needs_admin = (self.create_users and not self.reuse_users) or self.deliver_rate \
            or self.push_probe
        if needs_admin and not self.token:
            raise PlanError("creating users and delivering mail need the admin token "
                            "(--token or EASGATE_ADMIN_TOKEN)")
        if not self.allow_remote and not is_loopback(self.url):
            raise PlanError(f"{self.url} is not a loopback address; pass --allow-remote to "
                            "load a server on another machine")

    @property
    def ramp_seconds(self) -> float:
        return self.ramp if self.ramp is not None else min(10.0, self.duration / 4)


def generated_address(n: int, tenant: str) -> str:
    """The address of the n-th user `--users` creates (the same on every run)."""
    return f"load-{n:05d}@{tenant}"


def is_loopback(url: str) -> bool:
    host = urlsplit(url if "://" in url else f"http://{url}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: we do not resolve it to decide


def raise_open_files_limit(wanted: int) -> int:
    """Raise this process's open-files limit towards ``wanted`` (one socket per device);
    returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


class Device:
    """One emulated device of the load: its session and what it does in its loop."""

    def __init__(self, load: LoadGenerator, index: int, profile: Profile, account: Account,
                 active: bool):
        self.load = load
        self.index = index
        self.account = account
        self.active = active
        self.rng = random.Random(load.plan.seed * 1_000_003 + index)
        client = EASClient(load.http, load.plan.url, account, profile,
                           profile.device_id("load", account.address, index))
        self.session = Session(client, on_event=self.on_event)
        self.ready = False  # set up, in its loop
        self.gone = False  # blocked or wiped: the device has stopped
        self.in_ping = False
        self.ping_sent = 0.0
        self.last_exchange: Event | None = None

    # --- the loop ----------------------------------------------------------------------
    async def run(self, start_delay: float) -> None:
        await asyncio.sleep(start_delay)
        stats = self.load.stats
        stats.devices_started += 1
        try:
            await self._until_set_up()
            self._mark_ready()
            while True:
                await self._guarded(self._activity)
        except DeviceBlocked:
            self._mark_gone()
            stats.devices_blocked += 1
        except DeviceWiped:
            self._mark_gone()
            stats.devices_wiped += 1
        finally:
            self._leave_ping()

    def _mark_ready(self) -> None:
        self.ready = True
        self.load.stats.devices_ready += 1
        self.load.settled += 1
        if not self.active:
            self.load.idle_ready += 1
        if self.session.outcome == "quarantined":
            self.load.stats.devices_quarantined += 1

    def _mark_gone(self) -> None:
        self.gone = True
        if not self.ready:
            self.load.settled += 1
        elif not self.active:
            self.load.idle_ready -= 1

    async def _until_set_up(self) -> None:
        """Set up, again after an error; only so many devices at once, as real phones come
        online over time rather than all in the same second."""
        while True:
            async with self.load.setup_gate:
                if await self._guarded(self._set_up, backoff=False):
                    return
            await asyncio.sleep(ERROR_BACKOFF * self.rng.uniform(0.5, 1.5))

    async def _set_up(self) -> None:
        """What a configured phone does when the app starts: make sure it is provisioned,
        refresh the hierarchy, bring the Inbox up to date."""
        session = self.session
        await session.provision_or_wipe()
        await session.folder_sync()
        inbox = session.folder_of_type(docs.INBOX)
        if inbox is None:
            raise SessionError("the hierarchy has no Inbox")
        await session.sync(inbox)

    async def _activity(self) -> None:
        if self.active:
            await self._sync_now_and_then()
        else:
            await self._ping()

    async def _sync_now_and_then(self) -> None:
        interval = self.load.plan.sync_interval
        await asyncio.sleep(self.rng.uniform(0.5 * interval, 1.5 * interval))
        inbox = self.session.inbox
        if inbox is None:
            return
        unread = [i.server_id for i in inbox.items.values() if not i.read]
        uploads = None
        if unread and self.rng.random() < 0.25:  # the person read a mail
            server_id = self.rng.choice(unread)
            inbox.items[server_id].read = True
            uploads = docs.mark_read_commands([server_id])
        await self.session.sync(inbox.folder, uploads)

    async def _ping(self) -> None:
        self.in_ping = True
        self.load.stats.pings_sent += 1
        self.load.stats.pings_held += 1
        self.ping_sent = time.perf_counter()
        try:
            await self.session.ping(self.load.plan.heartbeat)
        finally:
            self._leave_ping()

    def _leave_ping(self) -> None:
        if self.in_ping:
            self.in_ping = False
            self.load.stats.pings_held -= 1

    async def _guarded(self, action: Callable[[], Any], *, backoff: bool = True) -> bool:
        """Run one action; an error is counted and (``backoff``) waited out, as an app
        backs off."""
        try:
            await action()
            return True
        except (DeviceBlocked, DeviceWiped):
            raise
        except SessionError as error:
            self.load.stats.error(self.error_kind(), str(error))
        except TransportError as error:
            kind = "timeout" if error.reason.startswith("no answer") else error.reason.split(":")[0]
            self.load.stats.error(f"{error.command}: {kind}", str(error))
        if backoff:
            await asyncio.sleep(ERROR_BACKOFF * self.rng.uniform(0.5, 1.5))
        return False

    def error_kind(self) -> str:
        last = self.last_exchange
        if last is None:
            return "session"
        if last.http_status != 200:
            return f"{last.command} HTTP {last.http_status}"
        return f"{last.command} Status {last.status_text or last.status}"

    # --- what the session reports ----------------------------------------------------------
    def on_event(self, event: Event) -> None:
        if event.kind != "exchange" or not event.command:
            return
        self.last_exchange = event
        self.load.stats.request(event.command, event.elapsed)
        if event.command == "Ping" and self.in_ping:
            self._ping_answered(event)

    def _ping_answered(self, event: Event) -> None:
        answered = time.perf_counter()
        self._leave_ping()
        if event.status == 2:
            self.load.stats.ping_answers["changes"] += 1
            delivered = self.load.delivered_since(self.account.address, self.ping_sent)
            if delivered is not None:
                self.load.stats.push_latencies.append(answered - delivered)
        elif event.status == 1:
            self.load.stats.ping_answers["expired"] += 1


def pings_held_in(metrics: str) -> int | None:
    """The gateway's ``easgate_pings_held`` gauge in its /metrics text; None without it."""
    for line in metrics.splitlines():
        if line.startswith("easgate_pings_held "):
            return int(float(line.split()[1]))
    return None


class LoadGenerator:
    def __init__(self, plan: LoadPlan, *, events: TextIO | None = None,
                 on_tick: Callable[[LoadGenerator], None] | None = None):
        plan.check()
        self.plan = plan
        self.events = events
        self.on_tick = on_tick or (lambda load: None)
        self.stats = LoadStats()
        self.rng = random.Random(plan.seed)
        self.devices: list[Device] = []
        self.accounts: list[Account] = []
        self._deliveries: dict[str, list[float]] = defaultdict(list)
        self._background: set[asyncio.Task[Any]] = set()
        self.http: aiohttp.ClientSession  # opened in run()
        self.admin: AdminAPI | None = None
        self.go = asyncio.Event()  # ends the settle time before the push probe
        self.settled = 0  # devices set up or stopped
        self.idle_ready = 0  # devices set up to idle in Ping, not stopped since
        self.setup_gate = asyncio.Semaphore(plan.setup_concurrency)

    # --- what the devices ask of the run ---------------------------------------------------
    def delivered_since(self, address: str, since: float) -> float | None:
        """The first delivery to ``address`` at or after ``since`` (perf_counter time)."""
        times = self._deliveries.get(address)
        if not times:
            return None
        at = bisect.bisect_left(times, since)
        return times[at] if at < len(times) else None

    def emit(self, event: str, **facts: Any) -> None:
        if self.events is not None:
            line = {"event": event, "t": round(self.stats.elapsed(), 3), **facts}
            self.events.write(json.dumps(line) + "\n")
            self.events.flush()

    def all_holding(self) -> bool:
        """Every device is set up (or stopped) and every idle one holds its Ping."""
        return (self.settled == len(self.devices)
                and self.stats.pings_held >= self.idle_ready)

    # --- the run ---------------------------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        plan = self.plan
        raise_open_files_limit(plan.devices + 1024)
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, self.go.set)
        connector = aiohttp.TCPConnector(limit=0, ssl=False if plan.insecure else True)
        async with aiohttp.ClientSession(connector=connector) as http:
            self.http = http
            if plan.token:
                self.admin = AdminAPI(http, server_root(plan.url), plan.token)
            self.accounts = await self._accounts()
            self.devices = self._make_devices()
            self.emit("start", devices=plan.devices, users=len(self.accounts))
            self.stats.started = time.perf_counter()
            await self._drive()
        summary = self.stats.summary()
        self.emit("done", errors=summary["error_count"], requests=summary["requests"])
        return summary

    async def _accounts(self) -> list[Account]:
        plan = self.plan
        if not plan.create_users:
            return [Account(f"{local}@{plan.tenant}", plan.password) for local in DEMO_USERS]
        accounts = [Account(generated_address(n, plan.tenant), plan.password)
                    for n in range(plan.create_users)]
        if plan.reuse_users:
            return accounts
        assert self.admin is not None
        gate = asyncio.Semaphore(8)  # password hashing is slow on purpose: a few at a time

        async def create(account: Account) -> None:
            async with gate:
                await self.admin.create_user(  # type: ignore[union-attr]
                    account.address, account.password, account.address.split("@")[0])

        await asyncio.gather(*(create(a) for a in accounts))
        return accounts

    def _make_devices(self) -> list[Device]:
        plan = self.plan
        profiles = load_profiles()
        names = spread(plan.mix or dict.fromkeys(profiles, 1), plan.devices)
        active_count = round(plan.devices * plan.active_fraction)
        active = set(self.rng.sample(range(plan.devices), active_count))
        return [Device(self, n, profiles[name], self.accounts[n % len(self.accounts)],
                       n in active)
                for n, name in enumerate(names)]

    async def _drive(self) -> None:
        plan = self.plan
        step = plan.ramp_seconds / max(1, plan.devices)
        workers = [asyncio.create_task(d.run(n * step)) for n, d in enumerate(self.devices)]
        helpers = [asyncio.create_task(self._ticker())]
        if plan.send_rate > 0:
            helpers.append(asyncio.create_task(self._sender()))
        if plan.deliver_rate > 0:
            helpers.append(asyncio.create_task(self._deliverer()))
        probe = asyncio.create_task(self._probe()) if plan.push_probe else None
        try:
            if probe is not None:
                await asyncio.wait([probe], timeout=plan.duration)
            else:
                await asyncio.sleep(plan.duration)
        finally:
            for task in workers + helpers + list(self._background) + ([probe] if probe else []):
                task.cancel()
            await asyncio.gather(*workers, *helpers, *self._background,
                                 *([probe] if probe else []), return_exceptions=True)
            self.on_tick(self)

    async def _ticker(self) -> None:
        while True:
            self.on_tick(self)
            await asyncio.sleep(0.5)

    # --- mail traffic ------------------------------------------------------------------------
    async def _sender(self) -> None:
        count = 0
        while True:
            await asyncio.sleep(self.rng.expovariate(self.plan.send_rate))
            senders = [d for d in self.devices if d.active and d.ready]
            if not senders:
                continue
            count += 1
            device = self.rng.choice(senders)
            recipient = self.rng.choice(self.accounts).address
            self._spawn(self._send(device, recipient, count))

    async def _send(self, device: Device, recipient: str, count: int) -> None:
        try:
            await device.session.send_mail(recipient, f"Load test mail {count}",
                                           "Sent by easgate load.")
            self.stats.sends += 1
        except SessionError as error:
            self.stats.error(device.error_kind(), str(error))
        except TransportError as error:
            self.stats.error(f"SendMail: {error.reason.split(':')[0]}", str(error))

    def _recipients(self) -> list[str]:
        """Users with at least one device idling in Ping (whose push can be timed)."""
        return sorted({d.account.address for d in self.devices if d.ready and not d.active})

    async def _deliverer(self) -> None:
        count = 0
        while True:
            await asyncio.sleep(self.rng.expovariate(self.plan.deliver_rate))
            recipients = self._recipients()
            if recipients:
                count += 1
                self._spawn(self._deliver(self.rng.choice(recipients), f"Load delivery {count}"))

    async def _deliver(self, address: str, subject: str) -> None:
        assert self.admin is not None
        self._deliveries[address].append(time.perf_counter())
        try:
            await self.admin.deliver(address, subject, "Delivered by easgate load.")
            self.stats.deliveries += 1
        except AdminError as error:
            self.stats.error(f"deliver HTTP {error.status}", str(error))
        except (aiohttp.ClientError, TimeoutError) as error:
            self.stats.error(f"deliver: {type(error).__name__}", str(error))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- the push probe ----------------------------------------------------------------------
    async def _probe(self) -> None:
        """Wait until every idle device holds its Ping, then time the push of N mails."""
        await self._until(self.all_holding, self.plan.duration)
        self.emit("ready", pings_held=self.stats.pings_held, devices=len(self.devices))
        # Thousands of sessions set up and living on: out of the collector's sight, so that a
        # full collection of them does not stall this process while it times the pushes.
        gc.collect()
        gc.freeze()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.go.wait(), self.plan.settle)
        self.emit("probe", mails=self.plan.push_probe)
        expected = measured = 0
        for n in range(self.plan.push_probe):
            # one mail at a time, each once the devices it woke hold their Ping again: the
            # figure is the push itself, not a queue of the previous mails' syncs
            await self._until(self.all_holding, PROBE_GRACE)
            await self._until_server_holds(self.stats.pings_held, PROBE_GRACE)
            address = self.rng.choice(self._recipients())
            waiting = sum(1 for d in self.devices if d.account.address == address and d.in_ping)
            before = len(self.stats.push_latencies)
            await self._deliver(address, f"Push probe {n + 1}")
            await self._until(lambda before=before, waiting=waiting:
                              len(self.stats.push_latencies) - before >= waiting, PROBE_GRACE)
            expected += waiting
            measured += len(self.stats.push_latencies) - before
        self.emit("probed", expected=expected, measured=measured)

    async def _until_server_holds(self, count: int, timeout: float) -> None:
        """Until the gateway itself holds ``count`` requests (its ``easgate_pings_held``
        gauge). A Ping a device has sent may still wait in the gateway's queue behind the
        Syncs the previous mail caused, and a mail delivered then would be timed behind
        them. A server without the gauge is not waited for."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            held = await self._server_pings_held()
            if held is None or held >= count:
                return
            await asyncio.sleep(0.02)

    async def _server_pings_held(self) -> int | None:
        try:
            async with self.http.get(server_root(self.plan.url) + "/metrics") as answer:
                text = await answer.text() if answer.status == 200 else ""
        except (aiohttp.ClientError, TimeoutError):
            return None
        return pings_held_in(text)

    async def _until(self, condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.perf_counter() + timeout
        while not condition():
            if time.perf_counter() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True
