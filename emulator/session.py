"""One emulated device playing its app: the scripted first sync, the Ping loop, and what a
person does with a notice (SPEC §3, §4).

A `Session` drives an `EASClient` through the profile's script (``options``,
``probe:foldersync``, ``provision`` …), keeping what a real client keeps: the policy key,
the hierarchy and its SyncKey, each collection's SyncKey and items. Every round trip is
reported as an `Event` to whoever watches (the CLI prints them, the load generator counts
them). What the server says decides what happens next, the way the app would react:
a refusal for provisioning provisions and retries, 129/403 stops the device (blocked), a
stale SyncKey starts the collection over, the notice in the Inbox means quarantine. A
command whose connection broke is sent again, and a 503 with ``Retry-After`` is sent again
once that time has passed (``resends`` times at most), as mail apps do.
"""
from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from enum import IntEnum
from typing import Literal

from lxml import etree

from emulator import documents as docs
from emulator.choice import ChoiceOutcome, follow_choice_link
from emulator.client import EASClient, Exchange, TransportError
from emulator.documents import Folder, SyncOptions
from emulator.items import ItemView, apply_change, read_item
from emulator.notice import Notice, find_notice
from emulator.profiles import PROBE_PREFIX
from protocol import status as eas
from protocol.versions import at_least

Outcome = Literal["synced", "quarantined", "blocked", "wiped"]

# A command answered with one of these (14.0+) or HTTP 449 (12.1) wants Provision first.
PROVISION_STATUSES = {
    eas.GlobalStatus.DEVICE_NOT_PROVISIONED, eas.GlobalStatus.POLICY_REFRESH,
    eas.GlobalStatus.INVALID_POLICY_KEY, eas.GlobalStatus.REMOTE_WIPE_REQUESTED,
}
HTTP_PROVISION = 449
HTTP_BLOCKED = 403
MAX_SYNC_ROUNDS = 200  # windows fetched per collection per sync, a bound against loops
RESENDS = 3  # a command sent again after a broken connection or a 503 with Retry-After
MAX_RETRY_AFTER_S = 300.0  # a longer Retry-After is waited this long

# Which enum names a command's own Status values (below 100; 100+ are the global ones).
_STATUS_NAMES: dict[str, type[IntEnum]] = {
    "Sync": eas.SyncStatus, "FolderSync": eas.FolderSyncStatus, "Ping": eas.PingStatus,
    "Provision": eas.ProvisionStatus, "Settings": eas.SettingsStatus,
}
_SCRIPT_FOLDERS = {"sync:inbox": docs.INBOX, "sync:calendar": docs.CALENDAR,
                   "sync:contacts": docs.CONTACTS}


def status_name(command: str, status: int | None) -> str:
    if status is None:
        return ""
    names = eas.GlobalStatus if status >= 100 else _STATUS_NAMES.get(command)
    try:
        return f"{status} {names(status).name}" if names else str(status)
    except ValueError:
        return str(status)


class SessionError(RuntimeError):
    """The server answered in a way the app cannot go on from."""


class DeviceBlocked(SessionError):
    pass


class DeviceWiped(SessionError):
    pass


