"""A stateful property test (hypothesis) of the whole access lifecycle over the live gateway:
random sequences of mode changes, clock advances, choices, Syncs from several devices and
deliveries. After every Sync:

- a quarantined device received nothing but its own notice;
- a blocked device received nothing at all (Status 129);
- an allowed (or pending) device holds exactly the Inbox as the store has it — it never
  misses an item, and it holds nothing that is gone.

The server runs in a background thread's event loop (hypothesis drives the machine
synchronously); each example gets a fresh user, so examples share nothing but the tenant.
"""
from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from server_fixtures import ADMIN_TOKEN, DB_NAME, LiveServer, running

from gateway.access.errors import ChoiceNotOpen
from gateway.config import Address, Config
from gateway.content import new_email
from protocol.xml import E, child, text

T = TypeVar("T")
MODES = ("off", "outlook-only", "recommend-all", "prompt-new-once")
DEVICES = {
    "iphone": {"device_type": "iPhone", "user_agent": "Apple-iPhone14C2/2104.92"},
    "gmail": {"device_type": "Android", "user_agent": "Android-Mail/2023.10.01"},
    "outlook": {"device_type": "Outlook", "user_agent": "Outlook-iOS/2.0"},
}
INBOX = "2"
STEP_TIMEOUT_S = 30


