"""Why an access operation was refused, each with the HTTP status the admin API answers."""
from __future__ import annotations


class AccessError(Exception):
    status = 400
    error = "bad-request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidSetting(AccessError):
    status = 422
    error = "invalid-setting"


class SettingUnavailable(AccessError):
    """The tenant is managed elsewhere (Intune, EAC rules): the setting cannot change."""

    status = 409
    error = "setting-unavailable"


class NotManagedInEac(AccessError):
    status = 409
    error = "not-managed-in-eac"


class ChoiceNotOpen(AccessError):
    """A choice for a device that is not waiting for one."""

    status = 409
    error = "no-open-choice"


class UnknownDevice(AccessError):
    status = 404
    error = "unknown-device"


class UnknownTenant(AccessError):
    status = 404
    error = "unknown-tenant"


class UnknownToken(AccessError):
    status = 404
    error = "unknown-token"


class ChoiceUsed(AccessError):
    status = 409
    error = "choice-already-made"


class ChoiceExpired(AccessError):
    status = 410
    error = "choice-expired"
