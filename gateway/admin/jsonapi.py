"""The admin API's plumbing: bearer-token check, JSON bodies in, JSON answers and errors out.

Every route under ``/admin/api/`` needs ``Authorization: Bearer <admin token>``: none gives
401 (with ``WWW-Authenticate: Bearer``), a wrong one 403. Every error is a JSON object
``{"error": <code>, "detail": <sentence>}`` with a 4xx status — also aiohttp's own 404 and
405 for these paths — and never a traceback.
"""
from __future__ import annotations

import functools
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from gateway.access.errors import AccessError
from gateway.clock import ClockBackwards, ClockError
from gateway.services import SERVICES
from protocol.numbers import whole_number
from store.api import Conflict, NotFound, StoreError

API_PREFIX = "/admin/api/"
log = logging.getLogger("easgate.admin")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


def error_response(status: int, error: str, detail: str,
                   headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": error, "detail": detail}, status=status,
                             headers=headers)


def ok(value: Any, status: int = 200) -> web.Response:
    return web.json_response(value, status=status, dumps=_dumps)


class ApiRoutes:
    """Adds the admin API's routes, each behind the bearer-token check and the JSON error
    answers. Per route rather than a middleware: an app with any middleware runs two more
    coroutine frames for every request, and a held Ping keeps them for as long as it waits
    (thousands of held Pings: MiBs). `add_fallback` must come after the last route."""

    def __init__(self, app: web.Application) -> None:
        self._router = app.router

    def add(self, method: str, path: str, handler: Handler) -> None:
        if not path.startswith(API_PREFIX):
            raise ValueError(f"{path} is not under {API_PREFIX}")
        self._router.add_route(method, path, api_handler(handler))

    def add_get(self, path: str, handler: Handler) -> None:
        self.add("GET", path, handler)

    def add_post(self, path: str, handler: Handler) -> None:
        self.add("POST", path, handler)

    def add_put(self, path: str, handler: Handler) -> None:
        self.add("PUT", path, handler)

    def add_delete(self, path: str, handler: Handler) -> None:
        self.add("DELETE", path, handler)

    def add_fallback(self) -> None:
        """Any other path under the prefix, any method: a JSON 404, or 405 with ``Allow``
        when the path has routes for other methods (aiohttp's own would be plain text)."""
        self._router.add_route("*", API_PREFIX + "{tail:.*}", api_handler(_no_such_route))


def api_handler(handler: Handler) -> Handler:
    """``handler`` behind the token check, its failures as JSON errors, never a traceback."""
    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        refusal = _check_token(request)
        if refusal is not None:
            return refusal
        try:
            return await handler(request)
        except Exception as exc:
            answer = _error_answer(request, exc)
            if answer is None:
                raise
            return answer

    return guarded


def _error_answer(request: web.Request, exc: Exception) -> web.Response | None:
    """The JSON answer to a failure of an admin API handler; None to let it through."""
    if isinstance(exc, ApiError | AccessError):
        return error_response(exc.status, exc.error, exc.detail)
    if isinstance(exc, ClockBackwards):
        return error_response(409, "clock-backwards", str(exc))
    if isinstance(exc, ClockError):
        return error_response(422, "invalid-clock", str(exc))
    if isinstance(exc, NotFound):
        return error_response(404, "not-found", str(exc))
    if isinstance(exc, Conflict):
        return error_response(409, "conflict", str(exc))
    if isinstance(exc, StoreError):
        log.error("admin API store error on %s %s: %s", request.method, request.path, exc)
        return error_response(503, "store-unavailable", "the store did not answer")
    if isinstance(exc, web.HTTPException) and exc.status >= 400:
        return error_response(exc.status, _slug(exc.reason), f"{request.method} "
                              f"{request.path}: {exc.reason.lower()}", headers=_allow(exc))
    return None


def _allow(exc: web.HTTPException) -> dict[str, str] | None:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else None


async def _no_such_route(request: web.Request) -> web.StreamResponse:
    allowed: set[str] = set()  # the methods of other routes of this path, if it has any
    for resource in request.app.router.resources():
        if resource is not request.match_info.route.resource:
            match, methods = await resource.resolve(request)
            if match is None:
                allowed |= methods
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, sorted(allowed))
    raise web.HTTPNotFound()


def _check_token(request: web.Request) -> web.Response | None:
    expected = request.app[SERVICES].config.admin_token or ""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return error_response(401, "unauthorized", "send Authorization: Bearer <admin token>",
                              headers={"WWW-Authenticate": 'Bearer realm="easgate admin"'})
    if not expected or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        return error_response(403, "forbidden", "the admin token is not valid")
    return None


# --- reading requests ------------------------------------------------------------------
async def json_object(request: web.Request, allowed: set[str],
                      required: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    """The body as a JSON object with only ``allowed`` keys and every ``required`` one."""
    try:
        body = await request.json(loads=json.loads)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad-json", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad-json", "the body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(400, "unknown-field", f"unknown field(s): {', '.join(unknown)}; "
                       f"allowed: {', '.join(sorted(allowed))}")
    missing = sorted(required - set(body))
    if missing:
        raise ApiError(400, "missing-field", f"missing field(s): {', '.join(missing)}")
    return body


def string(body: dict[str, Any], name: str, *, max_len: int = 1000,
           choices: tuple[str, ...] | None = None, empty: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_len or (not empty and not value.strip()):
        raise ApiError(422, "invalid-field", f"{name} must be a non-empty string of at most "
                       f"{max_len} characters")
    if choices is not None and value not in choices:
        raise ApiError(422, "invalid-field", f"{name} must be one of {', '.join(choices)}")
    return value


def integer(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(422, "invalid-field", f"{name} must be a whole number")
    return value


def timestamp(value: Any, name: str) -> datetime:
    """An ISO 8601 time with a UTC offset (``Z`` allowed)."""
    if not isinstance(value, str):
        raise ApiError(422, "invalid-field", f"{name} must be an ISO 8601 time")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(422, "invalid-field", f"{name} is not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise ApiError(422, "invalid-field", f"{name} needs a UTC offset, e.g. "
                       "2026-11-20T09:00:00Z")
    return moment.astimezone(UTC)


def path_int(request: web.Request, name: str) -> int:
    number = whole_number(request.match_info[name])
    if number is None:
        raise ApiError(404, "not-found", f"no {name} {request.match_info[name]!r}")
    return number


# --- writing answers ---------------------------------------------------------------------
def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_default, ensure_ascii=False)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _slug(reason: str) -> str:
    return reason.lower().replace(" ", "-")
