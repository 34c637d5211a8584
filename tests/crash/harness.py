"""Crash safety: the gateway as a child process (``easgate serve``), clients working against
it, SIGKILL at random moments, a restart, and in the end a reckoning of what the clients
were told against what the database holds.

Used by tests/crash (20 kills per engine) and ``scripts/soak.py`` (``make soak``, 100).

What the clients do (emulated devices speaking real EAS over HTTP):
- Outlook devices (always allowed) add contacts through Sync, send mail to each other,
  sync their Inbox and hierarchy. A contact is *told stored* when the Sync answer carries
  its ServerId with Status 1; a mail when SendMail answers success. A request whose answer
  was lost to a kill is sent again as it was (same SyncKey, same ClientId), as a phone does.
- Third-party devices (iPhone Mail) make their first contact while the tenant's mode is
  ``recommend-all``: each must end quarantined with exactly one notice, and stay so.
- Every client keeps the SyncKeys of the last answer it received in full, and goes on
  with them after each restart.

What is checked:
- after every restart: no device the gateway had answered is gone, and no quarantined device
  is anything else now (access states never go back); no SyncKey a client holds is refused;
- at the end: every item a client was told was stored is in the database, and none is
  stored twice (an Add resent after a kill must find the item its first attempt made);
  every held SyncKey is accepted, every quarantined device has exactly one notice in its
  user's Inbox, and a quarantined device never saw more of its mailbox than its notice.
"""
from __future__ import annotations

import asyncio
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import aiohttp

from emulator import documents as docs
from emulator.client import Account, EASClient, Exchange, TransportError
from emulator.profiles import get_profile
from protocol.xml import E, Element, sub, text
from store import open_store
from store.testing import pg_test_url
from store.types import FolderType

USERS = ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com")
PASSWORD = "demo-pass"
ADMIN_TOKEN = "crash-admin-token"
READY_TIMEOUT_S = 60.0
PROVISION_AGAIN = {142, 143, 144}


# --- the ledger: what clients were told --------------------------------------------------
@dataclass
class Ledger:
    contacts: list[tuple[str, str, str]] = field(default_factory=list)  # user, ServerId, marker
    mails: list[tuple[str, str, str]] = field(default_factory=list)  # sender, recipient, subject
    answered_devices: set[tuple[str, str]] = field(default_factory=set)  # user, DeviceId
    quarantined: set[tuple[str, str]] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    requests: int = 0
    answers: int = 0  # round trips that came back whole
    transport_errors: int = 0

    def problem(self, text_: str) -> None:
        if text_ not in self.problems:
            self.problems.append(text_)


@dataclass
class Report:
    engine: str
    kills: int = 0
    requests: int = 0
    transport_errors: int = 0
    items_checked: int = 0
    keys_checked: int = 0
    devices_checked: int = 0
    notices_checked: int = 0
    lost: int = 0
    doubled: int = 0  # contacts stored more than once (each is also a problem)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"{self.engine}: {self.kills} kills survived, {self.requests} requests "
                f"({self.transport_errors} cut by a kill), {self.items_checked} items, "
                f"{self.keys_checked} SyncKeys, {self.devices_checked} devices, "
                f"{self.notices_checked} notices checked; {self.lost} lost, "
                f"{self.doubled} doubled, "
                f"{len(self.problems)} problems, {self.seconds:.0f} s")


