"""Opening a store from a URL, and migrating a database, with one-line errors."""
from __future__ import annotations

from sqlalchemy.engine import URL

from store.api import Store, StoreError
from store.engine import create_engine, parse_url, safe_url
from store.schema import current_revision, head_revision, upgrade
from store.sql import SqlStore


async def open_store(url: str, *, create: bool = True, schema: str | None = None) -> Store:
    """A store on the database at ``url``. With ``create`` (the default) the schema is
    created or migrated to the current revision first; without it, a database that is not
    at the current revision is refused. ``schema`` puts the tables in that PostgreSQL
    schema (tests use a fresh one each). StoreError, with one line, when the URL is not
    usable or the database cannot be reached."""
    parsed = parse_url(url)
    engine = create_engine(parsed, schema=schema)
    try:
        if create:
            await upgrade(engine)
        else:
            await _check_current(engine, parsed)
    except Exception as exc:
        await engine.dispose()
        raise _opening_error(parsed, exc) from None
    return SqlStore(engine)


async def upgrade_database(url: str, *, schema: str | None = None) -> tuple[str | None, str | None]:
    """Migrate the database at ``url`` to the current revision; returns the revisions
    before and after (None before means it was empty). A no-op when already current."""
    parsed = parse_url(url)
    engine = create_engine(parsed, schema=schema)
    try:
        before = await current_revision(engine)
        await upgrade(engine)
        return before, await current_revision(engine)
    except Exception as exc:
        raise _opening_error(parsed, exc) from None
    finally:
        await engine.dispose()


async def _check_current(engine, parsed: URL) -> None:  # type: ignore[no-untyped-def]
    found, wanted = await current_revision(engine), head_revision()
    if found != wanted:
        raise StoreError(
            f"database {safe_url(parsed)} is at schema revision {found or '(empty)'}, "
            f"not {wanted}: run `easgate db upgrade`"
        )


def _opening_error(parsed: URL, exc: Exception) -> StoreError:
    if isinstance(exc, StoreError):
        return exc
    # Driver errors arrive wrapped (SQLAlchemy's "(… ) message [SQL: …]"): keep the cause.
    cause = getattr(exc, "orig", None) or exc.__cause__ or exc
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    return StoreError(f"cannot open database {safe_url(parsed)}: {text}")
