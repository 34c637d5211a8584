"""EAS protocol versions this server speaks (MS-ASHTTP 2.2.1.1.2.6)."""
from __future__ import annotations

from protocol.numbers import is_whole_number

SUPPORTED: tuple[str, ...] = ("12.1", "14.0", "14.1", "16.0", "16.1")
LATEST = SUPPORTED[-1]

# The value of the MS-Server-ActiveSync header: the Exchange build we answer as. Clients
# only log it; 15.0 is Exchange 2013, the first build that speaks 16.x through updates.
SERVER_VERSION = "15.0"


def parse(version: str) -> tuple[int, int]:
    """``"14.1"`` → ``(14, 1)``; ValueError for anything else."""
    major, dot, minor = version.strip().partition(".")
    if not dot or not is_whole_number(major) or not is_whole_number(minor):
        raise ValueError(f"not a protocol version: {version!r}")
    return int(major), int(minor)


def is_supported(version: str) -> bool:
    return version in SUPPORTED


def at_least(version: str, minimum: str) -> bool:
    """True when ``version`` is ``minimum`` or later (``at_least("16.0", "14.0")``)."""
    return parse(version) >= parse(minimum)


def from_byte(value: int) -> str:
    """The version field of the base64 query form: 121 → ``"12.1"``, 161 → ``"16.1"``."""
    return f"{value // 10}.{value % 10}"


def uses_status_codes(version: str) -> bool:
    """14.0 introduced the global status codes (101–177) inside command documents; a 12.1
    client is told the same things with HTTP status codes (403, 449, 400)."""
    return at_least(version, "14.0")
