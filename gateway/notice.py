"""The mails the access lifecycle puts into mailboxes (SPEC §4 notice, §5 EAC notices).

Each is an ordinary mail with a real MIME source, rendered from the Jinja2 templates beside
this module (``templates/notice.txt``, ``notice.html``, ``eac_*.txt``) and stored through the
store like any other mail; the lifecycle decides when. Nothing here does I/O.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formataddr
from pathlib import Path
from typing import Any

import jinja2

from gateway.content.mail import new_email
from store.types import Device, NewItem, Tenant, User

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
SENDER_NAME = "Microsoft on behalf of your organization"
OUTLOOK_DOWNLOAD_URL = "https://aka.ms/getoutlookmobile"
OUTLOOK_BENEFITS = (
    "Email, calendar, contacts and files of your work account together in one app.",
    "Protection your organization manages, such as data loss prevention and multi-factor "
    "sign-in.",
    "Focused Inbox, so the messages that matter come first.",
    "Meeting invitations you can answer and schedule straight from your phone.",
)


@dataclass(frozen=True)
class Notice:
    """The setting's notice for one device, before it is stored."""

    item: NewItem
    subject: str


def sender(tenant: str) -> str:
    return formataddr((SENDER_NAME, f"no-reply@{tenant}"))


def app_name(device: Device) -> str:
    """How the notice names the app: what the client called itself, else its model or type."""
    return device.friendly_name or device.model or device.device_type or "your mobile device"


def choice_url(public_url: str, token: str, choice: str) -> str:
    return f"{public_url.rstrip('/')}/choice/{token}?app={choice}"


def setting_notice(*, tenant: Tenant, user: User, device: Device, token: str, public_url: str,
                   now: datetime, quarantine_until: datetime) -> Notice:
    """The 'Action required' mail of SPEC §4 with its two choice links."""
    name = app_name(device)
    subject = f"Action required: choose how to get your {tenant.domain} email on {name}"
    context = {
        "tenant": tenant.domain, "app_name": name, "display_name": user.display_name,
        "benefits": OUTLOOK_BENEFITS, "download_url": OUTLOOK_DOWNLOAD_URL,
        "keep_url": choice_url(public_url, token, "keep"),
        "outlook_url": choice_url(public_url, token, "outlook"),
        "quarantine_hours": _hours(quarantine_until - now),
        "quarantine_until": _when(quarantine_until),
    }
    item = new_email(
        sender=sender(tenant.domain), to=_recipient(user), subject=subject,
        text=_render("notice.txt", context), html=_render("notice.html", context), date=now,
        headers={"Importance": "high", "X-Easgate-Notice": "mobile-access"},
    )
    return Notice(item=item, subject=subject)


def eac_quarantine_notice(*, tenant: Tenant, user: User, device: Device, now: datetime) -> NewItem:
    """SPEC §5: temporarily kept from syncing, nothing to do, content comes once allowed."""
    context = _device_context(tenant, user, device)
    text = _render("eac_quarantine.txt", context)
    subject = text.splitlines()[0]
    return new_email(sender=sender(tenant.domain), to=_recipient(user), subject=subject,
                     text=text, date=now, headers={"X-Easgate-Notice": "eac-quarantine"})


def eac_block_mail(*, tenant: Tenant, user: User, device: Device, now: datetime,
                   rule: str | None) -> NewItem:
    context = {**_device_context(tenant, user, device), "rule": rule}
    text = _render("eac_block.txt", context)
    return new_email(sender=sender(tenant.domain), to=_recipient(user),
                     subject=text.splitlines()[0], text=text, date=now,
                     headers={"X-Easgate-Notice": "eac-block"})


def eac_admin_mail(*, tenant: Tenant, admin: User, user: User, device: Device, now: datetime,
                   reason: str) -> NewItem:
    """To each of the tenant's ``admin_mail_recipients``: a device waits for their decision."""
    context = {
        **_device_context(tenant, user, device), "user_address": user.address,
        "model": device.model, "user_agent": device.user_agent, "device_pk": device.id,
        "at": _when(now), "reason": reason,
    }
    text = _render("eac_admin.txt", context)
    return new_email(sender=sender(tenant.domain), to=_recipient(admin),
                     subject=text.splitlines()[0], text=text, date=now,
                     headers={"X-Easgate-Notice": "eac-admin"})


# --- helpers ----------------------------------------------------------------------------
def _device_context(tenant: Tenant, user: User, device: Device) -> dict[str, Any]:
    return {
        "tenant": tenant.domain, "display_name": user.display_name,
        "device_name": app_name(device), "device_id": device.device_id,
        "device_type": device.device_type, "user_mail_insert": tenant.user_mail_insert,
    }


def _recipient(user: User) -> str:
    return formataddr((user.display_name, user.address))


def _hours(span: Any) -> int:
    return max(round(span.total_seconds() / 3600), 0)


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",),
                                            default_for_string=False, default=False),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render(name: str, context: dict[str, Any]) -> str:
    return _environment().get_template(name).render(**context)
