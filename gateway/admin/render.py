"""Server-side HTML: the Jinja2 environment of `gateway/templates` and the headers every page
carries.

Autoescaping is on for every template, so a value a client chose (a User-Agent of
``<script>…``) is shown as text. The Content-Security-Policy allows scripts and styles from
this server only — no inline script runs even if escaping were ever missed.
"""
from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Choice links carry a token in their path: never leak it to another site.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every template, whatever its file name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = format_when
    env.filters["left"] = format_left
    return env


def render(name: str, *, status: int = 200, **context: Any) -> web.Response:
    """A page from ``gateway/templates/<name>`` with the security headers."""
    html = environment().get_template(name).render(**context)
    return web.Response(
        text=html, status=status, content_type="text/html", charset="utf-8",
        headers=PAGE_HEADERS,
    )


def format_when(moment: datetime | None) -> str:
    """``2026-11-20 09:15 UTC`` (or an em dash for no time)."""
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def format_left(until: datetime | None, now: datetime) -> str:
    """Time left until ``until``: ``23 h 59 min``, ``5 min``, ``—`` when none or passed."""
    if until is None or until <= now:
        return "—"
    return describe_span(until - now)


def describe_span(span: timedelta) -> str:
    """``23 h 59 min`` up to two days (a quarantine reads in hours), ``3 d 4 h`` beyond."""
    seconds = span.total_seconds()
    if seconds <= 0:
        return "—"
    minutes = int(seconds // 60)
    hours, minutes = divmod(minutes, 60)
    if hours >= 48:
        return f"{hours // 24} d {hours % 24} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{max(minutes, 1)} min"
