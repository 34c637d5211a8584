"""SPEC §8 names the admin REST API as a contract: every route must be served, with the token
required (401 without it), and the unauthenticated ones (/healthz, /metrics) open."""
from __future__ import annotations

import pytest

from gateway.app import create_app
from gateway.config import Config

PREFIX = "/admin/api/v1"
CONTRACT = [
    ("GET", "/tenants/{domain}/mobile-access"), ("PUT", "/tenants/{domain}/mobile-access"),
    ("GET", "/tenants/{domain}/device-access"), ("PUT", "/tenants/{domain}/device-access"),
    ("GET", "/clock"), ("PUT", "/clock"), ("POST", "/clock/advance"),
    ("GET", "/devices"), ("GET", "/devices/{id}"),
    ("POST", "/devices/{id}/choice"), ("POST", "/devices/{id}/access"),
    ("GET", "/faults"), ("POST", "/faults"), ("DELETE", "/faults/{id}"), ("DELETE", "/faults"),
    ("POST", "/devices/{id}/wipe"), ("DELETE", "/devices/{id}/wipe"),
    ("GET", "/devices/{id}/events"), ("GET", "/devices/{id}/trace"),
    ("POST", "/users"), ("POST", "/users/{address}/messages"),
    ("POST", "/users/{address}/events"), ("POST", "/users/{address}/contacts"),
    ("GET", "/openapi.json"),
]


def _served_routes() -> set[tuple[str, str]]:
    app = create_app(Config(db_url="sqlite+aiosqlite:///:memory:", admin_token="t"))
    served = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or ""
        served.add((route.method, _shape(path)))
    return served


def _shape(path: str) -> str:
    """Route variables renamed alike, so /devices/{pk} and /devices/{id} compare equal."""
    parts = path.split("/")
    return "/".join("{}" if part.startswith("{") else part for part in parts)


@pytest.mark.parametrize(("method", "path"), CONTRACT, ids=[f"{m} {p}" for m, p in CONTRACT])
def test_every_named_admin_route_is_served(method: str, path: str) -> None:
    assert (method, _shape(PREFIX + path)) in _served_routes()


async def test_admin_routes_need_the_token_and_health_does_not(live_server) -> None:
    session = await live_server.session()
    async with session.get(f"{live_server.http_url}{PREFIX}/clock") as answer:
        assert answer.status == 401
        assert set(await answer.json()) >= {"error", "detail"}
    async with session.get(f"{live_server.http_url}/healthz") as answer:
        assert answer.status == 200
    async with session.get(f"{live_server.http_url}/metrics") as answer:
        assert answer.status == 200
