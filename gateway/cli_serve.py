"""``easgate serve``: run the gateway (SPEC §8).

    easgate serve [--config FILE] [--db URL] [--http HOST:PORT] [--https HOST:PORT|off]
                  [--workers N] [--admin-token TOKEN] [--clock real|manual] [--no-demo]
                  [--upstream URL [--upstream-ca FILE | --upstream-insecure]]

Options override the configuration file, which overrides ``EASGATE_*`` variables' defaults
(see gateway/config.py). On start it prints where it listens and the admin token; Ctrl-C
(or SIGTERM) stops it cleanly. Errors are one line and a non-zero exit. With ``--workers N``
(PostgreSQL only) N processes share the ports: see gateway/workers.py.
"""
from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from aiohttp import web

from gateway import workers as worker_processes
from gateway.app import create_app
from gateway.config import Config, ConfigError, with_admin_token
from gateway.limits import runner_options
from gateway.proxy import settings as proxy_settings
from gateway.tls import server_context
from store import StoreError

log = logging.getLogger("easgate.serve")


def serve_command(
    config_file: Annotated[Path | None, typer.Option(
        "--config", help="TOML configuration file.", dir_okay=False)] = None,
    db: Annotated[str | None, typer.Option(
        "--db", help="SQLAlchemy URL (sqlite+aiosqlite:///… or postgresql+asyncpg://…).")] = None,
    http: Annotated[str | None, typer.Option(
        "--http", help="HOST:PORT of the plain HTTP listener (default 127.0.0.1:8080).")] = None,
    https: Annotated[str | None, typer.Option(
        "--https", help="HOST:PORT of the HTTPS listener, or off (default 127.0.0.1:8443).")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", help="Worker processes sharing the ports (more than 1 needs "
        "PostgreSQL).", min=1)] = None,
    admin_token: Annotated[str | None, typer.Option(
        "--admin-token", help="Bearer token of the admin API (default: made once, kept "
        "in ./var/admin-token).")] = None,
    clock: Annotated[str | None, typer.Option(
        "--clock", help="real or manual (default: real for a new database, else as stored).")] = None,
    no_demo: Annotated[bool, typer.Option(
        "--no-demo", help="Leave an empty database empty (no demo tenant).")] = False,
    upstream: Annotated[str | None, typer.Option(
        "--upstream", help="Proxy mode: the EAS endpoint of the server holding the "
        "mailboxes (https://host/Microsoft-Server-ActiveSync); see docs/proxy.md.")] = None,
    upstream_ca: Annotated[Path | None, typer.Option(
        "--upstream-ca", help="PEM file of the CA certificates to trust for the upstream.",
        dir_okay=False)] = None,
    upstream_insecure: Annotated[bool, typer.Option(
        "--upstream-insecure", help="Do not check the upstream's certificate (tests only).")
    ] = False,
) -> None:
    """Serve Exchange ActiveSync, autodiscover, the admin API and page."""
    try:
        config = with_admin_token(Config.load(
            config_file, db_url=db, http=http, https=https, workers=workers,
            admin_token=admin_token, clock_mode=clock, load_demo=False if no_demo else None,
            upstream=upstream, upstream_ca=upstream_ca,
            upstream_insecure=True if upstream_insecure else None))
        _check(config)
    except ConfigError as exc:
        _fail(str(exc))
    _setup_logging(config)
    try:
        if config.workers > 1:
            raise typer.Exit(worker_processes.run(config, _announce))
        asyncio.run(_serve(config))
    except (ConfigError, StoreError) as exc:
        _fail(str(exc))
    except OSError as exc:  # a port in use, an address not on this machine
        _fail(f"cannot listen: {exc.strerror or exc}")


def _setup_logging(config: Config) -> None:
    logging.basicConfig(level=config.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The schema check at every start is not news; its problems still show as warnings.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _check(config: Config) -> None:
    if config.http is None and config.https is None:
        raise ConfigError("both listeners are off: give --http or --https")
    worker_processes.check_shareable(config)
    proxy_settings.check(config)


def serve_worker(config: Config, number: int, on_ready: Callable[[], None]) -> None:
    """One process of ``--workers N`` (gateway/workers.py): the ports are shared."""
    _setup_logging(config)
    try:
        asyncio.run(_serve(config, reuse_port=True, on_ready=on_ready))
    except (ConfigError, StoreError) as exc:
        _fail(f"worker {number}: {exc}")
    except OSError as exc:
        _fail(f"worker {number} cannot listen: {exc.strerror or exc}")


async def _serve(config: Config, *, reuse_port: bool = False,
                 on_ready: Callable[[], None] | None = None) -> None:
    context = server_context(config) if config.https is not None else None
    runner = web.AppRunner(create_app(config), handle_signals=False, access_log=None,
                           **runner_options(config))  # header sizes and timeout
    await runner.setup()
    try:
        if config.http is not None:
            await web.TCPSite(runner, config.http.host, config.http.port,
                              reuse_port=reuse_port or None).start()
        if config.https is not None:
            await web.TCPSite(runner, config.https.host, config.https.port,
                              ssl_context=context, reuse_port=reuse_port or None).start()
        if on_ready is None:
            _announce(config)
        else:
            on_ready()  # the parent of the workers announces once all serve
        await _until_stopped()
    finally:
        await runner.cleanup()


def _announce(config: Config) -> None:
    lines = ["easgate is serving"]
    if config.http is not None:
        lines.append(f"  EAS   {_url('http', config.http)}/Microsoft-Server-ActiveSync")
    if config.https is not None:
        lines.append(f"  EAS   {_url('https', config.https)}/Microsoft-Server-ActiveSync")
    lines.append(f"  admin {config.base_url}/admin  (API {config.base_url}/admin/api/v1)")
    lines.append(f"  admin token: {config.admin_token}")
    lines.append(f"  database: {_safe_db(config.db_url)}")
    if proxy_settings.is_proxy(config):
        lines.append(f"  mailboxes upstream: {proxy_settings.endpoint_url(config.upstream or '')}")
    typer.echo("\n".join(lines))


def _url(scheme: str, address) -> str:  # type: ignore[no-untyped-def]
    host = "127.0.0.1" if address.host in ("0.0.0.0", "::", "") else address.host
    return f"{scheme}://{host}:{address.port}"


def _safe_db(url: str) -> str:
    """The URL without its password."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)
