"""The admin page at ``/admin``: the operator's view of a running gateway (issue 7).

Server-rendered with Jinja2 (`gateway.admin.render`), no front-end build: the mobile email
access panel as the admin center shows it, the Exchange admin center's device access rules,
the devices with their countdowns and actions, a device's timeline and decoded trace, and
the clock. Open pages are kept current by Server-Sent Events (`gateway.admin.live`).

Sign-in takes the admin token and gives a session cookie (`gateway.admin.session`); every
form carries the session's CSRF token. Actions call the same services as the admin API —
handlers only translate a form into a call and the outcome into a redirect or an error page.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web
from multidict import MultiDictProxy

from gateway.access.decision import unavailable_reason
from gateway.access.errors import AccessError
from gateway.admin import faults_page, openapi
from gateway.admin.api import device_json
from gateway.admin.live import LiveFeed
from gateway.admin.render import STATIC_DIR, format_left, format_when, render
from gateway.admin.session import AdminSession, SessionKeeper
from gateway.admin.trace_api import setup_trace_api
from gateway.clock import ClockError
from gateway.observe import OBSERVE, setup_observe
from gateway.services import SERVICES, Services
from protocol.numbers import is_whole_number
from store.api import NotFound
from store.types import Device, DeviceRule, Tenant

DEVICE_STATES = ("allowed", "pending", "quarantined", "blocked", "wipe-pending", "wiped")
ACCESS_LEVELS = ("allow", "block", "quarantine")
RULE_FIELDS = ("UserAgent", "DeviceType", "DeviceModel", "DeviceOS")
MAX_ROWS = 500  # the devices table; filters reach the others
SSE_KEEPALIVE_S = 15.0

# The admin center's words for the three options (seed: manage-email-app-access.md).
ACCESS_OPTIONS = (
    {"mode": "outlook-only", "label": "Outlook only",
     "text": "users in your organization will be required to use the Outlook for Android "
             "or Outlook for iOS app on their mobile device."},
    {"mode": "recommend-all", "label": "Any email app",
     "text": "all users in your organization will be prompted to use Outlook, but they can "
             "choose to use any email app."},
    {"mode": "prompt-new-once", "label": "Any email app",
     "text": "new users or devices in your organization will be prompted once to use "
             "Outlook, but they can choose to use any email app."},
)

# What a redirect's ``done`` code says on the page it lands on.
DONE = {
    "mode": "Mobile email access saved.",
    "rules": "Device access rules saved.",
    "clock": "Clock changed.",
    "keep": "Choice recorded: keep this app.",
    "outlook": "Choice recorded: use Outlook.",
    "allow": "Device allowed.",
    "block": "Device blocked.",
    "faults": "Fault rules saved.",
    "wipe": "Remote wipe ordered: the device gets it at its next request.",
    "wipe-account": "Account-only wipe ordered: the device gets it at its next request.",
    "cancel-wipe": "Wipe withdrawn.",
}


class FormError(Exception):
    """A form that cannot be acted on; shown on the page with its HTTP status."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass
class PageState:
    sessions: SessionKeeper
    feed: LiveFeed


PAGE = web.AppKey("admin_page", PageState)


def setup_admin_page(app: web.Application) -> None:
    """The operator's view: this page and the admin API's docs page, the traces, metrics
    and logs it shows (`gateway.observe`, with ``/metrics``) and the API's trace route."""
    setup_observe(app)
    setup_trace_api(app)
    add = app.router
    add.add_get("/admin", index)
    add.add_get("/admin/", index)
    add.add_get("/admin/login", login_form)
    add.add_post("/admin/login", login)
    add.add_post("/admin/logout", logout)
    add.add_get(r"/admin/devices/{pk:\d+}", device_page)
    add.add_post(r"/admin/devices/{pk:\d+}/action", device_action)
    add.add_post("/admin/tenants/{domain}/mobile-access", mobile_access)
    add.add_post("/admin/tenants/{domain}/device-access", device_access)
    add.add_post("/admin/clock/{op:advance|set|mode}", clock_action)
    add.add_post("/admin/faults", faults_action)
    add.add_get("/admin/live", live)
    add.add_get("/admin/api", api_docs)
    add.add_static("/admin/static", STATIC_DIR, append_version=False)
    app.cleanup_ctx.append(_page_state)
    app.on_shutdown.append(_close_live_pages)


