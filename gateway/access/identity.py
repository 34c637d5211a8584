"""What a client says about itself on a request (SPEC §1, §3).

The dispatcher fills it from the command line (DeviceId, DeviceType), the User-Agent header,
the protocol version and, when the body carries one, the Provision or Settings
``DeviceInformation`` (Model, OS, FriendlyName …).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClientIdentity:
    device_id: str
    device_type: str
    user_agent: str
    protocol_version: str
    model: str | None = None
    os: str | None = None
    friendly_name: str | None = None
    imei: str | None = None
    phone_number: str | None = None
    mobile_operator: str | None = None
    os_language: str | None = None

    def device_information(self) -> dict[str, str]:
        """The DeviceInformation fields the client sent, by name (unsent ones left out)."""
        fields = {
            "model": self.model, "os": self.os, "friendly_name": self.friendly_name,
            "imei": self.imei, "phone_number": self.phone_number,
            "mobile_operator": self.mobile_operator, "os_language": self.os_language,
        }
        return {name: value for name, value in fields.items() if value}
