"""The page behind the notice's two links (SPEC §4): ``GET /choice/{token}?app=keep|outlook``
shows a confirmation page and changes nothing; its form ``POST /choice/{token}`` records the
choice. The token is unguessable and bound to one device; a token never issued, already used
or whose quarantine has ended gets a page that says so, with 404, 409 or 410."""
from __future__ import annotations

from aiohttp import web

from gateway.access.errors import ChoiceExpired, ChoiceNotOpen, ChoiceUsed, UnknownToken
from gateway.access.service import AccessService
from gateway.admin.render import format_when, render
from gateway.notice import OUTLOOK_DOWNLOAD_URL, app_name
from gateway.services import SERVICES
from store.types import Device

CHOICES = ("keep", "outlook")
HEADINGS = {
    UnknownToken: "This link is not valid",
    ChoiceUsed: "Your choice was already recorded",
    ChoiceExpired: "This notice has expired",
    ChoiceNotOpen: "This device is not waiting for a choice",
}
MAX_FORM_BYTES = 1024


def setup_choice(app: web.Application) -> None:
    app.router.add_get("/choice/{token}", show)
    app.router.add_post("/choice/{token}", record)


def _access(request: web.Request) -> AccessService:
    return request.app[SERVICES].access


async def show(request: web.Request) -> web.Response:
    choice = request.query.get("app")
    if choice is not None and choice not in CHOICES:
        return _error(400, "This link is not valid", "The link names an unknown choice.")
    try:
        device = await _access(request).device_for_token(request.match_info["token"])
    except (UnknownToken, ChoiceUsed, ChoiceExpired) as exc:
        return _refused(exc)
    return render("choice/confirm.html", **_context(device), choice=choice,
                  token=request.match_info["token"],
                  deadline=format_when(device.quarantine_until))


async def record(request: web.Request) -> web.Response:
    if (request.content_length or 0) > MAX_FORM_BYTES:
        return _error(413, "This form is too large", "Send only the choice.")
    choice = (await request.post()).get("app")
    if choice not in CHOICES:
        return _error(400, "Choose one of the two options", "The form did not name a choice.")
    try:
        device = await _access(request).choose_by_token(request.match_info["token"], choice)  # type: ignore[arg-type]
    except (UnknownToken, ChoiceUsed, ChoiceExpired, ChoiceNotOpen) as exc:
        return _refused(exc)
    return render("choice/done.html", **_context(device), choice=choice,
                  download_url=OUTLOOK_DOWNLOAD_URL)


def _context(device: Device) -> dict[str, str]:
    return {"tenant": device.user_address.rpartition("@")[2], "user": device.user_address,
            "app_name": app_name(device)}


def _refused(exc: Exception) -> web.Response:
    status = getattr(exc, "status", 400)
    return _error(status, HEADINGS.get(type(exc), "This link cannot be used"), str(exc))


def _error(status: int, heading: str, detail: str) -> web.Response:
    return render("choice/error.html", status=status, heading=heading, detail=detail)
