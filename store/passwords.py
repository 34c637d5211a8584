"""Password hashes: the standard library's scrypt with a per-user salt.

The stored form is ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>``, so the cost can be raised
later without invalidating existing hashes. Hashing takes tens of milliseconds of CPU by
design: async callers run it in a thread (`hash_password_async`, `verify_password_async`).
"""
from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import os

_N, _R, _P = 2**14, 8, 1  # the cost scrypt's authors recommend for interactive logins
_SALT_BYTES = 16
_KEY_BYTES = 32
_PREFIX = "scrypt"


# Stored for a user who has no password here: it is no scrypt hash, so nothing verifies.
UNUSABLE_HASH = "!unusable"


def hash_password(password: str) -> str:
    salt = os.urandom(_SALT_BYTES)
    key = _derive(password, salt, _N, _R, _P)
    return "$".join((_PREFIX, str(_N), str(_R), str(_P), _b64(salt), _b64(key)))


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches; the comparison takes constant time. A malformed
    stored hash never matches."""
    try:
        prefix, n, r, p, salt, key = stored.split("$")
        if prefix != _PREFIX:
            return False
        expected = base64.b64decode(key)
        actual = _derive(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password: str, stored: str) -> bool:
    return await asyncio.to_thread(verify_password, password, stored)


@functools.cache
def dummy_hash() -> str:
    """Verified against when a login names nobody, so that an unknown user costs the same
    time as a wrong password."""
    return hash_password("not a password")


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=_KEY_BYTES)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
