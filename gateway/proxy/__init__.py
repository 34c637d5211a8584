"""Proxy mode: the gateway in front of another EAS server (issue 11, docs/proxy.md).

``easgate serve --upstream https://mail.example.com/Microsoft-Server-ActiveSync`` puts the
mailboxes upstream — Exchange, grommunio-sync, Z-Push or another easgate — while the policy
stays here: the tenant's setting, the device records, the notices, the audit rows, the
clock. The access decision is the same code as in store mode; only what an allowed device
reaches differs.

- `settings` — the upstream's URL and TLS trust, checked at start;
- `upstream` — the aiohttp client that talks to it, and `Unavailable` for no answer;
- `credentials` — users known by their login's address, passwords checked upstream;
- `service` — `Proxy.pass_through`, the EAS endpoint's hook after the access check;
- `relay` — the answer streamed back, a copy decoded for the trace;
- `handover` — gateway-issued SyncKeys after a quarantine, answered as invalid;
- `headers`, `answers`, `metrics` — hop-by-hop headers, the 503, ``/metrics``.

`setup_proxy(app, config)` does nothing in store mode; in proxy mode it opens the upstream
client after the services (a clean-up context added after theirs), swaps the services'
authenticator for the upstream one, and keeps the `Proxy` under the ``PROXY`` AppKey.
"""
from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from lxml import etree

from fixtures import read_json
from gateway.config import Config
from gateway.exchange import Exchange
from gateway.observe import OBSERVE
from gateway.proxy.answers import UpstreamRefusal
from gateway.proxy.credentials import UpstreamAuthenticator
from gateway.proxy.metrics import ProxyMetrics
from gateway.proxy.service import Proxy
from gateway.proxy.settings import UpstreamSettings, check, is_proxy
from gateway.proxy.upstream import Upstream
from gateway.services import SERVICES
from protocol.request import EASRequest
from store.api import Store
from store.types import Device, Tenant, User

__all__ = ["PROXY", "Proxy", "UpstreamRefusal", "check", "is_proxy", "load_demo_setting",
           "options", "pass_through", "setup_proxy"]

PROXY = web.AppKey("proxy", Proxy)


def setup_proxy(app: web.Application, config: Config) -> None:
    if is_proxy(config):
        settings = UpstreamSettings.from_config(config)  # ConfigError before any port opens

        async def upstream_client(app: web.Application) -> AsyncIterator[None]:
            upstream = Upstream(settings)
            await upstream.start()
            try:
                app[PROXY] = _proxy(app, upstream)
                yield
            finally:
                await upstream.stop()

        app.cleanup_ctx.append(upstream_client)


def _proxy(app: web.Application, upstream: Upstream) -> Proxy:
    services = app[SERVICES]
    observed = app.get(OBSERVE)
    metrics = ProxyMetrics(observed.metrics.registry if observed is not None else None)
    authenticator = UpstreamAuthenticator(
        services.store, upstream, metrics, cache_seconds=services.config.auth_cache_s,
        throttle=services.auth.throttle)
    services.auth = authenticator  # type: ignore[assignment]  # the same interface
    return Proxy(services, upstream, metrics, authenticator)


async def pass_through(request: web.Request, exchange: Exchange, *, eas: EASRequest,
                       body: bytes, document: etree._Element | None, user: User,
                       device: Device) -> web.StreamResponse | None:
    """In proxy mode, the answer for an allowed device (from the upstream); None in store
    mode or when the gateway answers the device itself (quarantine, remote wipe)."""
    proxy = request.app.get(PROXY)
    if proxy is None:
        return None
    return await proxy.pass_through(request, exchange, eas=eas, body=body, document=document,
                                    user=user, device=device)


async def options(request: web.Request, exchange: Exchange) -> web.StreamResponse | None:
    """In proxy mode, the upstream's answer to OPTIONS; None in store mode."""
    proxy = request.app.get(PROXY)
    return None if proxy is None else await proxy.options(request, exchange)


async def load_demo_setting(store: Store) -> None:
    """A proxy's empty database gets the demo tenant's setting but no mailboxes: its users
    are made on first sight, without a password (gateway/proxy/credentials.py)."""
    tenant = read_json("demo_tenant.json")["tenant"]
    await store.put_tenant(Tenant(domain=tenant["domain"], mode=tenant["mode"]))
