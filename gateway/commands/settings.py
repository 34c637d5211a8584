"""Settings (MS-ASCMD 2.2.1.18): out-of-office, device information, the device's
recovery password, the user's addresses and (14.1+) rights-management templates.

Each request child is answered by one child with its own Status, in the order asked; the
top-level Status is 1 unless the document holds something Settings does not know (2).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from lxml import etree

from gateway.commands.base import CommandContext, CommandResult
from gateway.oof import OofError, read_set, write_get
from protocol import versions
from protocol.status import SettingsStatus
from protocol.xml import E, child, local_name, page_name, sub, text

Part = Callable[[CommandContext, etree._Element], Awaitable[etree._Element]]


async def handle(ctx: CommandContext) -> CommandResult:
    document = ctx.document
    if document is None or not len(document):
        return _answer(SettingsStatus.PROTOCOL_ERROR)
    parts: list[tuple[Part, etree._Element]] = []
    for request in document:
        part = _PARTS.get(_name(request))
        if part is None:
            return _answer(SettingsStatus.PROTOCOL_ERROR)
        parts.append((part, request))
    answer = E("Settings:Settings", E("Settings:Status", int(SettingsStatus.SUCCESS)))
    for part, request in parts:
        answer.append(await part(ctx, request))
    return CommandResult(document=answer)


def _answer(status: int) -> CommandResult:
    return CommandResult(document=E("Settings:Settings", E("Settings:Status", int(status))))


def _name(element: etree._Element) -> str:
    if not isinstance(element.tag, str) or page_name(element) != "Settings":
        return ""
    return local_name(element)


def _with_status(tag: str, status: int) -> etree._Element:
    return E(f"Settings:{tag}", E("Settings:Status", int(status)))


# --- Oof ----------------------------------------------------------------------------------
async def _oof(ctx: CommandContext, request: etree._Element) -> etree._Element:
    get, put = child(request, "Settings:Get"), child(request, "Settings:Set")
    if (get is None) == (put is None):
        return _with_status("Oof", SettingsStatus.PROTOCOL_ERROR)
    store = ctx.services.store
    user = await store.get_user_by_id(ctx.user.id)  # fresh: the login cache may be older
    if put is not None:
        try:
            stored = read_set(put, user.oof)
        except OofError as exc:
            return _with_status("Oof", exc.status)
        await store.update_user(user.id, oof=stored)
        return _with_status("Oof", SettingsStatus.SUCCESS)
    answer = _with_status("Oof", SettingsStatus.SUCCESS)
    try:
        answer.append(write_get(user.oof, text(get, "Settings:BodyType", "Text") or "Text"))
    except OofError as exc:
        return _with_status("Oof", exc.status)
    return answer


# --- DeviceInformation, DevicePassword ------------------------------------------------------
async def _device_information(ctx: CommandContext, request: etree._Element) -> etree._Element:
    """The fields themselves were read by the access service before this command ran
    (they may decide the app); here the client only learns they were taken."""
    if child(request, "Settings:Set") is None:
        return _with_status("DeviceInformation", SettingsStatus.PROTOCOL_ERROR)
    return _with_status("DeviceInformation", SettingsStatus.SUCCESS)


async def _device_password(ctx: CommandContext, request: etree._Element) -> etree._Element:
    """A recovery password the device escrows with the server. We note that one was set
    and when, never the password itself: nothing in easgate reads it back, and traces and
    admin views must not show secrets."""
    put = child(request, "Settings:Set")
    if put is None or text(put, "Settings:Password") is None:
        return _with_status("DevicePassword", SettingsStatus.PROTOCOL_ERROR)
    now = ctx.services.clock.now()
    await ctx.services.store.update_device(
        ctx.device.id, extra={"recovery_password_set_at": now.isoformat()})
    return _with_status("DevicePassword", SettingsStatus.SUCCESS)


# --- UserInformation, RightsManagementInformation ------------------------------------------
async def _user_information(ctx: CommandContext, request: etree._Element) -> etree._Element:
    if child(request, "Settings:Get") is None:
        return _with_status("UserInformation", SettingsStatus.PROTOCOL_ERROR)
    answer = _with_status("UserInformation", SettingsStatus.SUCCESS)
    get = sub(answer, "Settings:Get")
    if versions.at_least(ctx.version, "14.1"):
        # 14.1 groups the addresses by account and names the primary one.
        account = sub(sub(get, "Settings:Accounts"), "Settings:Account")
        sub(account, "Settings:UserDisplayName", ctx.user.display_name)
        addresses = sub(account, "Settings:EmailAddresses")
        sub(addresses, "Settings:SmtpAddress", ctx.user.address)
        sub(addresses, "Settings:PrimarySmtpAddress", ctx.user.address)
    else:
        sub(sub(get, "Settings:EmailAddresses"), "Settings:SmtpAddress", ctx.user.address)
    return answer


async def _rights_management(ctx: CommandContext, request: etree._Element) -> etree._Element:
    """No IRM templates in a simulated tenant: an empty, successful list (14.1+)."""
    if not versions.at_least(ctx.version, "14.1") or child(request, "Settings:Get") is None:
        return _with_status("RightsManagementInformation", SettingsStatus.PROTOCOL_ERROR)
    answer = _with_status("RightsManagementInformation", SettingsStatus.SUCCESS)
    sub(sub(answer, "Settings:Get"), "RightsManagement:RightsManagementTemplates")
    return answer


_PARTS: dict[str, Part] = {
    "Oof": _oof,
    "DeviceInformation": _device_information,
    "DevicePassword": _device_password,
    "UserInformation": _user_information,
    "RightsManagementInformation": _rights_management,
}
