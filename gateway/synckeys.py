"""SyncKeys: what a client shows to prove which state of a collection it holds.

A key reads ``{chain}n``: ``chain`` is a random id given when the client starts over with
key ``0`` (stored in the state's data), ``n`` counts the answers of that chain (the store's
``sync_key``). A key is valid when it names the current state, or the previous one (the
client did not get our last answer and resends its request, MS-ASCMD 3.1.5.3). Anything
else — an older key, a key of another chain, a made-up number — is invalid, and the command
answers its invalid-sync-key status (Sync 3, FolderSync 9, GetItemEstimate 4).
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from enum import Enum

from store.types import SyncState

INITIAL = "0"
_KEY = re.compile(r"\{([0-9a-f]{32})\}([1-9][0-9]{0,17})")


class InvalidSyncKey(ValueError):
    """The key names no state this device holds."""


class KeyMatch(Enum):
    CURRENT = "current"
    PREVIOUS = "previous"  # a resend: answer it again from the previous state


@dataclass(frozen=True)
class SyncKey:
    chain: str
    counter: int

    def __str__(self) -> str:
        return f"{{{self.chain}}}{self.counter}"

    @classmethod
    def parse(cls, text: str) -> SyncKey:
        match = _KEY.fullmatch(text.strip())
        if match is None:
            raise InvalidSyncKey(f"malformed SyncKey {text[:70]!r}")
        return cls(match.group(1), int(match.group(2)))

    @classmethod
    def first(cls) -> SyncKey:
        return cls(uuid.uuid4().hex, 1)

    def successor(self) -> SyncKey:
        return SyncKey(self.chain, self.counter + 1)


def is_initial(text: str | None) -> bool:
    return (text or "").strip() == INITIAL


def current_key(state: SyncState) -> SyncKey:
    return SyncKey(state.data["chain"], state.sync_key)


def match(text: str, state: SyncState | None) -> KeyMatch:
    """Which of the state's keys the client showed; InvalidSyncKey when neither."""
    key = SyncKey.parse(text)
    if state is None:
        raise InvalidSyncKey("no synchronization state for this collection")
    if key.chain == state.data.get("chain") and key.counter == state.sync_key:
        return KeyMatch.CURRENT
    if key.chain == state.prev_data.get("chain") and key.counter == state.prev_sync_key:
        return KeyMatch.PREVIOUS
    raise InvalidSyncKey("stale or unknown SyncKey")
