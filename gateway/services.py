"""Everything a request handler may reach, in one value stored on the aiohttp app.

`create_app` (gateway/app.py) builds it at start-up and closes it at clean-up; handlers
get it with ``request.app[SERVICES]``. No module-level globals: two apps in one process
(tests do that) never share state.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from aiohttp import web

from gateway.auth import Authenticator
from gateway.config import Config
from gateway.throttle import AuthThrottle, throttle_limits
from store import Store

if TYPE_CHECKING:
    from gateway.access import AccessService
    from gateway.clock import Clock
    from gateway.exchange import Exchange
    from gateway.pushhub import PushHub


class ExchangeObserver(Protocol):
    """Traces, metrics and logs: told about every EAS request once it is answered."""

    async def on_exchange(self, exchange: Exchange) -> None: ...


@dataclass
class Services:
    store: Store
    clock: Clock
    pushhub: PushHub
    access: AccessService
    config: Config
    observers: list[ExchangeObserver] = field(default_factory=list)
    auth: Authenticator = field(init=False)

    def __post_init__(self) -> None:
        self.auth = Authenticator(self.store, cache_seconds=self.config.auth_cache_s,
                                  throttle=AuthThrottle(throttle_limits(self.config)))


SERVICES = web.AppKey("services", Services)