async def _page_state(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    feed = LiveFeed(services.store, lambda: (services.clock.now(), services.clock.mode),
                    device_json)
    app[PAGE] = PageState(SessionKeeper(services.config.admin_token or ""), feed)
    services.observers.append(_Nudger(feed))
    services.clock.on_advance(_nudge_after_advance(feed))
    yield
    await feed.stop()


async def _close_live_pages(app: web.Application) -> None:
    """Open event streams would hold the server's shutdown: end them first."""
    if PAGE in app:
        await app[PAGE].feed.stop()


class _Nudger:
    """An exchange observer: a device's state may have changed, look now."""

    def __init__(self, feed: LiveFeed) -> None:
        self.feed = feed

    async def on_exchange(self, exchange: Any) -> None:
        self.feed.nudge()


def _nudge_after_advance(feed: LiveFeed) -> Callable[[datetime, datetime], Awaitable[None]]:
    async def nudge(before: datetime, after: datetime) -> None:
        feed.nudge()

    return nudge


# --- what the pages show ------------------------------------------------------------------
def device_row(device: Device, now: datetime) -> dict[str, Any]:
    """The admin API's view of a device plus the texts a page prints."""
    return {
        **device_json(device), "os": device.os,
        "time_left": format_left(device.quarantine_until, now),
        "notice_at_text": format_when(device.notice_at),
        "quarantine_until_text": format_when(device.quarantine_until),
        "first_seen_text": format_when(device.first_seen),
        "last_seen_text": format_when(device.last_seen),
    }


BLANK_DEVICE = Device(id=0, user_id=0, user_address="", device_id="", device_type="")


# --- sign-in --------------------------------------------------------------------------------
Handler = Callable[..., Awaitable[web.StreamResponse]]


def _signed_in(handler: Handler) -> Handler:
    """A page for signed-in operators; others are sent to the sign-in form."""

    async def page(request: web.Request) -> web.StreamResponse:
        session = request.app[PAGE].sessions.current(request)
        if session is None:
            raise web.HTTPSeeOther(f"/admin/login?next={quote(request.path_qs, safe='')}")
        return await handler(request, session)

    return page


def _form_action(handler: Handler) -> Handler:
    """A form post: needs a session and the session's CSRF token."""

    async def action(request: web.Request) -> web.StreamResponse:
        session = request.app[PAGE].sessions.current(request)
        if session is None:
            return render("admin/login.html", status=401, next="/admin",
                          error="Your session has ended: sign in again.")
        form = await request.post()
        if not SessionKeeper.csrf_ok(session, _field(form, "csrf")):
            return _error_page(403, "This form was not issued by this session (CSRF check "
                                    "failed). Reload the page and try again.")
        try:
            return await handler(request, session, form)
        except FormError as error:
            return await _index_with_error(request, session, error)
        except AccessError as error:
            return await _index_with_error(request, session, FormError(error.status, error.detail))
        except ClockError as error:
            return await _index_with_error(request, session, FormError(409, str(error)))

    return action


async def login_form(request: web.Request) -> web.Response:
    return render("admin/login.html", next=_safe_next(request.query.get("next")), error=None)


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    keeper = request.app[PAGE].sessions
    next_page = _safe_next(_field(form, "next"))
    if not keeper.token_matches(_field(form, "token") or ""):
        return render("admin/login.html", status=401, next=next_page,
                      error="That is not the admin token.")
    response = _redirect(next_page)
    keeper.start(response, secure=request.secure)
    return response


@_form_action
async def logout(request: web.Request, session: AdminSession, form: Any) -> web.Response:
    response = _redirect("/admin/login")
    SessionKeeper.end(response)
    return response


def _safe_next(target: str | None) -> str:
    """Only a path of this admin page (never another site) may follow sign-in."""
    if target and target.startswith("/admin") and not target.startswith("//") \
            and "\\" not in target and "\n" not in target and "\r" not in target:
        return target
    return "/admin"


# --- pages ----------------------------------------------------------------------------------
@_signed_in
async def index(request: web.Request, session: AdminSession) -> web.Response:
    context = await _index_context(request, session)
    return render("admin/index.html", **context)


async def _index_context(request: web.Request, session: AdminSession,
                         flash: dict[str, str] | None = None,
                         tenant_domain: str | None = None) -> dict[str, Any]:
    services = request.app[SERVICES]
    tenants = await services.store.list_tenants()
    if not tenants:
        raise web.HTTPServiceUnavailable(text="no tenant in the store yet")
    tenant = _pick_tenant(tenants, tenant_domain or request.query.get("tenant"))
    filters = {"user": request.query.get("user", "").strip(),
               "state": request.query.get("state", "")}
    if filters["state"] not in DEVICE_STATES:
        filters["state"] = ""
    devices = await services.store.list_devices(
        tenant=tenant.domain, user=filters["user"] or None, state=filters["state"] or None)
    devices.sort(key=lambda d: d.last_seen or datetime.min.replace(tzinfo=UTC), reverse=True)
    now = services.clock.now()
    reason = unavailable_reason(tenant)
    return {
        **_common(services, session, flash or _done_flash(request)),
        "tenants": [t.domain for t in tenants],
        "tenant": tenant,
        "access": {"available": reason is None, "reason": reason},
        "access_options": ACCESS_OPTIONS,
        "filters": filters,
        "states": DEVICE_STATES,
        "devices": [device_row(d, now) for d in devices[:MAX_ROWS]],
        "truncated": len(devices) > MAX_ROWS,
        "blank_device": device_row(BLANK_DEVICE, now),
        "access_levels": ACCESS_LEVELS,
        "rule_fields": RULE_FIELDS,
        **await faults_page.panel(request.app),
    }


@_signed_in
async def device_page(request: web.Request, session: AdminSession) -> web.Response:
    services = request.app[SERVICES]
    pk = int(request.match_info["pk"])
    try:
        device = await services.store.get_device_by_pk(pk)
    except NotFound:
        return _error_page(404, f"There is no device {pk}.")
    return render(
        "admin/device.html",
        **_common(services, session, _done_flash(request)),
        device=device_row(device, services.clock.now()),
        events=await services.store.list_events(pk),
        trace=request.app[OBSERVE].traces.entries(pk),
    )


def _common(services: Services, session: AdminSession,
            flash: dict[str, str] | None) -> dict[str, Any]:
    return {"csrf": session.csrf_token, "flash": flash,
            "clock": {"now": services.clock.now(), "mode": services.clock.mode}}


def _pick_tenant(tenants: list[Tenant], domain: str | None) -> Tenant:
    for tenant in tenants:
        if domain and tenant.domain == domain.lower():
            return tenant
    return tenants[0]


def _done_flash(request: web.Request) -> dict[str, str] | None:
    text = DONE.get(request.query.get("done", ""))
    return {"kind": "ok", "text": text} if text else None


async def _index_with_error(request: web.Request, session: AdminSession,
                            error: FormError) -> web.Response:
    domain = request.match_info.get("domain")
    context = await _index_context(request, session, {"kind": "error", "text": error.detail},
                                   tenant_domain=domain)
    return render("admin/index.html", status=error.status, **context)


def _error_page(status: int, detail: str) -> web.Response:
    return render("admin/error.html", status=status, detail=detail)


# --- actions --------------------------------------------------------------------------------
@_form_action
async def device_action(request: web.Request, session: AdminSession, form: Any) -> web.Response:
    access = request.app[SERVICES].access
    pk = int(request.match_info["pk"])
    action = _field(form, "action")
    if action in ("keep", "outlook"):
        device = await access.choose(pk, action)
    elif action in ("allow", "block"):
        device = await access.set_individual_access(pk, action)
    elif action in faults_page.WIPE_ACTIONS:
        device = await faults_page.wipe(request.app, pk, action)
    else:
        raise FormError(422, f"unknown action {action!r}: keep, outlook, allow, block, wipe, "
                             "wipe-account or cancel-wipe")
    _nudge(request)
    back = f"/admin/devices/{pk}" if _field(form, "back") == "device" else \
        f"/admin?{urlencode({'tenant': device.user_address.rpartition('@')[2]})}"
    return _done(back, action)


@_form_action
async def mobile_access(request: web.Request, session: AdminSession, form: Any) -> web.Response:
    domain = request.match_info["domain"]
    enabled = _field(form, "enabled") == "on"
    mode = _field(form, "mode") if enabled else "off"
    if enabled and mode not in {option["mode"] for option in ACCESS_OPTIONS}:
        raise FormError(422, "Choose one of the three options, or clear the check box.")
    await request.app[SERVICES].access.set_mode(domain, mode)
    _nudge(request)
    return _done(f"/admin?{urlencode({'tenant': domain})}", "mode")


@_form_action
async def device_access(request: web.Request, session: AdminSession, form: Any) -> web.Response:
    services = request.app[SERVICES]
    domain = request.match_info["domain"]
    try:
        tenant = await services.store.get_tenant(domain)
    except NotFound:
        raise FormError(404, f"There is no tenant {domain}.") from None
    await services.access.set_device_access(domain, **_device_access_change(tenant, form))
    _nudge(request)
    return _done(f"/admin?{urlencode({'tenant': domain})}", "rules")


def _device_access_change(tenant: Tenant, form: Any) -> dict[str, Any]:
    """The keyword arguments of `AccessService.set_device_access` a rules form asks for."""
    op = _field(form, "op")
    if op == "settings":
        level = _field(form, "org_default_access")
        authority = _field(form, "mdm_authority") or ""
        if level not in ACCESS_LEVELS or authority not in ("", "intune"):
            raise FormError(422, "The default access level or device management is not valid.")
        return {"org_default_access": level, "mdm_authority": authority or None,
                "clear_mdm_authority": not authority}
    if op == "add":
        field, value, level = (_field(form, name) for name in ("field", "value", "access"))
        value = (value or "").strip()
        if field not in RULE_FIELDS or level not in ACCESS_LEVELS or not 0 < len(value) <= 256:
            raise FormError(422, "A rule needs a field, a value (up to 256 characters) and "
                                 "an access level.")
        rule = DeviceRule(id=0, field=field, value=value, access=level)  # type: ignore[arg-type]
        return {"rules": [*tenant.device_rules, rule]}
    if op == "delete":
        rule_id = _field(form, "rule_id") or ""
        kept = [rule for rule in tenant.device_rules if str(rule.id) != rule_id]
        if len(kept) == len(tenant.device_rules):
            raise FormError(404, "That rule does not exist (any more).")
        return {"rules": kept}
    raise FormError(422, f"unknown operation {op!r}")


@_form_action
async def clock_action(request: web.Request, session: AdminSession, form: Any) -> web.Response:
    clock = request.app[SERVICES].clock
    op = request.match_info["op"]
    if op == "advance":
        seconds = _field(form, "seconds") or ""
        if not is_whole_number(seconds):
            raise FormError(422, "Advance takes a whole number of seconds.")
        await clock.advance(int(seconds))
    elif op == "set":
        await clock.set(_parse_utc(_field(form, "now") or ""))
    else:
        mode = _field(form, "mode")
        if mode not in ("real", "manual"):
            raise FormError(422, "The clock mode is real or manual.")
        await clock.set_mode(mode)
    _nudge(request)
    return _done("/admin", "clock")


@_form_action
async def faults_action(request: web.Request, session: AdminSession, form: Any) -> web.Response:
    try:
        await faults_page.act(request.app, form)
    except faults_page.FaultFormError as error:
        raise FormError(error.status, error.detail) from None
    _nudge(request)
    return _done("/admin", "faults")


def _parse_utc(value: str) -> datetime:
    """A ``datetime-local`` field (``2026-11-21T09:15``) read as UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise FormError(422, f"Not a date and time: {value!r}.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _done(path: str, code: str) -> web.Response:
    separator = "&" if "?" in path else "?"
    return _redirect(f"{path}{separator}done={code}")


def _redirect(location: str) -> web.Response:
    """303: after a form post the browser GETs the page (a reload never re-posts)."""
    return web.Response(status=303, headers={"Location": location})


def _nudge(request: web.Request) -> None:
    request.app[PAGE].feed.nudge()


def _field(form: MultiDictProxy[Any], name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


@_signed_in
async def api_docs(request: web.Request, session: AdminSession) -> web.Response:
    """The admin API's OpenAPI document as a page."""
    services = request.app[SERVICES]
    return render("admin/api.html", **_common(services, session, None),
                  operations=openapi.operations(), schemas=openapi.SCHEMAS)


# --- live updates ---------------------------------------------------------------------------
@_signed_in
async def live(request: web.Request, session: AdminSession) -> web.StreamResponse:
    """``text/event-stream`` of ``device``, ``tenant`` and ``clock`` events (JSON data)."""
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",
    })
    await response.prepare(request)
    with contextlib.suppress(ConnectionResetError):
        async with request.app[PAGE].feed.listen() as events:
            await response.write(b"retry: 2000\n\n")
            while True:
                try:
                    event = await asyncio.wait_for(events.get(), SSE_KEEPALIVE_S)
                except TimeoutError:
                    await response.write(b": still here\n\n")
                    continue
                if event is None:
                    break
                await response.write(event.encode())
    return response
