"""``GET /admin/api/v1/devices/{pk}/trace``: a device's last exchanges, decoded, newest last.

The entries are those of the trace book (`gateway.observe.traces`), already free of
credentials; the bearer token is checked as on every route under ``/admin/api/``
(`jsonapi.ApiRoutes`).
"""
from __future__ import annotations

from aiohttp import web

from gateway.admin.jsonapi import ApiError, ApiRoutes, ok, path_int
from gateway.observe import OBSERVE
from gateway.services import SERVICES
from store.api import NotFound

ROUTE = "/admin/api/v1/devices/{pk}/trace"


def setup_trace_api(app: web.Application) -> None:
    ApiRoutes(app).add_get(ROUTE, get_trace)


async def get_trace(request: web.Request) -> web.Response:
    pk = path_int(request, "pk")
    try:
        await request.app[SERVICES].store.get_device_by_pk(pk)
    except NotFound:
        raise ApiError(404, "unknown-device", f"no device {pk}") from None
    return ok([entry.as_json() for entry in request.app[OBSERVE].traces.entries(pk)])
