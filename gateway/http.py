"""The ActiveSync endpoint: one request from the wire to a command and back.

The order of the checks is the contract (docs/architecture.md, SPEC §7):

1. credentials (HTTP 401 with ``WWW-Authenticate`` when missing or wrong, unknown user
   included: the answer does not say which);
2. the request line (`protocol.request.parse_request`): HTTP 400 for a missing or bad
   DeviceId/DeviceType, a missing or unsupported version or a query that does not decode,
   HTTP 501 for a command we do not serve. DeviceId and DeviceType are answered with HTTP
   400 rather than Status 108/109 because without them there is no device to decide access
   for, and the access decision must come before any command-level answer; Exchange, too,
   refuses such a request line before it reaches a command;
3. the body: HTTP 413 over ``max_body_bytes``; malformed WBXML is Status 102 on 14.0+
   (HTTP 400 on 12.1); WBXML that is not the command's document is the command's own
   protocol-error status;
4. the access decision (`services.access.on_request`): a blocked device gets Status 129
   (HTTP 403 on 12.1), whatever the command, Provision and Ping included;
5. fault injection (`gateway.faults`): a rule that fires may answer in the command's place
   or alter the answer on its way out (delay, cut, corrupt, drop the connection);
6. the provisioning check: a pending remote wipe 140 for every command but Provision; no
   key Status 142, a wrong key 144 (HTTP 449 on 12.1), Provision and Ping exempt;
7. the command, over a `MailboxView`; its document is encoded to WBXML.

In proxy mode (gateway/proxy) the upstream checks the credentials of step 1, and after
step 5 an allowed device's request is passed to the upstream instead of steps 6 and 7.

Every answer carries ``MS-Server-ActiveSync`` (added in gateway/app.py for every response),
and every exchange is handed to ``services.observers``. An unexpected exception is one
logged line and a bare HTTP 500; a database with no connection free in time is HTTP 503
with ``Retry-After``. A client that hangs up before its answer (its held Ping included: the
runner cancels the handler, gateway/limits.py) is recorded with the status 499 and not
answered.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Mapping

from aiohttp import web
from lxml import etree

from gateway import commands, faults, limits, proxy
from gateway.access import ClientIdentity
from gateway.commands.base import CommandContext, CommandResult, Held
from gateway.config import Config
from gateway.deviceinfo import find_device_information, read_device_information
from gateway.errors import (
    TOP_LEVEL,
    CommandFailure,
    failure_answer,
    protocol_error_status,
)
from gateway.exchange import Exchange
from gateway.mailbox import MailboxView
from gateway.services import SERVICES, Services
from gateway.throttle import Throttled
from protocol import versions, wbxml
from protocol.request import EASRequest, RequestError, parse_request
from protocol.status import GlobalStatus
from protocol.xml import local_name, page_name, top_status
from store import Device, StoreBusy, User

log = logging.getLogger("easgate.http")

WBXML_CONTENT_TYPE = "application/vnd.ms-sync.wbxml"
REASON_HEADER = "X-Easgate-Reason"  # one short line saying why a request was refused
BUSY_RETRY_AFTER_S = 5  # Retry-After of a 503 (the database pool had no connection free)
# What the record of a request says when its client hung up before the answer (nginx's
# 499 "client closed request"; never sent, there is no one left to send it to).
CLIENT_CLOSED = 499

# Commands a device may send before it holds a policy key (MS-ASPROV 3.2.5: Provision is
# how it gets one; Ping is exempt as in Z-Push and grommunio-sync, so that a held Ping
# across a policy change ends normally and the next Sync asks for the new policy).
PROVISIONING_EXEMPT = frozenset({"Provision", "Ping"})

# 12.1 clients post these commands' messages as raw MIME (message/rfc822), not WBXML.
_MIME_BODY_COMMANDS = frozenset({"SendMail", "SmartReply", "SmartForward"})


class Refusal(Exception):
    """The request is answered before reaching its command (the chain of checks above)."""

    def __init__(self, response: web.StreamResponse, document: etree._Element | None = None):
        super().__init__(response.status)
        self.response = response
        self.document = document  # the status document sent, for the observers


async def activesync(request: web.Request) -> web.StreamResponse:
    """The aiohttp handler for ``/Microsoft-Server-ActiveSync`` (any case, POST and OPTIONS)."""
    services = request.app[SERVICES]
    exchange = Exchange(
        method=request.method,
        path=request.path,
        query=request.query_string,
        request_headers=request.headers,
        started_at=services.clock.now(),
    )
    started = time.perf_counter()
    hung_up: BaseException | None = None
    try:
        response = await _serve(request, services, exchange)
        if isinstance(response, Held):
            # Awaited here, once `_serve` has returned: a held request keeps what its wait
            # needs, not the request's body, document and records (nor another frame).
            held, set_aside = response, _set_aside_request_document(exchange)
            try:
                result = await held.answer
            finally:  # answered, or the client hung up: recorded either way
                _restore_request_document(exchange, set_aside)
            response = _command_response(exchange, result)
    except Refusal as refusal:
        response = refusal.response
        exchange.response_document = refusal.document
        exchange.eas_status = top_status(refusal.document)
    except CommandFailure as failure:  # from a held command's wait (`_run` answers the rest)
        assert exchange.command is not None and exchange.protocol_version is not None
        result = _failure_result(exchange.command, exchange.protocol_version, failure)
        response = _command_response(exchange, result)
    except StoreBusy as busy:  # every database connection taken: the client comes back later
        exchange.error = _one_line(busy)
        response = busy_response()
    except (ConnectionResetError, asyncio.CancelledError) as closed:
        if not _client_gone(request):
            raise  # the server is stopping, or a failure of ours: not the client's doing
        exchange.error = "the client closed the connection"
        if isinstance(closed, asyncio.CancelledError):  # runner option handler_cancellation
            hung_up = closed
        response = web.Response(status=CLIENT_CLOSED)  # for the record: nobody to send it to
    except Exception as exc:  # the one place an unexpected failure becomes an answer
        exchange.error = _one_line(exc)
        log.error("%s %s %s: unexpected %s", exchange.command or "-",
                  exchange.user_address or "-", exchange.device_id or "-", exchange.error)
        response = plain_response(500, "internal server error")
    exchange.response_status = response.status
    exchange.response_headers = dict(response.headers)
    exchange.response_wbxml = _wbxml_body(response, exchange)
    if exchange.fault is not None:
        response = await exchange.fault.deliver(request, response, exchange)
    exchange.duration_s = time.perf_counter() - started
    await _tell_observers(services, exchange)
    if hung_up is not None:
        raise hung_up  # a cancelled task ends cancelled
    return response


def _set_aside_request_document(exchange: Exchange) -> bool:
    """While a request is held its exchange keeps the request as the WBXML it came in (a few
    dozen bytes), not its tree (a KiB and a half of libxml2 memory); whether it had one."""
    had_one, exchange.request_document = exchange.request_document is not None, None
    return had_one


def _restore_request_document(exchange: Exchange, had_one: bool) -> None:
    """The document decoded again for the observers, once the answer is known."""
    if had_one:
        exchange.request_document = wbxml.decode(exchange.request_body)


async def _serve(request: web.Request, services: Services, exchange: Exchange
                 ) -> web.StreamResponse | Held:
    user = await _authenticate(request, services)
    exchange.user_address = user.address
    if request.method == "OPTIONS":
        exchange.command = "OPTIONS"
        return await proxy.options(request, exchange) or options_response()
    eas = _parse(request)
    _note_request(exchange, eas)
    eas = _served_command(eas)
    exchange.command = eas.command
    body = await _read_body(request, services.config)
    exchange.request_body = body
    document = _decode(eas, request, body)
    exchange.request_document = document
    device = await services.access.on_request(user, _identity(eas, document))
    exchange.device_pk = device.id
    _check_access(eas, device)
    exchange.fault = await faults.consult(request.app, exchange)
    if exchange.fault is not None:
        replaced = await exchange.fault.before_command(eas, services, device)
        if replaced is not None:
            raise Refusal(replaced.response, replaced.document)
    passed = await proxy.pass_through(request, exchange, eas=eas, body=body, document=document,
                                      user=user, device=device)
    if passed is not None:  # proxy mode: an allowed device is answered by the upstream
        return passed
    _check_provisioning(eas, device)
    result = await _run(eas, document, body, user, device, services)
    if isinstance(result, Held):
        return result
    return _command_response(exchange, result)


def _command_response(exchange: Exchange, result: CommandResult) -> web.Response:
    exchange.notes.update(result.trace_note)
    exchange.response_document = result.document
    exchange.eas_status = top_status(result.document)
    response = result_response(result)
    exchange.response_body_size = len(response.body or b"") if isinstance(response, web.Response) else 0
    return response


# --- the checks, in order ------------------------------------------------------------------
async def _authenticate(request: web.Request, services: Services) -> User:
    try:
        user = await services.auth.authenticate(request.headers.get("Authorization"),
                                                request.remote)
    except Throttled as throttled:  # too many failed logins (gateway/throttle.py)
        raise Refusal(throttled_response(throttled)) from None
    except proxy.UpstreamRefusal as refusal:  # proxy mode: refused upstream, or no upstream
        raise Refusal(refusal.response()) from None
    if user is None:
        response = plain_response(401, "credentials missing or not accepted")
        response.headers["WWW-Authenticate"] = f'Basic realm="{services.config.realm}"'
        raise Refusal(response)
    return user


def _parse(request: web.Request) -> EASRequest:
    try:
        return parse_request(request.method, request.path, request.query_string, request.headers)
    except RequestError as exc:
        raise Refusal(plain_response(exc.http_status, exc.reason)) from None


def _served_command(eas: EASRequest) -> EASRequest:
    command = commands.canonical(eas.command)
    if command is None:
        raise Refusal(plain_response(501, f"command {eas.command[:40]} is not served"))
    eas = dataclasses.replace(eas, command=command)
    if not commands.supports(command, eas.protocol_version):
        raise _failure(eas, GlobalStatus.COMMAND_NOT_SUPPORTED, "not in this protocol version")
    return eas


async def _read_body(request: web.Request, config: Config) -> bytes:
    try:
        return await limits.read_body(request, limit=config.max_body_bytes,
                                      grace_s=config.client_body_timeout_s,
                                      min_rate=config.client_body_min_rate)
    except limits.BodyTooLarge:
        raise Refusal(plain_response(413, f"body over {config.max_body_bytes} bytes")) from None
    except limits.BodyTooSlow:
        response = plain_response(408, "the body came too slowly")
        response.force_close()
        raise Refusal(response) from None


def _decode(eas: EASRequest, request: web.Request, body: bytes) -> etree._Element | None:
    if not body or not _is_wbxml(eas, request):
        return None
    try:
        document = wbxml.decode(body)
    except wbxml.WBXMLError as exc:
        raise _failure(eas, GlobalStatus.INVALID_WBXML, f"malformed WBXML: {exc}") from None
    expected = TOP_LEVEL.get(eas.command, (None,))[0]
    if expected is not None and f"{page_name(document)}:{local_name(document)}" != expected:
        raise _failure(eas, protocol_error_status(eas.command), f"body is not a {expected}")
    return document


def _is_wbxml(eas: EASRequest, request: web.Request) -> bool:
    if _media_type(request.headers) == "message/rfc822":
        return False
    return not (eas.command in _MIME_BODY_COMMANDS
                and not versions.at_least(eas.protocol_version, "14.0"))


def _media_type(headers: Mapping[str, str]) -> str:
    """The Content-Type without its parameters, read from the header rather than through
    ``content_type``, whose parse aiohttp keeps on the request or response (most of a KiB;
    a held Ping's request lives on, and so does the connection's previous answer)."""
    return headers.get("Content-Type", "").partition(";")[0].strip().lower()


def _identity(eas: EASRequest, document: etree._Element | None) -> ClientIdentity:
    info = read_device_information(find_device_information(document))
    stated_agent = info.pop("user_agent", "")  # the header is what SPEC §3 classifies by
    return ClientIdentity(
        device_id=eas.device_id,
        device_type=eas.device_type,
        user_agent=eas.user_agent or stated_agent,
        protocol_version=eas.protocol_version,
        **info,
    )


def _check_access(eas: EASRequest, device: Device) -> None:
    if device.state == "blocked":
        raise _failure(eas, GlobalStatus.DEVICE_IS_BLOCKED_FOR_THIS_USER, "device is blocked")


def _check_provisioning(eas: EASRequest, device: Device) -> None:
    if device.wipe != "none" and eas.command != "Provision":
        # The client must Provision to receive the wipe directive (MS-ASPROV 3.2.5.1.2.2);
        # a held Ping is no exception, or a device in its Ping loop would never hear it.
        raise _failure(eas, GlobalStatus.REMOTE_WIPE_REQUESTED, "remote wipe requested")
    if eas.command in PROVISIONING_EXEMPT:
        return
    if eas.policy_key is None:
        raise _failure(eas, GlobalStatus.DEVICE_NOT_PROVISIONED, "no policy key")
    if eas.policy_key != device.policy_key:
        raise _failure(eas, GlobalStatus.INVALID_POLICY_KEY, "policy key not current")


async def _run(eas: EASRequest, document: etree._Element | None, body: bytes, user: User,
               device: Device, services: Services) -> CommandResult | Held:
    mailbox = await MailboxView.load(services, user, device)
    context = CommandContext(request=eas, document=document, user=user, device=device,
                             services=services, mailbox=mailbox, body=body)
    try:
        return await commands.handler(eas.command)(context)
    except CommandFailure as failure:
        return _failure_result(eas.command, eas.protocol_version, failure)


def _failure_result(command: str, version: str, failure: CommandFailure) -> CommandResult:
    answer = failure_answer(command, failure.status, version, http_status=failure.http_status)
    return CommandResult(document=answer.document, http_status=answer.http_status,
                         trace_note={"failure": failure.reason} if failure.reason else {})


# --- answers -------------------------------------------------------------------------------
def _failure(eas: EASRequest, status: int, reason: str) -> Refusal:
    answer = failure_answer(eas.command, status, eas.protocol_version)
    if answer.document is None:
        return Refusal(plain_response(answer.http_status, reason))
    return Refusal(document_response(answer.document), answer.document)


def options_response() -> web.Response:
    """MS-ASHTTP 2.2.3: the versions and the commands this server speaks."""
    response = web.Response(status=200)
    response.headers["Allow"] = "OPTIONS,POST"
    response.headers["Public"] = "OPTIONS,POST"
    response.headers["MS-ASProtocolVersions"] = ",".join(versions.SUPPORTED)
    response.headers["MS-ASProtocolCommands"] = ",".join(commands.served())
    return response


def plain_response(status: int, reason: str) -> web.Response:
    """A refusal: the status code says what, one header says why; no body a client could
    mistake for a document, and never a traceback."""
    response = web.Response(status=status)
    response.headers[REASON_HEADER] = _one_line(reason)[:200]
    return response


def busy_response() -> web.Response:
    """HTTP 503 when no database connection came free in time (MS-ASHTTP: the server is
    busy), saying when to try again rather than leaving the client to guess."""
    response = plain_response(503, "server busy")
    response.headers["Retry-After"] = str(BUSY_RETRY_AFTER_S)
    return response


def throttled_response(throttled: Throttled) -> web.Response:
    """HTTP 429 for a throttled login, saying when to try again (RFC 6585)."""
    response = plain_response(429, "too many failed logins")
    response.headers["Retry-After"] = str(throttled.retry_after_s)
    return response


def document_response(document: etree._Element, status: int = 200) -> web.Response:
    return web.Response(status=status, body=wbxml.encode(document),
                        content_type=WBXML_CONTENT_TYPE)


def result_response(result: CommandResult) -> web.Response:
    if result.body is not None:
        response = web.Response(status=result.http_status, body=result.body,
                                content_type=result.content_type or "application/octet-stream")
    elif result.document is not None:
        response = document_response(result.document, result.http_status)
    else:
        response = web.Response(status=result.http_status)
    response.headers.update(result.headers)
    return response


def _wbxml_body(response: web.StreamResponse, exchange: Exchange) -> bytes | None:
    """The body when it is the encoding of the answer's document, None otherwise (a
    multipart or streamed answer)."""
    if exchange.response_document is None or not isinstance(response, web.Response):
        return None
    body = response.body
    if isinstance(body, bytes) and _media_type(response.headers) == WBXML_CONTENT_TYPE:
        return body
    return None


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _note_request(exchange: Exchange, eas: EASRequest) -> None:
    exchange.command = eas.command
    exchange.protocol_version = eas.protocol_version
    exchange.device_id = eas.device_id
    exchange.device_type = eas.device_type


async def _tell_observers(services: Services, exchange: Exchange) -> None:
    for observer in list(services.observers):
        try:
            await observer.on_exchange(exchange)
        except Exception as exc:  # an observer must never change the answer
            log.error("observer %s failed: %s", type(observer).__name__, _one_line(exc))


def _one_line(value: object) -> str:
    if isinstance(value, BaseException):
        text = f"{type(value).__name__}: {value}"
    else:
        text = str(value)
    return " ".join(text.split())
