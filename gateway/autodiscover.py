"""``POST /autodiscover/autodiscover.xml`` (any case): tells an authenticated client where
its ActiveSync endpoint is (MS-ASCMD 2.2.1.1, mobilesync schemas).

The endpoint URL is the configured ``public_url`` when there is one, else the scheme and
host the client used to reach us, so that a phone that found us by name keeps that name.
"""
from __future__ import annotations

import secrets

from aiohttp import web

from gateway.http import plain_response, throttled_response
from gateway.services import SERVICES
from gateway.throttle import Throttled
from protocol import autodiscover

ENDPOINT_PATH = "/Microsoft-Server-ActiveSync"


async def handle(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        user = await services.auth.authenticate(request.headers.get("Authorization"),
                                                request.remote)
    except Throttled as throttled:
        return throttled_response(throttled)
    if user is None:
        response = plain_response(401, "credentials missing or not accepted")
        response.headers["WWW-Authenticate"] = f'Basic realm="{services.config.realm}"'
        return response
    body = await request.read()
    try:
        asked = autodiscover.parse_request(body)
    except autodiscover.AutodiscoverError as exc:
        return _xml(autodiscover.build_error(exc.code, exc.message, **_error_stamp(services)))
    if asked.email.lower() != user.address.lower():
        # One account's credentials never reveal where another account lives.
        return _xml(autodiscover.build_error(
            autodiscover.INVALID_REQUEST, "Invalid Request", **_error_stamp(services)))
    return _xml(autodiscover.build_response(
        display_name=user.display_name, email=user.address,
        endpoint_url=_endpoint_url(request)))


def _endpoint_url(request: web.Request) -> str:
    public = request.app[SERVICES].config.public_url
    base = public.rstrip("/") if public else f"{request.scheme}://{request.host}"
    return base + ENDPOINT_PATH


def _error_stamp(services) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"time": services.clock.now().strftime("%H:%M:%S.%f")[:12],
            "error_id": str(secrets.randbelow(2**31))}


def _xml(body: bytes) -> web.Response:
    return web.Response(body=body, content_type=autodiscover.CONTENT_TYPE, charset="utf-8")