class _WipeOrdered(Exception):
    """A Provision answer ordered a wipe (``kind`` device or account)."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class Event:
    """One round trip (``kind="exchange"``) or one thing the device noticed (``"note"``)."""

    kind: Literal["exchange", "note"]
    step: str
    http_status: int = 0
    status: int | None = None
    status_text: str = ""
    detail: str = ""
    elapsed: float = 0.0
    command: str = ""


@dataclass
class Collection:
    folder: Folder
    sync_key: str = "0"
    items: dict[str, ItemView] = field(default_factory=dict)


@dataclass
class SyncResult:
    added: int = 0
    changed: int = 0
    deleted: int = 0
    rejected: list[tuple[str, int]] = field(default_factory=list)  # uploads refused (id, Status)


class Session:
    def __init__(
        self,
        client: EASClient,
        *,
        on_event: Callable[[Event], None] | None = None,
        sync_options: SyncOptions | None = None,
        resends: int = RESENDS,
    ):
        self.client = client
        self.resends = resends
        self.profile = client.profile
        self.on_event = on_event or (lambda event: None)
        self.options = sync_options or SyncOptions.of(self.profile)
        self.folder_sync_key = "0"
        self.folders: dict[str, Folder] = {}
        self.collections: dict[str, Collection] = {}
        self.notice: Notice | None = None
        self.notice_removed = False
        self.released = False  # mail other than the notice arrived after the notice
        self.blocked = False
        self.wiped = False
        self.chosen: str | None = None
        self._client_ids = itertools.count(1)

    # --- what the person holding the device would say ----------------------------------
    @property
    def outcome(self) -> Outcome:
        if self.wiped:
            return "wiped"
        if self.blocked:
            return "blocked"
        if self.notice is not None and not (self.released or self.notice_removed):
            return "quarantined"
        return "synced"

    def folder_of_type(self, folder_type: int) -> Folder | None:
        return next((f for f in self.folders.values() if f.type == folder_type), None)

    @property
    def inbox(self) -> Collection | None:
        folder = self.folder_of_type(docs.INBOX)
        return None if folder is None else self.collections.get(folder.server_id)

    # --- the scripted first sync -------------------------------------------------------
    async def first_sync(self) -> Outcome:
        """Run the profile's script up to its Ping loop. Blocked or wiped end it early;
        those are outcomes, not failures."""
        try:
            for step in self.profile.script:
                if step == "ping":
                    break
                await self.run_step(step)
        except DeviceBlocked:
            self.blocked = True
        except DeviceWiped:
            self.wiped = True
        return self.outcome

    async def run_step(self, step: str) -> None:
        probe = step.startswith(PROBE_PREFIX)
        name = step.removeprefix(PROBE_PREFIX)
        if name == "autodiscover":
            await self.autodiscover()
        elif name == "options":
            await self.discover_options()
        elif name == "provision":
            await self.provision_or_wipe()
        elif name == "settings":
            await self.send("Settings", docs.settings_request(self.profile), probe=probe)
        elif name == "foldersync":
            await self.folder_sync(probe=probe)
        elif name in _SCRIPT_FOLDERS:
            folder = self.folder_of_type(_SCRIPT_FOLDERS[name])
            if folder is None:
                raise SessionError(f"{name}: the hierarchy has no such folder")
            await self.sync(folder)
        else:
            raise SessionError(f"unknown step {step!r}")

    # --- steps -------------------------------------------------------------------------
    async def autodiscover(self) -> None:
        """The app asks where the server is; a server without Autodiscover is configured by
        hand, as real apps then ask their user to, so it is a note, not a failure."""
        exchange = await self.client.autodiscover()
        url = _autodiscover_url(exchange.body) if exchange.http_status == 200 else None
        detail = f"server {url}" if url else f"not served (HTTP {exchange.http_status})"
        self._report(exchange, "Autodiscover", detail)

    async def discover_options(self) -> None:
        exchange = await self.client.options()
        offered = [v.strip() for v in
                   exchange.headers.get("MS-ASProtocolVersions", "").split(",") if v.strip()]
        self._report(exchange, "OPTIONS", f"versions {', '.join(offered) or 'none'}")
        if exchange.http_status == 401:
            raise SessionError("the server refused the credentials (HTTP 401)")
        if self.client.version not in offered:
            raise SessionError(f"the server does not offer EAS {self.client.version} "
                               f"(it offers {', '.join(offered) or 'nothing'})")

    async def provision(self) -> None:
        """Both phases of MS-ASPROV: fetch the policy, acknowledge it, keep the final key.
        A wipe order instead is acknowledged and ends the device (DeviceWiped)."""
        self.client.policy_key = None
        first = await self.client.command("Provision", docs.provision_request(self.profile))
        self._check_provision(first, "Provision (policy)")
        temporary = docs.policy_key(first.document)
        if not temporary:
            raise SessionError("the Provision answer holds no policy key")
        self.client.policy_key = temporary
        second = await self.client.command(
            "Provision", docs.provision_acknowledgement(temporary))
        self._check_provision(second, "Provision (acknowledge)")
        final = docs.policy_key(second.document)
        if not final:
            raise SessionError("the acknowledged Provision holds no final policy key")
        self.client.policy_key = final

    def _check_provision(self, exchange: Exchange, step: str) -> None:
        key = docs.policy_key(exchange.document)
        self._report(exchange, step, f"policy key {key}" if key else "")
        self._raise_if_blocked(exchange)
        wipe = docs.remote_wipe(exchange.document)
        if wipe is not None:
            raise _WipeOrdered(wipe)
        if exchange.http_status != 200 or exchange.status != eas.ProvisionStatus.SUCCESS:
            raise SessionError(f"{step} failed: HTTP {exchange.http_status}, "
                               f"Status {status_name('Provision', exchange.status)}")

    async def folder_sync(self, *, probe: bool = False) -> None:
        for attempt in range(2):
            exchange = await self.send(
                "FolderSync", docs.folder_sync_request(self.folder_sync_key), probe=probe)
            if probe and self._wants_provisioning(exchange):
                return
            if exchange.status == eas.FolderSyncStatus.INVALID_SYNC_KEY and attempt == 0:
                self._note("FolderSync", "the server forgot the hierarchy; starting over")
                self.folder_sync_key, self.folders, self.collections = "0", {}, {}
                continue
            self._expect_success(exchange, eas.FolderSyncStatus.SUCCESS)
            self._apply_folders(docs.folder_changes(exchange.document))
            return

    def _apply_folders(self, changes: docs.FolderChanges) -> None:
        if changes.sync_key:
            self.folder_sync_key = changes.sync_key
        for folder in changes.added + changes.updated:
            self.folders[folder.server_id] = folder
        for server_id in changes.deleted:
            self.folders.pop(server_id, None)
            self.collections.pop(server_id, None)

    async def sync(self, folder: Folder, uploads: docs.Element | None = None) -> SyncResult:
        """Bring one collection up to date: prime its SyncKey if new, then fetch windows
        until the server has no more (uploads ride on the first window)."""
        collection = self.collections.setdefault(folder.server_id, Collection(folder))
        result = SyncResult()
        if collection.sync_key == "0":
            await self._prime(collection)
        for _ in range(MAX_SYNC_ROUNDS):
            answer = await self._sync_window(collection, uploads)
            uploads = None
            if answer is None:
                break
            if answer.status == eas.SyncStatus.INVALID_SYNC_KEY:
                self._note(f"Sync {folder.name}", "SyncKey refused; starting the folder over")
                collection.sync_key, collection.items = "0", {}
                await self._prime(collection)
                continue
            self._apply_sync(collection, answer, result)
            if not answer.more_available:
                break
        return result

    async def _prime(self, collection: Collection) -> None:
        request = docs.sync_request([docs.sync_collection(
            collection.folder, "0", self.options, self.client.version)])
        answer = await self._sync_exchange(collection, request, priming=True)
        if answer is None or not answer.sync_key:
            raise SessionError(f"Sync of {collection.folder.name} with SyncKey 0 gave no key")
        if answer.status != eas.SyncStatus.SUCCESS:
            raise SessionError(f"Sync of {collection.folder.name} with SyncKey 0 answered "
                               f"Status {status_name('Sync', answer.status)}")
        collection.sync_key = answer.sync_key

    async def _sync_window(
        self, collection: Collection, uploads: docs.Element | None
    ) -> docs.CollectionAnswer | None:
        request = docs.sync_request([docs.sync_collection(
            collection.folder, collection.sync_key, self.options, self.client.version, uploads)])
        return await self._sync_exchange(collection, request)

    async def _sync_exchange(
        self, collection: Collection, request: docs.Element, *, priming: bool = False
    ) -> docs.CollectionAnswer | None:
        """Send a Sync of one collection; None when the server answered with no changes
        (an empty body, MS-ASCMD 3.2.5.1.1)."""
        step = f"Sync {collection.folder.name}"
        exchange = await self.send("Sync", request, step=step, describe=False)
        if exchange.document is None:
            self._report(exchange, step, "no changes")
            return None
        answers = [a for a in docs.sync_answers(exchange.document)
                   if a.collection_id == collection.folder.server_id]
        if not answers:
            self._expect_success(exchange, eas.SyncStatus.SUCCESS, step=step)
            self._report(exchange, step, "no changes")
            return None
        answer = answers[0]
        detail = f"first SyncKey {answer.sync_key}" if priming else _describe_collection(answer)
        self._report(exchange, step, detail, status=answer.status)
        if answer.status not in (eas.SyncStatus.SUCCESS, eas.SyncStatus.INVALID_SYNC_KEY):
            raise SessionError(f"{step} answered Status {status_name('Sync', answer.status)}")
        return answer

    def _apply_sync(
        self, collection: Collection, answer: docs.CollectionAnswer, result: SyncResult
    ) -> None:
        if answer.sync_key:
            collection.sync_key = answer.sync_key
        is_inbox = collection.folder.type == docs.INBOX
        for server_id, data in answer.added:
            item = read_item(server_id, collection.folder.item_class, data)
            collection.items[server_id] = item
            result.added += 1
            if is_inbox:
                self._look_at_inbox_item(item)
        for server_id, data in answer.changed:
            if server_id in collection.items:
                apply_change(collection.items[server_id], data)
            result.changed += 1
        for server_id in answer.deleted:
            collection.items.pop(server_id, None)
            result.deleted += 1
            if is_inbox and self.notice is not None and server_id == self.notice.server_id:
                self.notice_removed = True
                self._note("Inbox", "the notice was removed: the quarantine is over")
        result.rejected += [(ident, status) for _, ident, status in answer.responses
                            if status != eas.SyncStatus.SUCCESS]

    def _look_at_inbox_item(self, item: ItemView) -> None:
        notice = find_notice(item)
        if notice is not None:
            self.notice = notice
            self._note("Inbox", f"notice seen: {notice.subject!r} from {notice.sender}; "
                       f"keep: {notice.keep_url}; outlook: {notice.outlook_url}")
        elif self.notice is not None and not self.released:
            self.released = True
            self._note("Inbox", "mail other than the notice arrives: the device syncs again")

    # --- the Ping loop ------------------------------------------------------------------
    def ping_folders(self) -> list[Folder]:
        return [c.folder for c in self.collections.values()]

    async def ping(self, heartbeat: int | None = None) -> list[str]:
        """One Ping; syncs what it says changed. Returns the changed folder ids."""
        heartbeat = heartbeat or self.profile.heartbeat
        for _ in range(3):
            exchange = await self.send(
                "Ping", docs.ping_request(heartbeat, self.ping_folders()),
                timeout=heartbeat + 60)
            status = exchange.status
            if status == eas.PingStatus.HEARTBEAT_OUT_OF_BOUNDS:
                heartbeat = docs.ping_limit(exchange.document, "HeartbeatInterval") or heartbeat
                continue
            if status == eas.PingStatus.FOLDER_SYNC_REQUIRED:
                await self.folder_sync()
                continue
            if status == eas.PingStatus.EXPIRED:
                return []
            if status == eas.PingStatus.CHANGES:
                changed = docs.ping_folders(exchange.document)
                # A phone reads its answer whatever other phones do; a load generator runs
                # thousands in one process. Let every answer that arrived with this one be
                # read (and timed) before this session's Sync is prepared and sent.
                await asyncio.sleep(0)
                for server_id in changed:
                    if server_id in self.collections:
                        await self.sync(self.collections[server_id].folder)
                return changed
            raise SessionError(f"Ping answered HTTP {exchange.http_status}, "
                               f"Status {status_name('Ping', status)}")
        raise SessionError("Ping kept being refused")

    async def ping_rounds(self, rounds: int | None, heartbeat: int | None = None) -> Outcome:
        """``rounds`` Pings (None: until cancelled); blocked or wiped end the loop."""
        try:
            for _ in itertools.count() if rounds is None else range(rounds):
                await self.ping(heartbeat)
        except DeviceBlocked:
            self.blocked = True
        except DeviceWiped:
            self.wiped = True
        return self.outcome

    # --- what the person does -------------------------------------------------------------
    async def choose(self, choice: str) -> ChoiceOutcome:
        """Follow the notice's link for ``choice`` (keep|outlook) as a person would, then sync
        the Inbox as the app does when it next wakes."""
        url = self.notice.link(choice) if self.notice else None
        if url is None:
            raise SessionError(f"no notice with a {choice!r} link has been seen")
        outcome = await follow_choice_link(self.client.http, url)
        self.chosen = choice
        self._note("choice", f"opened {url} (HTTP {outcome.page_status}), "
                   f"confirmed (HTTP {outcome.submit_status})")
        if outcome.submit_status >= 400:
            raise SessionError(f"the choice page refused the choice (HTTP {outcome.submit_status})")
        inbox = self.inbox
        if inbox is not None:
            await self.sync(inbox.folder)
        return outcome

    async def send_mail(self, to: str, subject: str, text: str) -> Exchange:
        """SendMail, as a ComposeMail document (14.0+) or a MIME body (12.1)."""
        mime = _mime(self.client.account.address, to, subject, text)
        if at_least(self.client.version, "14.0"):
            client_id = f"{self.client.device_id[:8]}-{next(self._client_ids)}"
            exchange = await self.send("SendMail", docs.send_mail_request(client_id, mime))
        else:
            exchange = await self.send("SendMail", raw_body=mime,
                                       content_type="message/rfc822", save_in_sent=True)
        if exchange.status not in (None, eas.SyncStatus.SUCCESS):
            raise SessionError(f"SendMail answered Status {exchange.status}")
        return exchange

    async def wipe(self, kind: str) -> None:
        """Acknowledge a remote wipe and forget everything, as the device would."""
        exchange = await self.client.command(
            "Provision", docs.remote_wipe_acknowledgement(kind == "account"))
        self._report(exchange, "Provision (wipe acknowledged)", f"{kind} wipe")
        self.folder_sync_key, self.folders, self.collections = "0", {}, {}
        self.client.policy_key = None
        self.wiped = True

    # --- sending, with the reactions every app shares ----------------------------------
    async def send(
        self, command: str, document: docs.Element | None = None, *, probe: bool = False,
        step: str | None = None, describe: bool = True, **options: object,
    ) -> Exchange:
        """Send a command. Blocked → DeviceBlocked. A refusal for provisioning is returned
        as is when ``probe`` (the app expects it), else answered by provisioning and sending
        once more."""
        step = step or command
        exchange = await self._command(step, command, document, **options)
        if describe or self._wants_provisioning(exchange) or self._is_blocked(exchange):
            self._report(exchange, step, "")
        self._raise_if_blocked(exchange)
        if not self._wants_provisioning(exchange):
            self._raise_for_http(exchange, step)
            return exchange
        if probe:
            return exchange
        await self.provision_or_wipe()
        exchange = await self._command(step, command, document, **options)
        if describe or self._is_blocked(exchange):
            self._report(exchange, step, "")
        self._raise_if_blocked(exchange)
        if self._wants_provisioning(exchange):
            raise SessionError(f"{step} still wants provisioning after Provision")
        self._raise_for_http(exchange, step)
        return exchange

    async def _command(self, step: str, command: str, document: docs.Element | None,
                       **options: object) -> Exchange:
        """One command as an app sends it: again after a broken connection (the server
        answers a resent Sync as before), and after a 503 once its Retry-After has passed."""
        for attempt in itertools.count():
            try:
                exchange = await self.client.command(command, document, **options)  # type: ignore[arg-type]
            except TransportError as error:
                if attempt >= self.resends:
                    raise
                self._note(step, f"{error.reason}; sending it again")
                continue
            wait = retry_after(exchange)
            if wait is None or attempt >= self.resends:
                return exchange
            self._report(exchange, step, f"server busy: sending again in {wait:g} s "
                         "(Retry-After)")
            await asyncio.sleep(min(wait, MAX_RETRY_AFTER_S))
        raise AssertionError("unreachable")

    async def provision_or_wipe(self) -> None:
        """Provision; when the server orders a wipe instead, acknowledge it and stop."""
        try:
            await self.provision()
        except _WipeOrdered as order:
            await self.wipe(order.kind)
            raise DeviceWiped(f"the server ordered a {order.kind} wipe") from None

    def _wants_provisioning(self, exchange: Exchange) -> bool:
        if self.client.version == "12.1" or not at_least(self.client.version, "14.0"):
            return exchange.http_status == HTTP_PROVISION
        return exchange.http_status == HTTP_PROVISION or exchange.status in PROVISION_STATUSES

    def _is_blocked(self, exchange: Exchange) -> bool:
        return (exchange.http_status == HTTP_BLOCKED
                or exchange.status == eas.GlobalStatus.DEVICE_IS_BLOCKED_FOR_THIS_USER)

    def _raise_if_blocked(self, exchange: Exchange) -> None:
        if self._is_blocked(exchange):
            self._note(exchange.command, "the device is blocked for this user")
            raise DeviceBlocked(f"{exchange.command}: the device is blocked")

    def _raise_for_http(self, exchange: Exchange, step: str) -> None:
        if exchange.http_status == 401:
            raise SessionError(f"{step}: the server refused the credentials (HTTP 401)")
        if exchange.http_status != 200:
            raise SessionError(f"{step} answered HTTP {exchange.http_status}")

    def _expect_success(self, exchange: Exchange, success: int, *, step: str | None = None) -> None:
        if exchange.status != success:
            raise SessionError(
                f"{step or exchange.command} answered Status "
                f"{status_name(exchange.command, exchange.status)}")

    # --- reporting -----------------------------------------------------------------------
    def _report(self, exchange: Exchange, step: str, detail: str, *,
                status: int | None = None) -> None:
        status = exchange.status if status is None else status
        if not detail and exchange.document is not None:
            detail = _describe(exchange)
        self.on_event(Event(
            kind="exchange", step=step, http_status=exchange.http_status,
            status=status, status_text=status_name(exchange.command, status), detail=detail,
            elapsed=exchange.elapsed, command=exchange.command))

    def _note(self, step: str, detail: str) -> None:
        self.on_event(Event(kind="note", step=step, detail=detail))


def retry_after(exchange: Exchange) -> float | None:
    """The seconds a 503 asks the client to wait (MS-ASHTTP 3.2.5.1), None otherwise."""
    if exchange.http_status != 503:
        return None
    value = exchange.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _describe(exchange: Exchange) -> str:
    document = exchange.document
    if exchange.command == "FolderSync" and document is not None:
        changes = docs.folder_changes(document)
        return f"{len(changes.added)} folders" if changes.added else ""
    if exchange.command == "Ping" and document is not None:
        changed = docs.ping_folders(document)
        return f"changes in {', '.join(changed)}" if changed else ""
    return ""


def _describe_collection(answer: docs.CollectionAnswer) -> str:
    parts = []
    if answer.added:
        parts.append(f"{len(answer.added)} added")
    if answer.changed:
        parts.append(f"{len(answer.changed)} changed")
    if answer.deleted:
        parts.append(f"{len(answer.deleted)} deleted")
    refused = [r for r in answer.responses if r[2] != eas.SyncStatus.SUCCESS]
    if refused:
        parts.append(f"{len(refused)} uploads refused (Status {refused[0][2]})")
    if answer.more_available:
        parts.append("more available")
    return ", ".join(parts) or "no changes"


def _autodiscover_url(body: bytes) -> str | None:
    try:
        root = etree.fromstring(body, parser=etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError:
        return None
    urls = root.xpath("//*[local-name()='Url']/text()")
    return str(urls[0]) if urls else None


def _mime(sender: str, to: str, subject: str, text: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.partition("@")[2] or None)
    message.set_content(text)
    return message.as_bytes()
