"""The answers the gateway itself gives in proxy mode when the upstream cannot be used."""
from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

REASON_HEADER = "X-Easgate-Reason"  # as gateway/http's refusals
RETRY_AFTER_S = 30  # what a client waits before it comes back after a 503


class UpstreamRefusal(web.HTTPException):
    """Raised while authenticating: the client is to get this answer instead of a user.

    It is an aiohttp HTTP exception so that any handler that authenticates (autodiscover
    as much as the EAS endpoint) answers it as it stands; `response` gives a fresh copy for
    a handler that returns its refusals."""

    def __init__(self, status: int, reason: str, headers: Mapping[str, str] | None = None):
        self.status_code = status
        self.reason_line = " ".join(reason.split())[:200]
        self.extra_headers = dict(headers or {})
        super().__init__(headers={**self.extra_headers, REASON_HEADER: self.reason_line})

    def response(self) -> web.Response:
        response = web.Response(status=self.status_code)
        response.headers.update(self.extra_headers)
        response.headers[REASON_HEADER] = self.reason_line
        return response


def unavailable(reason: str) -> web.Response:
    """HTTP 503 with ``Retry-After``: the upstream did not answer (MS-ASHTTP 3.2.5.1 lets a
    client retry a 503 later)."""
    return UpstreamRefusal(503, f"upstream unavailable ({reason})",
                           {"Retry-After": str(RETRY_AFTER_S)}).response()
