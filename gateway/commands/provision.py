"""Provision (MS-ASPROV 3.2.5): the two-phase download of the security policy.

1. Initial request — ``Policies/Policy/PolicyType`` (and, on 14.1+, the device's
   ``settings:DeviceInformation``): answered with the policy document and a *temporary*
   key, remembered as the device's ``pending_policy_key``.
2. Acknowledgment — the same Policy with the temporary ``PolicyKey`` and the client's
   ``Status``: answered with the *final* key, which the device sends as ``X-MS-PolicyKey``
   from then on (the dispatcher compares it with ``device.policy_key``).

A remote wipe (SPEC §8, MS-ASPROV 3.2.5.1.2.2; gateway/remote_wipe.py) turns any Provision
into the wipe directive — ``RemoteWipe``, or ``AccountOnlyRemoteWipe`` when only the account
is to go (16.1) — and a wiped device hears it again whenever it comes back; the client's
acknowledgment (``RemoteWipe/Status`` or ``AccountOnlyRemoteWipe/Status``) is recorded.
Reading the DeviceInformation is the access service's job (it sees it before deciding);
this command only answers its Status.
"""
from __future__ import annotations

from lxml import etree

from gateway import remote_wipe
from gateway.commands.base import CommandContext, CommandResult
from gateway.deviceinfo import find_device_information
from gateway.errors import CommandFailure
from protocol import versions
from protocol.policy import POLICY_TYPE, new_policy_key, provision_doc
from protocol.status import PolicyStatus, ProvisionStatus, SettingsStatus
from protocol.xml import E, child, sub, text
from store import Device


async def handle(ctx: CommandContext) -> CommandResult:
    document = ctx.document
    if document is None:
        raise CommandFailure(ProvisionStatus.PROTOCOL_ERROR, "empty Provision")
    if child(document, "Provision:RemoteWipe") is not None or child(
            document, "Provision:AccountOnlyRemoteWipe") is not None:
        return await _wipe_acknowledged(ctx, document)
    if ctx.device.wipe != "none":
        return CommandResult(document=_wipe_directive(ctx.device))
    policy = _policy(document)
    if policy is None:
        raise CommandFailure(ProvisionStatus.PROTOCOL_ERROR, "no Policies/Policy")
    answer = _answer_head(ctx, document)
    if text(policy, "Provision:PolicyKey") is None:
        await _initial(ctx, policy, answer)
    else:
        await _acknowledgment(ctx, policy, answer)
    return CommandResult(document=answer)


def _policy(document: etree._Element) -> etree._Element | None:
    policies = child(document, "Provision:Policies")
    return child(policies, "Provision:Policy") if policies is not None else None


def _answer_head(ctx: CommandContext, document: etree._Element) -> etree._Element:
    """``<Provision>`` with the DeviceInformation status (14.1+, when the client sent it)
    and the Provision status."""
    answer = E("Provision:Provision")
    if find_device_information(document) is not None and versions.at_least(ctx.version, "14.1"):
        sub(sub(answer, "Settings:DeviceInformation"), "Settings:Status",
            int(SettingsStatus.SUCCESS))
    sub(answer, "Provision:Status", int(ProvisionStatus.SUCCESS))
    return answer


async def _initial(ctx: CommandContext, policy: etree._Element, answer: etree._Element) -> None:
    policy_type = text(policy, "Provision:PolicyType")
    answered = sub(sub(answer, "Provision:Policies"), "Provision:Policy")
    sub(answered, "Provision:PolicyType", policy_type or "")
    if policy_type != POLICY_TYPE:
        sub(answered, "Provision:Status", int(PolicyStatus.UNKNOWN_POLICY_TYPE))
        return
    temporary = new_policy_key(ctx.device.policy_key)
    await ctx.services.store.update_device(ctx.device.id, pending_policy_key=temporary)
    sub(answered, "Provision:Status", int(PolicyStatus.SUCCESS))
    sub(answered, "Provision:PolicyKey", temporary)
    sub(answered, "Provision:Data").append(provision_doc())


async def _acknowledgment(ctx: CommandContext, policy: etree._Element,
                          answer: etree._Element) -> None:
    """The client applied (or reports on) the policy of the temporary key it names. Our
    policy demands nothing to enforce, so any client status is accepted, as Exchange does
    with AllowNonProvisionableDevices; a key that is not the one we issued is Status 5."""
    acknowledged = text(policy, "Provision:PolicyKey")
    answered = sub(sub(answer, "Provision:Policies"), "Provision:Policy")
    sub(answered, "Provision:PolicyType", text(policy, "Provision:PolicyType") or POLICY_TYPE)
    if not ctx.device.pending_policy_key or acknowledged != ctx.device.pending_policy_key:
        sub(answered, "Provision:Status", int(PolicyStatus.WRONG_POLICY_KEY))
        return
    final = new_policy_key(acknowledged)
    await ctx.services.store.update_device(ctx.device.id, policy_key=final,
                                           pending_policy_key=None)
    sub(answered, "Provision:Status", int(PolicyStatus.SUCCESS))
    sub(answered, "Provision:PolicyKey", final)


# --- remote wipe -----------------------------------------------------------------------------
def _wipe_directive(device: Device) -> etree._Element:
    """The wipe order: the whole device, or only this account (AccountOnlyRemoteWipe, which
    an operator can only order for a 16.1 device)."""
    answer = E("Provision:Provision", E("Provision:Status", int(ProvisionStatus.SUCCESS)))
    account_only = remote_wipe.ordered_account_only(device)
    sub(answer, "Provision:AccountOnlyRemoteWipe" if account_only else "Provision:RemoteWipe")
    return answer


async def _wipe_acknowledged(ctx: CommandContext, document: etree._Element) -> CommandResult:
    element = child(document, "Provision:RemoteWipe")
    account_only = element is None
    if element is None:
        element = child(document, "Provision:AccountOnlyRemoteWipe")
    await remote_wipe.acknowledge(ctx.services, ctx.device, account_only=account_only,
                                  status=text(element, "Provision:Status"))
    return CommandResult(document=E("Provision:Provision",
                                    E("Provision:Status", int(ProvisionStatus.SUCCESS))))
