"""The security policy a Provision answer carries (MS-ASPROV 2.2.2.28 EASProvisionDoc).

easgate simulates a tenant's *access* setting, not device management: its policy asks for
nothing a phone must enforce (no password, no encryption), which is what Exchange Online's
default mobile device mailbox policy sends. Every element is written, in schema order, so a
client that checks for them finds them; an element left empty means "no limit".
"""
from __future__ import annotations

import secrets

from lxml import etree

from protocol.xml import E, sub

POLICY_TYPE = "MS-EAS-Provisioning-WBXML"  # the only PolicyType of 12.0 and later

# (element, value) in the order of the EASProvisionDoc schema; None writes an empty element.
DEFAULT_POLICY: tuple[tuple[str, str | None], ...] = (
    ("DevicePasswordEnabled", "0"),
    ("AlphanumericDevicePasswordRequired", "0"),
    ("PasswordRecoveryEnabled", "0"),
    ("RequireStorageCardEncryption", "0"),
    ("AttachmentsEnabled", "1"),
    ("MinDevicePasswordLength", None),
    ("MaxInactivityTimeDeviceLock", None),
    ("MaxDevicePasswordFailedAttempts", None),
    ("MaxAttachmentSize", None),
    ("AllowSimpleDevicePassword", "1"),
    ("DevicePasswordExpiration", None),
    ("DevicePasswordHistory", "0"),
    ("AllowStorageCard", "1"),
    ("AllowCamera", "1"),
    ("RequireDeviceEncryption", "0"),
    ("AllowUnsignedApplications", "1"),
    ("AllowUnsignedInstallationPackages", "1"),
    ("MinDevicePasswordComplexCharacters", "1"),
    ("AllowWiFi", "1"),
    ("AllowTextMessaging", "1"),
    ("AllowPOPIMAPEmail", "1"),
    ("AllowBluetooth", "2"),  # 2 = allow
    ("AllowIrDA", "1"),
    ("RequireManualSyncWhenRoaming", "0"),
    ("AllowDesktopSync", "1"),
    ("MaxCalendarAgeFilter", "0"),  # 0 = all
    ("AllowHTMLEmail", "1"),
    ("MaxEmailAgeFilter", "0"),
    ("MaxEmailBodyTruncationSize", "-1"),  # -1 = no truncation
    ("MaxEmailHTMLBodyTruncationSize", "-1"),
    ("RequireSignedSMIMEMessages", "0"),
    ("RequireEncryptedSMIMEMessages", "0"),
    ("RequireSignedSMIMEAlgorithm", "0"),
    ("RequireEncryptionSMIMEAlgorithm", "0"),
    ("AllowSMIMEEncryptionAlgorithmNegotiation", "2"),  # 2 = any algorithm
    ("AllowSMIMESoftCerts", "1"),
    ("AllowBrowser", "1"),
    ("AllowConsumerEmail", "1"),
    ("AllowRemoteDesktop", "1"),
    ("AllowInternetSharing", "1"),
    ("UnapprovedInROMApplicationList", None),
    ("ApprovedApplicationList", None),
)


def provision_doc(policy: tuple[tuple[str, str | None], ...] = DEFAULT_POLICY) -> etree._Element:
    """``<EASProvisionDoc>`` with one element per setting."""
    document = E("Provision:EASProvisionDoc")
    for name, value in policy:
        sub(document, f"Provision:{name}", value)
    return document


def new_policy_key(previous: str | None = None) -> str:
    """A fresh policy key: the string form of a non-zero 32-bit unsigned integer
    (MS-ASPROV 2.2.2.42), never equal to ``previous``."""
    while True:
        key = str(secrets.randbelow(2**32 - 1) + 1)
        if key != previous:
            return key