class ServerThread:
    """The live gateway in its own thread and loop, for synchronous callers."""

    def __init__(self, config: Config) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._running = running(config)
        self.server: LiveServer = self.run(self._running.__aenter__())

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(STEP_TIMEOUT_S)

    def close(self) -> None:
        self.run(self._running.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@dataclass
class Phone:
    """One device's side: its policy key, its Inbox SyncKey and the server ids it holds."""

    name: str
    device_id: str
    policy_key: str | None = None
    folders_synced: bool = False
    key: str = "0"
    held: set[str] = field(default_factory=set)


@pytest.fixture(scope="module")
def gateway(demo_database_template: Path, tmp_path_factory: pytest.TempPathFactory):
    import shutil
    directory = tmp_path_factory.mktemp("property")
    shutil.copytree(demo_database_template, directory, dirs_exist_ok=True)
    config = Config(db_url=f"sqlite+aiosqlite:///{directory / DB_NAME}",
                    http=Address("127.0.0.1", 0), https=None, var_dir=directory / "var",
                    admin_token=ADMIN_TOKEN, clock_mode="manual", load_demo=True)
    server = ServerThread(config)
    yield server
    server.close()


USER_NUMBERS = itertools.count(1)


class AccessMachine(RuleBasedStateMachine):
    gateway: ServerThread  # set by the test

    @initialize()
    def fresh_user(self) -> None:
        self.server = self.gateway.server
        self.address = f"prop{next(USER_NUMBERS)}@contoso.com"
        self.user = self.run(self.server.store.create_user(self.address, "demo-pass", "Prop"))
        self.phones = {name: Phone(name, f"{name.upper()}{self.user.id}") for name in DEVICES}
        self.run(self.server.services.access.set_mode("contoso.com", "off"))
        for n in range(3):
            self.deliver_mail_n(n)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.gateway.run(coroutine)

    # --- what the world does --------------------------------------------------------------
    @rule(mode=st.sampled_from(MODES), window=st.sampled_from([0, 3600, 172800]))
    def change_mode(self, mode: str, window: int) -> None:
        self.run(self.server.services.access.set_mode("contoso.com", mode,
                                                      rollout_window_s=window))

    @rule(hours=st.sampled_from([1, 6, 23, 24, 25, 49]))
    def advance(self, hours: int) -> None:
        self.run(self.server.clock.advance(hours * 3600))

    @rule()
    def deliver_mail(self) -> None:
        self.deliver_mail_n(len(self.inbox_ids()))

    def deliver_mail_n(self, n: int) -> None:
        mail = new_email(sender="dave@example.com", to=[self.address], subject=f"Mail {n}",
                         text="Hello", date=self.server.clock.now())
        self.run(self.server.store.add_item(self.user.id, INBOX, mail))

    @rule(name=st.sampled_from(sorted(DEVICES)), choice=st.sampled_from(["keep", "outlook"]))
    def choose(self, name: str, choice: str) -> None:
        device = self.device(name)
        if device is None:
            return
        try:
            self.run(self.server.services.access.choose(device.id, choice))  # type: ignore[arg-type]
        except ChoiceNotOpen:
            assert device.state != "quarantined" or device.reason not in ("notice",) or (
                choice == "outlook" and device.reason == "chose-outlook")

    # --- what a device does ---------------------------------------------------------------
    @rule(name=st.sampled_from(sorted(DEVICES)))
    def sync(self, name: str) -> None:
        phone = self.phones[name]
        if not self.prepare(phone):
            return
        received: set[str] = set()
        while True:
            first = phone.key == "0"  # a first Sync only hands out a key (MS-ASCMD)
            answer = self.eas(phone, "Sync", self.sync_request(phone))
            if answer.eas_status == 129:
                assert not received
                return
            collection = child(child(answer.document, "AirSync:Collections"),
                               "AirSync:Collection")
            assert text(collection, "AirSync:Status") == "1"
            phone.key = text(collection, "AirSync:SyncKey")
            commands = child(collection, "AirSync:Commands")
            for change in list(commands) if commands is not None else []:
                server_id = text(change, "AirSync:ServerId")
                if change.tag.endswith("}Delete") or change.tag.endswith("}SoftDelete"):
                    phone.held.discard(server_id)
                else:
                    received.add(server_id)
                    phone.held.add(server_id)
            if not first and child(collection, "AirSync:MoreAvailable") is None:
                break
        self.check_what_it_received(name, received)

    def prepare(self, phone: Phone) -> bool:
        """Provision and FolderSync once; False while the device is blocked."""
        if phone.policy_key is None:
            try:
                phone.policy_key = self.run(self.server.provision(
                    user=self.address, device_id=phone.device_id, **DEVICES[phone.name]))
            except AssertionError:
                return False  # blocked: Provision answered 129
        if not phone.folders_synced:
            answer = self.eas(phone, "FolderSync", E("FolderHierarchy:FolderSync",
                                                     E("FolderHierarchy:SyncKey", "0")))
            if answer.eas_status == 129:
                return False
            phone.folders_synced = True
        return True

    def eas(self, phone: Phone, command: str, document: Any) -> Any:
        return self.run(self.server.eas(command, document, user=self.address,
                                        device_id=phone.device_id, policy_key=phone.policy_key,
                                        provision=False, **DEVICES[phone.name]))

    @staticmethod
    def sync_request(phone: Phone) -> Any:
        return E("AirSync:Sync", E("AirSync:Collections", E("AirSync:Collection",
                 E("AirSync:SyncKey", phone.key), E("AirSync:CollectionId", INBOX),
                 E("AirSync:WindowSize", "7"))))

    # --- the property -----------------------------------------------------------------------
    def check_what_it_received(self, name: str, received: set[str]) -> None:
        device = self.device(name)
        assert device is not None
        if device.state == "quarantined":
            assert received <= {device.notice_server_id}, (device.reason, received)
        elif device.state in ("allowed", "pending"):
            assert self.phones[name].held == self.inbox_ids(), device.reason

    @invariant()
    def outlook_is_never_held_back(self) -> None:
        device = self.device("outlook")
        assert device is None or device.state == "allowed"

    def device(self, name: str) -> Any:
        return self.run(self.server.store.get_device(self.user.id, self.phones[name].device_id))

    def inbox_ids(self) -> set[str]:
        items = self.run(self.server.store.list_items(self.user.id, INBOX))
        return {item.server_id for item in items}


def test_quarantined_and_blocked_devices_see_only_their_notice_allowed_ones_miss_nothing(
        gateway: ServerThread) -> None:
    AccessMachine.gateway = gateway
    machine = AccessMachine.TestCase
    machine.settings = settings(max_examples=12, stateful_step_count=14, deadline=None,
                                suppress_health_check=list(HealthCheck))
    machine().runTest()
