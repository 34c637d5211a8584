"""One structured log line per EAS request, in logfmt::

    request command=Sync user=alice@contoso.com device=ABC123 status=200 eas_status=1 ms=12.4

Values come from clients (DeviceId, User-Agent), so they are quoted and escaped: a value
can never start a new line or forge another key. Answers of 5xx are logged as errors,
4xx as warnings, the rest at info; the logger's level is set from the configuration.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.exchange import Exchange

LOGGER_NAME = "easgate.requests"
_QUOTED = ' "=\\'  # characters that make a value need quotes


def logfmt(event: str, **fields: Any) -> str:
    parts = [event]
    for key, value in fields.items():
        if value is None or value == "":
            continue
        parts.append(f"{key}={_quote(value)}")
    return " ".join(parts)


def _quote(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}"
    text = str(value)
    if text.isprintable() and text and not any(c in text for c in _QUOTED):
        return text
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    escaped = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in escaped)
    return f'"{escaped}"'


def configure(level: str | int = "INFO") -> logging.Logger:
    """Set the request logger's level (``"DEBUG"``, ``"INFO"``, ``"WARNING"`` …)."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level.upper() if isinstance(level, str) else level)
    return logger


class RequestLogger:
    """The observer writing the line."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger(LOGGER_NAME)

    async def on_exchange(self, exchange: Exchange) -> None:
        status = exchange.response_status
        level = logging.ERROR if status >= 500 else logging.WARNING if status >= 400 else logging.INFO
        if not self.logger.isEnabledFor(level) or not self._heard(level):
            return
        line = logfmt(
            "request",
            command=exchange.command or "-",
            user=exchange.user_address,
            device=exchange.device_id,
            status=status,
            eas_status=exchange.eas_status,
            ms=exchange.duration_s * 1000,
        )
        # The record made directly: `Logger.log` would walk the stack to find its caller,
        # which is always this line.
        self.logger.handle(self.logger.makeRecord(
            self.logger.name, level, __file__, _LINE, line, None, None, "on_exchange"))

    def _heard(self, level: int) -> bool:
        """Whether a handler would receive the line: with none anywhere, logging drops
        records below WARNING (its last resort prints only those), so they need no making."""
        return level >= logging.WARNING or self.logger.hasHandlers()


_LINE = RequestLogger.on_exchange.__code__.co_firstlineno
