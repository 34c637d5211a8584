"""Where the upstream EAS server is and how far to trust it: read from the configuration
(``upstream``, ``upstream_ca``, ``upstream_insecure`` and the two timeouts) and checked once,
at start, so that a typo is one line from ``easgate serve`` rather than a 503 per request."""
from __future__ import annotations

import ssl
from dataclasses import dataclass

from yarl import URL

from gateway.config import Config, ConfigError


@dataclass(frozen=True)
class UpstreamSettings:
    url: URL  # the upstream's ActiveSync endpoint, without a query
    ssl: ssl.SSLContext | bool  # False: no certificate check (``upstream_insecure``)
    connect_timeout_s: float
    idle_timeout_s: float  # longest silence of the upstream beyond what a Ping waits for

    @classmethod
    def from_config(cls, config: Config) -> UpstreamSettings:
        """ConfigError names the setting that cannot be used."""
        return cls(
            url=endpoint_url(config.upstream or ""),
            ssl=_ssl(config),
            connect_timeout_s=_positive("upstream_connect_timeout_s",
                                        config.upstream_connect_timeout_s),
            idle_timeout_s=_positive("upstream_timeout_s", config.upstream_timeout_s),
        )


def is_proxy(config: Config) -> bool:
    """Whether this configuration puts the gateway in front of an upstream server."""
    return bool(config.upstream and config.upstream.strip())


def check(config: Config) -> None:
    """Raise ConfigError when proxy settings are given but unusable (``easgate serve``
    calls it before binding any port)."""
    if is_proxy(config):
        UpstreamSettings.from_config(config)
    elif config.upstream_ca is not None or config.upstream_insecure:
        raise ConfigError("upstream_ca and upstream_insecure need an upstream URL")


def endpoint_url(value: str) -> URL:
    """``https://host[:port]/path``; a bare ``https://host`` means the standard path."""
    try:
        url = URL(value.strip())
    except (TypeError, ValueError):
        raise ConfigError(f"upstream: not a URL: {value!r}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(f"upstream: an http:// or https:// URL with a host, not {value!r}")
    if url.query_string or url.fragment:
        raise ConfigError("upstream: give the endpoint without a query or fragment")
    if url.path in ("", "/"):
        url = url.with_path("/Microsoft-Server-ActiveSync")
    return url


def _ssl(config: Config) -> ssl.SSLContext | bool:
    if config.upstream_insecure and config.upstream_ca is not None:
        raise ConfigError("upstream_ca and upstream_insecure exclude each other")
    if config.upstream_insecure:
        return False
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if config.upstream_ca is not None:
        try:
            context.load_verify_locations(cafile=str(config.upstream_ca))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"upstream_ca: cannot load {config.upstream_ca}: {exc}") from None
    return context


def _positive(name: str, value: float) -> float:
    if value <= 0:
        raise ConfigError(f"{name} must be more than 0")
    return float(value)
