"""`easgate db upgrade` and `easgate seed`: the database commands of the CLI.

gateway/cli.py mounts them: ``app.add_typer(db_app, name="db")`` and
``app.command("seed")(seed_command)``. Errors print one line and exit non-zero.
"""
from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from store import StoreError, default_url, open_store, upgrade_database
from store.fixtures import load_demo_tenant

db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="SQLAlchemy URL (default: EASGATE_DB or the SQLite file ./var/easgate.db)."),
]


@db_app.command("upgrade")
def upgrade_command(db: DbOption = None) -> None:
    """Create or migrate the database schema to the current revision (a no-op when current)."""
    before, after = _run(upgrade_database(db or default_url()))
    if before == after:
        typer.echo(f"database already at revision {after}")
    else:
        typer.echo(f"database upgraded from {before or '(empty)'} to {after}")


def seed_command(db: DbOption = None) -> None:
    """Load the demo tenant (contoso.com, users alice, bob, carol) unless it is there."""
    typer.echo("demo tenant loaded" if _run(_seed(db or default_url()))
               else "demo tenant already present")


async def _seed(url: str) -> bool:
    store = await open_store(url)
    try:
        return await load_demo_tenant(store)
    finally:
        await store.close()


def _run(coro):  # type: ignore[no-untyped-def]
    try:
        return asyncio.run(coro)
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