# --- the gateway as a process -------------------------------------------------------------
class Gateway:
    """``easgate serve`` on a fixed port, started, killed and restarted."""

    def __init__(self, db_url: str, directory: Path):
        self.db_url = db_url
        self.directory = directory
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.ready = asyncio.Event()
        self.starts = 0

    async def start(self) -> None:
        log = (self.directory / f"serve-{self.starts}.log").open("wb")
        self.starts += 1
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--db", self.db_url,
             "--http", f"127.0.0.1:{self.port}", "--https", "off",
             "--admin-token", ADMIN_TOKEN, "--clock", "manual"],
            cwd=self.directory, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "EASGATE_LOG_LEVEL": "WARNING"})
        log.close()
        await self._wait_healthy()
        self.ready.set()

    def kill(self) -> None:
        """SIGKILL: no clean-up, no flush, whatever the gateway was doing."""
        self.ready.clear()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    async def stop(self) -> None:
        self.ready.clear()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                await asyncio.to_thread(self.process.wait, 15)
            except subprocess.TimeoutExpired:
                self.kill()

    async def _wait_healthy(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"easgate serve exited with {self.process.returncode}: "
                                       + self._last_log())
                try:
                    async with session.get(f"{self.url}/healthz",
                                           timeout=aiohttp.ClientTimeout(total=2)) as answer:
                        if answer.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError("easgate serve did not become healthy: " + self._last_log())

    def _last_log(self) -> str:
        logs = sorted(self.directory.glob("serve-*.log"))
        return logs[-1].read_text(errors="replace")[-2000:] if logs else ""

    async def admin(self, method: str, path: str, json: object = None) -> tuple[int, object]:
        async with aiohttp.ClientSession() as session, session.request(
                method, f"{self.url}/admin/api/v1{path}", json=json,
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                timeout=aiohttp.ClientTimeout(total=30)) as answer:
            return answer.status, await answer.json(content_type=None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- clients -----------------------------------------------------------------------------
class Client:
    """One device. Its state is what a phone keeps: the policy key and SyncKeys of the last
    answers it received in full."""

    def __init__(self, name: str, user: str, profile: str, http: aiohttp.ClientSession,
                 gateway: Gateway, ledger: Ledger, rng: random.Random):
        self.user = user
        self.profile = get_profile(profile)
        self.device_id = name
        self.gateway = gateway
        self.ledger = ledger
        self.rng = rng
        self.eas = EASClient(http, gateway.url, Account(user, PASSWORD), self.profile, name)
        self.hierarchy_key = "0"
        self.folders: dict[int, str] = {}  # folder type → ServerId
        self.keys: dict[str, str] = {}  # ServerId → SyncKey

    @property
    def label(self) -> str:
        return f"{self.user.split('@')[0]}/{self.device_id}"

    async def send(self, command: str, document: Element | None = None, **kw) -> Exchange:
        """One round trip; provisions first when the gateway asks for it."""
        for _ in range(3):
            self.ledger.requests += 1
            exchange = await self.eas.command(command, document, timeout=30, **kw)
            self.ledger.answers += 1
            if exchange.http_status == 200:
                self.ledger.answered_devices.add((self.user, self.device_id))
            if exchange.status in PROVISION_AGAIN or exchange.http_status == 449:
                await self.provision()
                continue
            if exchange.http_status >= 500:  # a gateway that is up never fails a request
                self.ledger.problem(f"{self.label}: {command} answered HTTP "
                                    f"{exchange.http_status} "
                                    f"{exchange.headers.get('X-Easgate-Reason', '')}")
                raise TransportError(command, f"HTTP {exchange.http_status}")
            return exchange
        raise TransportError(command, "provisioning does not take")

    async def provision(self) -> None:
        self.eas.policy_key = None
        self.ledger.requests += 1
        first = await self.eas.command("Provision", docs.provision_request(self.profile))
        temporary = docs.policy_key(first.document)
        if temporary is None:
            raise TransportError("Provision", f"no policy key (HTTP {first.http_status})")
        self.eas.policy_key = temporary
        self.ledger.requests += 1
        second = await self.eas.command("Provision", docs.provision_acknowledgement(temporary))
        self.eas.policy_key = docs.policy_key(second.document)
        self.ledger.answered_devices.add((self.user, self.device_id))

    async def folder_sync(self) -> None:
        answer = await self.send("FolderSync", docs.folder_sync_request(self.hierarchy_key))
        status = answer.status
        if status == 9:
            self.ledger.problem(f"{self.label}: hierarchy SyncKey {self.hierarchy_key} refused")
            self.hierarchy_key, self.keys = "0", {}
            return
        if status != 1 or answer.document is None:
            raise TransportError("FolderSync", f"Status {status}")
        changes = docs.folder_changes(answer.document)
        for folder in changes.added:
            self.folders.setdefault(folder.type, folder.server_id)
        self.hierarchy_key = changes.sync_key or self.hierarchy_key

    async def sync(self, folder_type: int, commands: Element | None = None
                   ) -> docs.CollectionAnswer | None:
        """One Sync of one collection from the held key; None when the answer had no
        collection (nothing changed on a Wait-less Sync cannot happen here)."""
        folder_id = self.folders[folder_type]
        key = self.keys.get(folder_id, "0")
        collection = E("AirSync:Collection", E("AirSync:SyncKey", key),
                       E("AirSync:CollectionId", folder_id))
        if key != "0":
            sub(collection, "AirSync:GetChanges")
            sub(collection, "AirSync:WindowSize", 100)
            if commands is not None:
                collection.append(commands)
        answer = await self.send("Sync", E("AirSync:Sync", E("AirSync:Collections", collection)))
        if answer.document is None:
            return None
        found = docs.sync_answers(answer.document)
        if not found:
            raise TransportError("Sync", f"Status {answer.status}")
        result = found[0]
        if result.status == 3:
            self.ledger.problem(f"{self.label}: SyncKey {key} of folder {folder_id} refused")
            self.keys.pop(folder_id, None)
            return None
        if result.status != 1:
            raise TransportError("Sync", f"collection Status {result.status}")
        if result.sync_key:
            self.keys[folder_id] = result.sync_key
        self.seen(folder_type, result)
        return result

    def seen(self, folder_type: int, result: docs.CollectionAnswer) -> None:
        """What a device does with what it was sent (nothing, by default)."""

    async def ready_for(self, *folder_types: int) -> None:
        if self.eas.policy_key is None:
            await self.provision()
        if not self.folders:
            await self.folder_sync()
        for folder_type in folder_types:
            if self.folders.get(folder_type) and self.keys.get(self.folders[folder_type],
                                                               "0") == "0":
                await self.sync(folder_type)

    async def step(self) -> None:
        raise NotImplementedError


class OutlookClient(Client):
    """Allowed whatever the mode: adds contacts, sends mail, syncs."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.pending_add: tuple[str, str] | None = None  # ClientId, marker of an unanswered Add

    async def step(self) -> None:
        await self.ready_for(FolderType.CONTACTS, FolderType.INBOX)
        if self.pending_add is not None:
            await self.add_contact(*self.pending_add)
            return
        action = self.rng.choice(("add", "add", "add", "mail", "inbox", "hierarchy"))
        if action == "add":
            await self.add_contact(f"c{secrets.token_hex(6)}", f"crash-{secrets.token_hex(8)}")
        elif action == "mail":
            await self.send_mail()
        elif action == "inbox":
            await self.sync(FolderType.INBOX)
        else:
            await self.folder_sync()

    async def add_contact(self, client_id: str, marker: str) -> None:
        self.pending_add = (client_id, marker)
        commands = E("AirSync:Commands", E(
            "AirSync:Add", E("AirSync:ClientId", client_id), E(
                "AirSync:ApplicationData", E("Contacts:FileAs", marker),
                E("Contacts:FirstName", marker), E("Contacts:Email1Address",
                                                   f"{marker}@example.com"))))
        result = await self.sync(FolderType.CONTACTS, commands)
        if result is None:
            return
        self.pending_add = None
        for server_id, status in _add_responses(result):
            if status == 1 and server_id:
                self.ledger.contacts.append((self.user, server_id, marker))

    async def send_mail(self) -> None:
        recipient = self.rng.choice([u for u in USERS if u != self.user])
        subject = f"crash-mail-{secrets.token_hex(8)}"
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.user, recipient, subject
        message.set_content("sent between two kills")
        answer = await self.send("SendMail", docs.send_mail_request(
            f"m{secrets.token_hex(6)}", message.as_bytes()))
        if answer.http_status == 200 and answer.status in (None, 1):
            self.ledger.mails.append((self.user, recipient, subject))


def _add_responses(result: docs.CollectionAnswer) -> list[tuple[str, int]]:
    """(ServerId, Status) of the Add responses in a collection answer (documents.py names
    a response by its ServerId when it has one; a request holds one Add)."""
    return [(ident, status) for verb, ident, status in result.responses if verb == "Add"]


class ThirdPartyClient(Client):
    """iPhone Mail under ``recommend-all``: quarantined at first contact, shown its notice."""

    async def step(self) -> None:
        await self.ready_for(FolderType.INBOX)
        if self.rng.random() < 0.3:
            await self.folder_sync()
        else:
            await self.sync(FolderType.INBOX)

    def seen(self, folder_type: int, result: docs.CollectionAnswer) -> None:
        if folder_type != FolderType.INBOX:
            return
        for _server_id, data in result.added:
            subject = text(data, "Email:Subject") or ""
            if not subject.startswith("Action required"):
                self.ledger.problem(f"{self.label}: a quarantined device was sent {subject!r}")


# --- a run -------------------------------------------------------------------------------
@asynccontextmanager
async def database(engine: str, directory: Path) -> AsyncIterator[str]:
    """The URL of an empty database for one run: a SQLite file (WAL), or a PostgreSQL
    database of its own, dropped afterwards."""
    if engine == "sqlite":
        yield f"sqlite+aiosqlite:///{directory / 'crash.db'}"
        return
    import asyncpg

    server = pg_test_url().replace("postgresql+asyncpg://", "postgresql://")
    name = f"easgate_crash_{secrets.token_hex(5)}"
    connection = await asyncpg.connect(server)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
        base = pg_test_url().rsplit("/", 1)[0]
        yield f"{base}/{name}"
    finally:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


async def run(engine: str, directory: Path, *, kills: int, seed: int = 1,
              outlook_devices: int = 4, third_party_devices: int = 6,
              answers_between_kills: tuple[int, int] = (3, 15),
              log: Callable[[str], None] = lambda line: None) -> Report:
    """Start, load, kill ``kills`` times, check, and report."""
    rng = random.Random(seed)
    report = Report(engine)
    started = time.monotonic()
    ledger = Ledger()
    async with database(engine, directory) as db_url:
        gateway = Gateway(db_url, directory)
        await gateway.start()
        try:
            status, _ = await gateway.admin("PUT", "/tenants/contoso.com/mobile-access",
                                            {"mode": "recommend-all", "rollout_window_s": 0})
            assert status == 200, status
            async with aiohttp.ClientSession() as http:
                clients = _clients(http, gateway, ledger, rng, outlook_devices,
                                   third_party_devices)
                await _kill_loop(gateway, clients, ledger, rng, kills, answers_between_kills,
                                 log, report)
                await _check_held_keys(clients, ledger, report)
        finally:
            await gateway.stop()
        await _reckon(db_url, ledger, report)
    report.requests, report.transport_errors = ledger.requests, ledger.transport_errors
    report.problems = ledger.problems
    report.seconds = time.monotonic() - started
    return report


def _clients(http, gateway, ledger, rng, outlook: int, third_party: int) -> list[Client]:
    clients: list[Client] = []
    for n in range(outlook):
        clients.append(OutlookClient(f"CRASHOUTLOOK{n:03d}", USERS[n % len(USERS)],
                                     "outlook-ios", http, gateway, ledger,
                                     random.Random(rng.random())))
    for n in range(third_party):
        clients.append(ThirdPartyClient(f"CRASHIPHONE{n:03d}", USERS[n % len(USERS)],
                                        "iphone-mail", http, gateway, ledger,
                                        random.Random(rng.random())))
    return clients


async def _drive(client: Client, stop: asyncio.Event) -> None:
    """The client's loop: a step, or — when a kill cut it — wait for the gateway and go on
    from what it holds."""
    while not stop.is_set():
        try:
            await client.step()
            await asyncio.sleep(client.rng.uniform(0, 0.05))
        except TransportError:
            client.ledger.transport_errors += 1
            await client.gateway.ready.wait()


async def _kill_loop(gateway, clients, ledger, rng, kills, between, log, report) -> None:
    """Kill when a random number of answers (``between``) came back since the restart, plus
    a random fraction of a request: the moment falls inside requests, whatever the speed
    of the machine, and every life of the gateway gets some work done."""
    stop = asyncio.Event()
    # Third-party devices make first contact spread over the first kills.
    tasks = [asyncio.create_task(_drive(c, stop)) for c in clients
             if isinstance(c, OutlookClient)]
    waiting = [c for c in clients if isinstance(c, ThirdPartyClient)]
    try:
        await _warm_up([c for c in clients if isinstance(c, OutlookClient)])
        for kill in range(kills):
            if waiting and rng.random() < 0.5:
                tasks.append(asyncio.create_task(_drive(waiting.pop(), stop)))
            await _answers(ledger, rng.randint(*between))
            await asyncio.sleep(rng.uniform(0, 0.15))
            gateway.kill()
            report.kills += 1
            await gateway.start()
            await _check_devices(gateway, ledger)
            if (kill + 1) % 10 == 0:
                log(f"  {kill + 1} kills, {ledger.requests} requests, "
                    f"{len(ledger.contacts)} contacts and {len(ledger.mails)} mails told stored")
        for client in waiting:
            tasks.append(asyncio.create_task(_drive(client, stop)))
        await _answers(ledger, between[1])
    finally:
        # Clients finish the step they are in; one waiting for a gateway that will not come
        # back (a failed start) is cancelled rather than waited for.
        stop.set()
        if tasks:
            await asyncio.wait(tasks, timeout=60)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    await _check_devices(gateway, ledger)


async def _answers(ledger: Ledger, count: int, timeout_s: float = 30.0) -> None:
    """Until ``count`` more round trips came back."""
    goal = ledger.answers + count
    deadline = time.monotonic() + timeout_s
    while ledger.answers < goal and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


async def _warm_up(clients: list[Client], timeout_s: float = 30.0) -> None:
    """Until every client holds keys for its collections: the kills are to cut work in
    the middle, not to keep devices from ever getting started."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(len(c.keys) >= 2 for c in clients):
            return
        await asyncio.sleep(0.1)


async def _check_devices(gateway: Gateway, ledger: Ledger) -> None:
    """After a restart: every device answered before is there, every quarantine kept."""
    status, devices = await gateway.admin("GET", "/devices")
    assert status == 200, status
    known = {(d["user"], d["device_id"]): d for d in devices}  # type: ignore[union-attr]
    for key in ledger.answered_devices:
        if key not in known:
            ledger.problem(f"device {key} was answered, then lost")
    for key in ledger.quarantined:
        state = known.get(key, {}).get("state")
        if state != "quarantined":
            ledger.problem(f"device {key} went from quarantined to {state}")
    for key, device in known.items():
        if device["app"] == "third-party" and device["state"] == "quarantined":
            ledger.quarantined.add(key)


async def _check_held_keys(clients: list[Client], ledger: Ledger, report: Report) -> None:
    """Every SyncKey each client holds, sent once more: accepted."""
    for client in clients:
        if client.eas.policy_key is None:
            continue
        for _ in range(3):  # a client whose Add was cut finishes it first
            try:
                if isinstance(client, OutlookClient) and client.pending_add is not None:
                    await client.add_contact(*client.pending_add)
                if client.hierarchy_key != "0":
                    report.keys_checked += 1
                    await client.folder_sync()
                for folder_type, folder_id in list(client.folders.items()):
                    if client.keys.get(folder_id, "0") != "0":
                        report.keys_checked += 1
                        await client.sync(folder_type)
                break
            except TransportError as error:
                ledger.problem(f"{client.label}: {error} after the last restart")


async def _reckon(db_url: str, ledger: Ledger, report: Report) -> None:
    """With the gateway stopped: the database against the ledger."""
    store = await open_store(db_url)
    try:
        users = {address: await store.get_user(address) for address in USERS}
        contents: dict[str, dict[str, list]] = {}
        for address, user in users.items():
            contents[address] = {}
            for folder in await store.list_folders(user.id):
                contents[address][folder.id] = await store.list_items(user.id, folder.id)
        for address, server_id, marker in ledger.contacts:
            report.items_checked += 1
            items = [i for items in contents[address].values() for i in items
                     if i.server_id == server_id]
            if not items or marker not in repr(items[0].data):
                report.lost += 1
                ledger.problem(f"contact {marker} ({address} {server_id}) told stored, not found")
        for sender, recipient, subject in ledger.mails:
            for address, folder_type in ((recipient, FolderType.INBOX),
                                         (sender, FolderType.SENT_ITEMS)):
                report.items_checked += 1
                folder = await store.find_folder(users[address].id, folder_type)
                if not any(i.data.get("Subject") == subject
                           for i in contents[address].get(folder.id, [])):
                    report.lost += 1
                    ledger.problem(f"mail {subject} not in {address}'s {folder.name}")
        _reckon_doubles(contents, ledger, report)
        await _reckon_notices(store, users, contents, ledger, report)
    finally:
        await store.close()


def _reckon_doubles(contents, ledger: Ledger, report: Report) -> None:
    """Each contact a client added is stored once, however often its Add was resent."""
    copies: dict[str, int] = {}
    for folders in contents.values():
        for items in folders.values():
            for item in items:
                marker = str(item.data.get("FileAs", ""))
                if marker.startswith("crash-"):
                    copies[marker] = copies.get(marker, 0) + 1
    for marker, count in sorted(copies.items()):
        if count > 1:
            report.doubled += count - 1
            ledger.problem(f"contact {marker} stored {count} times")


async def _reckon_notices(store, users, contents, ledger: Ledger, report: Report) -> None:
    for address, user in users.items():
        inbox = await store.find_folder(user.id, FolderType.INBOX)
        for device in await store.list_devices(user=address):
            report.devices_checked += 1
            if device.app != "third-party":
                continue
            if device.state != "quarantined":
                ledger.problem(f"{address}/{device.device_id} is {device.state}, not quarantined")
                continue
            report.notices_checked += 1
            notices = [i for i in contents[address][inbox.id]
                       if device.choice_token and device.choice_token in i.body_text]
            if len(notices) != 1:
                ledger.problem(f"{address}/{device.device_id} has {len(notices)} notices")

