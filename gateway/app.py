"""The aiohttp application factory.

``create_app(config)`` builds the app and its routes; the store, clock, push hub and access
scheduler are opened at start-up and closed at clean-up (one ``cleanup_ctx`` generator), and
live under the ``SERVICES`` AppKey. Nothing is global: tests run several apps side by side.
"""
from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

from aiohttp import web

from gateway import autodiscover, gcpolicy, http, proxy
from gateway.access import AccessService
from gateway.admin import setup_admin
from gateway.clock import Clock
from gateway.config import Config, with_admin_token
from gateway.crossprocess import Coordination
from gateway.pushhub import PushHub
from gateway.services import SERVICES, Services
from protocol.versions import SERVER_VERSION
from store import Store, open_store
from store.fixtures import load_demo_tenant

log = logging.getLogger("easgate.app")

CONFIG = web.AppKey("config", Config)
GIVEN_STORE = web.AppKey("given_store", Store)
# Push and scheduling shared with the other processes on a PostgreSQL database (issue 9).
COORDINATION = web.AppKey("coordination", Coordination)

# Room for request bodies beyond the EAS limit, so that the EAS handler (not aiohttp's
# generic error) answers an oversized body, with its 413 and its reason header.
_BODY_SLACK = 64 * 1024


def create_app(config: Config | None = None, *, store: Store | None = None) -> web.Application:
    """The gateway as an aiohttp application. With ``store`` the app uses (and does not
    close) that store instead of opening ``config.db_url``."""
    config = with_admin_token(config or Config.load())
    app = web.Application(client_max_size=config.max_body_bytes + _BODY_SLACK)
    app[CONFIG] = config
    if store is not None:
        app[GIVEN_STORE] = store
    app.cleanup_ctx.append(_services)
    app.on_response_prepare.append(_server_header)
    _add_routes(app)
    setup_admin(app)  # the admin API and page, /choice, /healthz, /metrics (SPEC §8)
    proxy.setup_proxy(app, config)  # proxy mode: allowed devices reach the upstream server
    app.cleanup_ctx.append(gcpolicy.managed)  # last: what start-up made is then frozen
    return app


def _add_routes(app: web.Application) -> None:
    endpoint = _any_case("microsoft-server-activesync")
    app.router.add_route("POST", f"/{{endpoint:{endpoint}}}", http.activesync)
    app.router.add_route("OPTIONS", f"/{{endpoint:{endpoint}}}", http.activesync)
    discover = f"/{{folder:{_any_case('autodiscover')}}}/{{file:{_any_case('autodiscover.xml')}}}"
    app.router.add_route("POST", discover, autodiscover.handle)


def _any_case(word: str) -> str:
    """A route pattern matching ``word`` in any letter case (aiohttp's patterns take no
    inline flags)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)


async def _services(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    given = app.get(GIVEN_STORE)
    store = given if given is not None else await open_store(config.db_url)
    try:
        coordination = await Coordination.open(store)
        services = await _start_services(store, config, coordination)
        app[SERVICES] = services
        if coordination is not None:
            app[COORDINATION] = coordination
        try:
            yield
        finally:
            if coordination is not None:
                await coordination.close()
            await services.access.stop()
    finally:
        if given is None:
            await store.close()


async def prepare_store(store: Store, config: Config) -> Clock:
    """What a start does to the database before serving: an empty one gets the demo tenant
    (in proxy mode its setting alone: the mailboxes are upstream), and the clock is put in
    the configured mode. Returns the loaded clock."""
    if config.load_demo and not await store.list_tenants():
        if proxy.is_proxy(config):
            await proxy.load_demo_setting(store)
        else:
            await load_demo_tenant(store)
        log.info("empty database: demo tenant loaded")
    clock = Clock(store)
    await clock.load()
    if config.clock_mode is not None and clock.mode != config.clock_mode:
        await clock.set_mode(config.clock_mode)
    return clock


async def _start_services(store: Store, config: Config,
                          coordination: Coordination | None) -> Services:
    clock = await prepare_store(store, config)
    pushhub = coordination.pushhub if coordination is not None else PushHub()
    pushhub.attach(store)
    access = AccessService(store, clock, pushhub, config)
    if coordination is not None:
        await coordination.start(clock, access)  # the scheduler runs while this process leads
    else:
        access.start()
    return Services(store=store, clock=clock, pushhub=pushhub, access=access, config=config)


async def _server_header(request: web.Request, response: web.StreamResponse) -> None:
    """MS-ASHTTP 2.2.2.1.2.1: every answer names the server's ActiveSync version."""
    response.headers.setdefault("MS-Server-ActiveSync", SERVER_VERSION)
