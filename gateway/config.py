"""The gateway's configuration: defaults that run with nothing set, one TOML file, then
``EASGATE_*`` environment variables, then explicit overrides (command-line options).

The TOML file holds the same names as the `Config` fields, flat::

    db_url = "postgresql+asyncpg://easgate@db/easgate"
    http = "0.0.0.0:8080"
    https = "off"
    max_body_bytes = 33554432

and each field can come from the environment as ``EASGATE_`` plus its upper-case name
(``EASGATE_HTTP=0.0.0.0:8080``; ``EASGATE_DB`` is the store's own name for ``db_url``).
"""
from __future__ import annotations

import dataclasses
import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from protocol.numbers import is_whole_number
from store import default_url


class ConfigError(ValueError):
    """A setting cannot be used; the message names it."""


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    @classmethod
    def parse(cls, value: str) -> Address:
        host, colon, port = value.strip().rpartition(":")
        if not colon or not is_whole_number(port) or not 0 <= int(port) <= 65535:
            raise ConfigError(f"not a HOST:PORT address: {value!r}")
        return cls(host.strip("[]") or "127.0.0.1", int(port))

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Config:
    db_url: str = field(default_factory=default_url)
    http: Address | None = Address("127.0.0.1", 8080)
    https: Address | None = Address("127.0.0.1", 8443)  # None: HTTPS off
    tls_cert: Path | None = None  # the operator's certificate (PEM); None: self-signed
    tls_key: Path | None = None
    var_dir: Path = Path("var")  # the self-signed certificate and the admin token live here
    workers: int = 1
    admin_token: str | None = None  # None: generated once and kept under var_dir
    clock_mode: Literal["real", "manual"] | None = None  # None: keep the stored clock's mode
    load_demo: bool = True  # an empty database gets the demo tenant
    public_url: str | None = None  # base of the links in notices; None: from the listeners
    realm: str = "easgate"  # the Basic auth realm
    max_body_bytes: int = 32 * 1024 * 1024  # larger request bodies are answered 413
    auth_cache_s: float = 60.0  # how long a successful login is remembered (scrypt is slow)
    auth_fail_limit_login: int = 10  # failed logins of one login per window, then 429
    auth_fail_limit_address: int = 50  # failed logins from one address per window, then 429
    auth_fail_window_s: float = 300.0
    client_header_timeout_s: float = 60.0  # a connection idle or sending its headers longer is closed
    client_body_timeout_s: float = 30.0  # a body must keep coming: this long without reaching...
    client_body_min_rate: int = 1024  # ...this many bytes per second beyond it is answered 408
    ping_min_heartbeat_s: int = 60  # Ping HeartbeatInterval bounds (MS-ASCMD 2.2.3.84)
    ping_max_heartbeat_s: int = 3540
    ping_max_folders: int = 300
    sync_max_window_size: int = 512
    log_level: str = "INFO"
    trace_depth: int = 50  # exchanges kept per device for `easgate devices trace`
    trace_dir: Path | None = None  # also write every trace to JSON-lines files here
    # Proxy mode (gateway/proxy): allowed devices are passed through to this EAS server.
    upstream: str | None = None  # e.g. https://mail.example.com/Microsoft-Server-ActiveSync
    upstream_ca: Path | None = None  # PEM file of the CAs to trust for the upstream
    upstream_insecure: bool = False  # no certificate check of the upstream (tests only)
    upstream_connect_timeout_s: float = 10.0
    upstream_timeout_s: float = 60.0  # an upstream silent this long (beyond a Ping's wait): 503

    @property
    def base_url(self) -> str:
        """Where clients and people reach this server: ``public_url`` when set, else the
        HTTP listener (or the HTTPS one when HTTP is off)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        if self.http is not None:
            return f"http://{_reachable(self.http.host)}:{self.http.port}"
        if self.https is not None:
            return f"https://{_reachable(self.https.host)}:{self.https.port}"
        return "http://127.0.0.1"

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        *,
        env: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Config:
        """Defaults, then the TOML file at ``path`` (if any), then the environment, then the
        ``overrides`` that are not None. ConfigError names the first bad setting."""
        values: dict[str, Any] = {}
        if path is not None:
            values.update(_read_toml(Path(path)))
        values.update(_from_env(os.environ if env is None else env))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**{name: _coerce(name, value) for name, value in values.items()})


_FIELDS = {f.name: f for f in dataclasses.fields(Config)}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    return data


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    values = {name: env[f"EASGATE_{name.upper()}"] for name in _FIELDS
              if f"EASGATE_{name.upper()}" in env}
    if "EASGATE_DB" in env and "db_url" not in values:
        values["db_url"] = env["EASGATE_DB"]
    return values


def _coerce(name: str, value: Any) -> Any:
    """Turn a TOML or environment value into the field's type."""
    if name not in _FIELDS:
        raise ConfigError(f"unknown setting {name!r}")
    if name in ("http", "https"):
        try:
            return _address(value)
        except ConfigError as exc:
            raise ConfigError(f"{name}: {exc}") from None
    if name in ("tls_cert", "tls_key", "var_dir", "trace_dir", "upstream_ca"):
        return Path(value) if value not in (None, "") else None
    if name in ("load_demo", "upstream_insecure"):
        return _boolean(name, value)
    if name == "clock_mode":
        if value not in ("real", "manual"):
            raise ConfigError(f"clock_mode must be real or manual, not {value!r}")
        return value
    kind = type(_FIELDS[name].default) if _FIELDS[name].default is not dataclasses.MISSING else str
    if kind in (int, float):
        return _number(name, value, kind)
    return value


def _address(value: Any) -> Address | None:
    if isinstance(value, Address) or value is None:
        return value
    if str(value).strip().lower() in ("off", "none", ""):
        return None
    return Address.parse(str(value))


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")


def _number(name: str, value: Any, kind: type) -> int | float:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, not {value!r}") from None
    if number < 0:
        raise ConfigError(f"{name} must not be negative")
    return number


def _reachable(host: str) -> str:
    """A listener bound to every address is reached through the loopback one."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


ADMIN_TOKEN_FILE = "admin-token"


def with_admin_token(config: Config) -> Config:
    """``config`` with an admin token: the configured one, else the one kept in
    ``var_dir/admin-token``, made (random, 32 bytes) the first time."""
    if config.admin_token:
        return config
    path = config.var_dir / ADMIN_TOKEN_FILE
    try:
        token = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        token = ""
    if not token:
        token = secrets.token_urlsafe(32)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(token + "\n")
    return config.replace(admin_token=token)
