"""Admin sessions: signed cookies, expiry, CSRF tokens bound to the session."""
import time

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from gateway.admin.session import COOKIE_NAME, SessionKeeper


def cookie_of(response: web.StreamResponse) -> str:
    morsel = response.cookies[COOKIE_NAME]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Strict"
    return morsel.value


def request_with(cookie: str) -> web.Request:
    return make_mocked_request("GET", "/admin", headers={"Cookie": f"{COOKIE_NAME}={cookie}"})


def test_a_started_session_is_recognised_with_its_csrf_token():
    keeper = SessionKeeper("token-1")
    response = web.Response()
    started = keeper.start(response, secure=False)
    found = keeper.current(request_with(cookie_of(response)))
    assert found == started
    assert SessionKeeper.csrf_ok(found, started.csrf_token)
    assert not SessionKeeper.csrf_ok(found, "forged")
    assert not SessionKeeper.csrf_ok(found, None)


def test_csrf_tokens_differ_between_sessions():
    keeper = SessionKeeper("token-1")
    one, two = keeper.start(web.Response(), secure=False), keeper.start(web.Response(), secure=False)
    assert one.csrf_token != two.csrf_token


def test_tampered_foreign_or_expired_cookies_are_refused():
    keeper = SessionKeeper("token-1")
    response = web.Response()
    keeper.start(response, secure=True)
    assert response.cookies[COOKIE_NAME]["secure"] is True
    cookie = cookie_of(response)
    issued, nonce, signature = cookie.split(".")
    assert keeper.current(request_with(f"{issued}.{nonce}x.{signature}")) is None
    assert keeper.current(request_with(f"{int(issued) + 1}.{nonce}.{signature}")) is None
    assert keeper.current(request_with("garbage")) is None
    assert SessionKeeper("another-token").current(request_with(cookie)) is None
    short = SessionKeeper("token-1", lifetime_s=10)
    old = f"{int(time.time()) - 60}.{nonce}"
    assert short.current(request_with(f"{old}.{short._sign(old)}")) is None


def test_the_token_is_compared_exactly():
    keeper = SessionKeeper("token-1")
    assert keeper.token_matches("token-1")
    assert not keeper.token_matches("token-")
    assert not keeper.token_matches("")
