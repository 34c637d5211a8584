"""Sign-in to the admin page: a session cookie and the CSRF token of its forms.

Nothing is kept on the server: the cookie carries its issue time and a random nonce, signed
with a key derived from the admin token, so every worker process accepts it and changing the
token signs everybody out. The CSRF token is derived from the same nonce, so a form can only
be posted by a page that was served inside this very session. The cookie is ``HttpOnly``
(scripts cannot read it) and ``SameSite=Strict`` (other sites cannot make the browser send it).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from aiohttp import web

from protocol.numbers import is_whole_number

COOKIE_NAME = "easgate_admin"
COOKIE_PATH = "/"  # the choice page shares nothing of it, but SSE and forms live under /admin
SESSION_LIFETIME_S = 12 * 3600


@dataclass(frozen=True)
class AdminSession:
    nonce: str
    issued_at: int
    csrf_token: str


class SessionKeeper:
    """Issues and checks sessions for one admin token."""

    def __init__(self, admin_token: str, *, lifetime_s: int = SESSION_LIFETIME_S) -> None:
        if not admin_token:
            raise ValueError("the admin page needs an admin token")
        self._admin_token = admin_token
        self._key = hmac.new(admin_token.encode(), b"easgate admin session v1", "sha256").digest()
        self._lifetime_s = lifetime_s

    def token_matches(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self._admin_token.encode())

    # --- issuing ----------------------------------------------------------------------
    def start(self, response: web.StreamResponse, *, secure: bool) -> AdminSession:
        nonce = secrets.token_urlsafe(18)
        issued = int(time.time())
        response.set_cookie(
            COOKIE_NAME, f"{issued}.{nonce}.{self._sign(f'{issued}.{nonce}')}",
            path=COOKIE_PATH, httponly=True, samesite="Strict", secure=secure,
            max_age=self._lifetime_s,
        )
        return self._session(nonce, issued)

    @staticmethod
    def end(response: web.StreamResponse) -> None:
        response.del_cookie(COOKIE_NAME, path=COOKIE_PATH)

    # --- checking ---------------------------------------------------------------------
    def current(self, request: web.Request) -> AdminSession | None:
        """The request's session, or None when it has no valid, unexpired cookie."""
        issued_text, _, rest = request.cookies.get(COOKIE_NAME, "").partition(".")
        nonce, _, signature = rest.rpartition(".")
        if not (is_whole_number(issued_text) and nonce and signature):
            return None
        if not hmac.compare_digest(signature, self._sign(f"{issued_text}.{nonce}")):
            return None
        issued = int(issued_text)
        if not 0 <= time.time() - issued <= self._lifetime_s:
            return None
        return self._session(nonce, issued)

    @staticmethod
    def csrf_ok(session: AdminSession, submitted: str | None) -> bool:
        return bool(submitted) and hmac.compare_digest(submitted.encode(), session.csrf_token.encode())

    def _session(self, nonce: str, issued: int) -> AdminSession:
        return AdminSession(nonce=nonce, issued_at=issued, csrf_token=self._sign(f"csrf.{nonce}"))

    def _sign(self, message: str) -> str:
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()
