"""A small synchronous client of the admin API (SPEC §8), used by the admin commands of the
CLI. Standard library only: one request per call, JSON in and out.

``AdminClient(url, token)``; every method returns the decoded JSON answer or raises
`AdminApiError` with the server's ``error``/``detail`` (or the connection failure).
"""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8080"
API = "/admin/api/v1"


class AdminApiError(Exception):
    def __init__(self, status: int | None, error: str, detail: str) -> None:
        super().__init__(f"{error}: {detail}")
        self.status, self.error, self.detail = status, error, detail


class AdminClient:
    def __init__(self, url: str = DEFAULT_URL, token: str | None = None, *,
                 timeout: float = 120.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    # --- tenants and their setting ------------------------------------------------------
    def tenants(self) -> list[dict[str, Any]]:
        return self._call("GET", "/tenants")

    def add_tenant(self, domain: str, **setting: Any) -> dict[str, Any]:
        return self._call("POST", "/tenants", {"domain": domain, **setting})

    def mobile_access(self, tenant: str) -> dict[str, Any]:
        return self._call("GET", f"/tenants/{_quote(tenant)}/mobile-access")

    def set_mobile_access(self, tenant: str, **change: Any) -> dict[str, Any]:
        return self._call("PUT", f"/tenants/{_quote(tenant)}/mobile-access", change)

    # --- the clock --------------------------------------------------------------------
    def clock(self) -> dict[str, Any]:
        return self._call("GET", "/clock")

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        return self._call("POST", "/clock/advance", {"seconds": seconds})

    def set_clock(self, *, now: str | None = None, mode: str | None = None) -> dict[str, Any]:
        body = {k: v for k, v in (("now", now), ("mode", mode)) if v is not None}
        return self._call("PUT", "/clock", body)

    # --- devices ----------------------------------------------------------------------
    def devices(self, *, user: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
        query = {k: v for k, v in (("user", user), ("state", state)) if v}
        suffix = f"?{urllib.parse.urlencode(query)}" if query else ""
        return self._call("GET", f"/devices{suffix}")

    def device(self, pk: int) -> dict[str, Any]:
        return self._call("GET", f"/devices/{pk}")

    def events(self, pk: int) -> list[dict[str, Any]]:
        return self._call("GET", f"/devices/{pk}/events")

    def choose(self, pk: int, choice: str) -> dict[str, Any]:
        return self._call("POST", f"/devices/{pk}/choice", {"choice": choice})

    # --- content ----------------------------------------------------------------------
    def deliver(self, to: str, **message: Any) -> dict[str, Any]:
        return self._call("POST", f"/users/{_quote(to)}/messages", message)

    # --- the wire ---------------------------------------------------------------------
    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{API}{path}", data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return _decode(response.read())
        except urllib.error.HTTPError as exc:
            answer = _decode(exc.read()) or {}
            if not isinstance(answer, dict):
                answer = {}
            raise AdminApiError(exc.code, answer.get("error", f"http-{exc.code}"),
                                answer.get("detail", exc.reason)) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise AdminApiError(None, "unreachable", f"{self.url}: {reason}") from None


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="@")
