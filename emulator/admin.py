"""The few admin API calls the load generator makes (SPEC §8): create users, deliver mail."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

import aiohttp

API = "/admin/api/v1"


class AdminError(RuntimeError):
    def __init__(self, what: str, status: int, detail: str):
        super().__init__(f"{what}: HTTP {status} {detail}".strip())
        self.status = status


class AdminAPI:
    def __init__(self, http: aiohttp.ClientSession, root: str, token: str):
        self.http = http
        self.base = root.rstrip("/") + API
        self.headers = {"Authorization": f"Bearer {token}"}

    async def _post(self, what: str, path: str, payload: dict[str, Any],
                    accept: tuple[int, ...] = ()) -> int:
        async with self.http.post(self.base + path, json=payload, headers=self.headers,
                                  timeout=aiohttp.ClientTimeout(total=60)) as answer:
            detail = await answer.text()
            if answer.status >= 400 and answer.status not in accept:
                raise AdminError(what, answer.status, detail[:300])
            return answer.status

    async def create_user(self, address: str, password: str, display_name: str) -> bool:
        """True when created, False when the address already existed (409)."""
        status = await self._post(
            f"create user {address}", "/users",
            {"address": address, "password": password, "display_name": display_name},
            accept=(409,))
        return status != 409

    async def deliver(self, address: str, subject: str, body: str,
                      sender: str = "load@fabrikam.com") -> None:
        """Put a mail in the user's Inbox, as if it had arrived from outside."""
        await self._post(f"deliver to {address}", f"/users/{quote(address)}/messages",
                         {"from": sender, "subject": subject, "body": body})
