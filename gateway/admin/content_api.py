"""The admin API's users and mailbox content (SPEC §8): create a user, deliver a mail, add a
calendar event or a contact — through the store like any write, so held Pings wake."""
from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from aiohttp import web

from gateway.admin.jsonapi import ApiError, ApiRoutes, json_object, ok, string, timestamp
from gateway.content.mail import new_email
from gateway.services import SERVICES
from store.api import NotFound
from store.fixtures import UTC_TIMEZONE, eas_compact_date
from store.types import Folder, FolderType, NewItem, User

MAX_BODY = 1_000_000
MAX_EVENT_DAYS = 366


def setup_content_api(app: web.Application, prefix: str) -> None:
    r = ApiRoutes(app)
    r.add_post(f"{prefix}/users", post_user)
    r.add_post(f"{prefix}/users/{{address}}/messages", post_message)
    r.add_post(f"{prefix}/users/{{address}}/events", post_event)
    r.add_post(f"{prefix}/users/{{address}}/contacts", post_contact)


def user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "address": user.address, "display_name": user.display_name,
            "tenant": user.tenant}


async def post_user(request: web.Request) -> web.Response:
    body = await json_object(request, {"address", "password", "display_name"},
                             required={"address", "password"})
    address = string(body, "address", max_len=320) or ""
    local, at, domain = address.strip().partition("@")
    if not (local and at and domain) or " " in address.strip():
        raise ApiError(422, "invalid-field", "address must look like user@domain")
    password = string(body, "password", max_len=256) or ""
    name = string(body, "display_name", max_len=256) or local
    store = request.app[SERVICES].store
    try:
        await store.get_tenant(domain)
    except NotFound:
        raise ApiError(404, "unknown-tenant", f"no tenant {domain}") from None
    user = await store.create_user(address.strip().lower(), password, name)
    return ok(user_json(user), status=201)


async def _user(request: web.Request) -> User:
    address = request.match_info["address"]
    try:
        return await request.app[SERVICES].store.get_user(address)
    except NotFound:
        raise ApiError(404, "unknown-user", f"no user {address}") from None


async def _folder(request: web.Request, user: User, wanted: str | None,
                  default: FolderType) -> Folder:
    """A folder by id or by name (any case); the default folder of the type when absent."""
    store = request.app[SERVICES].store
    if wanted is None:
        folder = await store.find_folder(user.id, default)
        if folder is None:
            raise ApiError(404, "unknown-folder", f"{user.address} has no {default.name} folder")
        return folder
    for folder in await store.list_folders(user.id):
        if folder.id == wanted or folder.name.lower() == wanted.lower():
            return folder
    raise ApiError(404, "unknown-folder", f"{user.address} has no folder {wanted!r}")


async def _add(request: web.Request, user: User, folder: Folder, item: NewItem) -> web.Response:
    if folder.item_class != item.item_class:
        raise ApiError(422, "invalid-field",
                       f"folder {folder.name!r} holds {folder.item_class}, not {item.item_class}")
    added = await request.app[SERVICES].store.add_item(user.id, folder.id, item)
    return ok({"server_id": added.server_id, "folder_id": added.folder_id,
               "subject": added.data.get("Subject") or added.data.get("FileAs")}, status=201)


async def post_message(request: web.Request) -> web.Response:
    body = await json_object(request, {"from", "subject", "body", "folder", "html"},
                             required={"subject"})
    user = await _user(request)
    folder = await _folder(request, user, string(body, "folder", max_len=256), FolderType.INBOX)
    sender = string(body, "from", max_len=320) or f"Easgate Admin <admin@{user.tenant}>"
    item = new_email(
        sender=sender, to=user.address, subject=string(body, "subject", max_len=998, empty=True) or "",
        text=string(body, "body", max_len=MAX_BODY, empty=True) or "",
        html=string(body, "html", max_len=MAX_BODY), date=request.app[SERVICES].clock.now(),
    )
    return await _add(request, user, folder, item)


async def post_event(request: web.Request) -> web.Response:
    body = await json_object(request, {"subject", "start", "end", "location", "all_day",
                                       "body", "folder"}, required={"subject", "start"})
    user = await _user(request)
    folder = await _folder(request, user, string(body, "folder", max_len=256),
                           FolderType.CALENDAR)
    start = timestamp(body["start"], "start")
    all_day = body.get("all_day", False)
    if not isinstance(all_day, bool):
        raise ApiError(422, "invalid-field", "all_day must be true or false")
    if all_day:
        start = start.replace(hour=0, minute=0, second=0, microsecond=0)
    default_end = start + (timedelta(days=1) if all_day else timedelta(hours=1))
    end = timestamp(body["end"], "end") if body.get("end") is not None else default_end
    if not start < end <= start + timedelta(days=MAX_EVENT_DAYS):
        raise ApiError(422, "invalid-field", "end must come after start, within a year")
    subject = string(body, "subject", max_len=255) or ""
    data: dict[str, Any] = {
        "Subject": subject, "StartTime": eas_compact_date(start),
        "EndTime": eas_compact_date(end),
        "DtStamp": eas_compact_date(request.app[SERVICES].clock.now()),
        "Timezone": UTC_TIMEZONE, "UID": secrets.token_hex(16).upper(),
        "AllDayEvent": 1 if all_day else 0, "BusyStatus": 0 if all_day else 2,
        "Sensitivity": 0, "MeetingStatus": 0, "Reminder": 15,
        "OrganizerName": user.display_name, "OrganizerEmail": user.address,
    }
    location = string(body, "location", max_len=255)
    if location:
        data["Location"] = location
    text = string(body, "body", max_len=MAX_BODY, empty=True) or subject
    return await _add(request, user, folder, NewItem("Calendar", data, body_text=text))


async def post_contact(request: web.Request) -> web.Response:
    fields = {"first_name": "FirstName", "last_name": "LastName", "email": "Email1Address",
              "mobile_phone": "MobilePhoneNumber", "business_phone": "BusinessPhoneNumber",
              "company": "CompanyName", "job_title": "JobTitle"}
    body = await json_object(request, set(fields) | {"folder"})
    user = await _user(request)
    folder = await _folder(request, user, string(body, "folder", max_len=256),
                           FolderType.CONTACTS)
    data = {tag: value for name, tag in fields.items()
            if (value := string(body, name, max_len=256))}
    if not any(k in data for k in ("FirstName", "LastName", "Email1Address")):
        raise ApiError(422, "missing-field", "a contact needs first_name, last_name or email")
    names = [data.get("LastName"), data.get("FirstName")]
    data["FileAs"] = ", ".join(n for n in names if n) or data["Email1Address"]
    return await _add(request, user, folder, NewItem("Contacts", data))
