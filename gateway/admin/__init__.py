"""The operator's side of the gateway (SPEC §8): the admin REST API, the notice's choice
page, the admin page, ``/healthz`` and ``/metrics``.

``setup_admin(app)`` installs all of them on the gateway app (create_app calls it); the
admin page's setup also installs ``/metrics`` (gateway.observe).
"""
from __future__ import annotations

from aiohttp import web

from gateway.admin.api import setup_api
from gateway.admin.choice import setup_choice
from gateway.admin.faults_api import setup_faults_api
from gateway.admin.jsonapi import ApiRoutes
from gateway.admin.page import setup_admin_page
from gateway.services import SERVICES


def setup_admin(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    setup_api(app)
    setup_faults_api(app)
    setup_choice(app)
    setup_admin_page(app)
    ApiRoutes(app).add_fallback()  # after every route of the API


async def healthz(request: web.Request) -> web.Response:
    """200 once the store answers, 503 before (no token: load balancers call it)."""
    services = request.app.get(SERVICES)
    if services is not None and await services.store.ping():
        return web.json_response({"status": "ok"})
    return web.json_response({"status": "unavailable"}, status=503)
