"""Secrets: passwords are stored as scrypt hashes and never logged or traced, whatever the
request did with them; the admin token is compared in constant time; the files holding the
TLS key and the admin token are readable by their owner only."""
from __future__ import annotations

import base64
import hmac
import logging
import os
import sqlite3
import stat

from server_fixtures import ADMIN_TOKEN

from gateway.config import Config, with_admin_token
from gateway.tls import ensure_self_signed
from protocol.xml import E

SECRET = "S3cret-Pa\u00dfword!"  # dave's, made below
WRONG = "Wr0ng-Guess-4711"
FOLDER_SYNC = E("FolderHierarchy:FolderSync", E("FolderHierarchy:SyncKey", "0"))


def forms(password: str, user: str) -> list[str]:
    """Every way a password could leak: as is, and inside the Basic credentials."""
    out = [password]
    for charset in ("utf-8", "latin-1"):
        try:
            out.append(base64.b64encode(f"{user}:{password}".encode(charset)).decode())
        except UnicodeEncodeError:
            pass
    return out


async def test_passwords_are_never_logged_or_traced(limited_server, tmp_path, caplog):
    traces = tmp_path / "traces"
    async with limited_server(trace_dir=traces, auth_fail_limit_login=3) as server:
        status, _ = await server.admin("POST", "/users", {
            "address": "dave@contoso.com", "password": SECRET, "display_name": "Dave"})
        assert status in (200, 201)
        with caplog.at_level(logging.DEBUG):
            await server.eas("FolderSync", FOLDER_SYNC, user="dave@contoso.com", password=SECRET)
            fetch = E("ItemOperations:ItemOperations", E(
                "ItemOperations:Fetch", E("ItemOperations:Store", "DocumentLibrary"),
                E("DocumentLibrary:LinkId", "\\\\server\\share\\file.txt"),
                E("ItemOperations:Options", E("ItemOperations:UserName", "dave"),
                  E("ItemOperations:Password", SECRET))))
            await server.eas("ItemOperations", fetch, user="dave@contoso.com", password=SECRET)
            for _ in range(5):  # refused, then throttled
                await server.eas("FolderSync", FOLDER_SYNC, user="dave@contoso.com",
                                 password=WRONG, provision=False)
            await server.eas("FolderSync", FOLDER_SYNC, user="dave@contoso.com",
                             password=SECRET, provision=False, params={"Password": SECRET})
            _, devices = await server.admin("GET", "/devices")
            for device in devices:
                status, trace = await server.admin("GET", f"/devices/{device['id']}/trace")
                assert status == 200
                _assert_hidden(str(trace), "the trace API")
            session = await server.session()
            async with session.get(f"{server.http_url}/metrics") as metrics:
                _assert_hidden(await metrics.text(), "/metrics")
        _assert_hidden("\n".join(r.getMessage() for r in caplog.records), "the log")
        written = "".join(p.read_text(errors="replace") for p in traces.rglob("*") if p.is_file())
        assert written, "no trace file was written"
        _assert_hidden(written, "the trace files")
        rows = sqlite3.connect(server.store_path).execute(
            "SELECT password_hash FROM users").fetchall()
        assert rows and all(h.startswith("scrypt$") for (h,) in rows)
        _assert_hidden(repr(rows), "the users table")


def _assert_hidden(text: str, where: str) -> None:
    for secret in (*forms(SECRET, "dave@contoso.com"), WRONG):
        assert secret not in text, f"a password is in {where}"


async def test_the_admin_token_is_compared_in_constant_time(limited_server, monkeypatch):
    compared = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append((bytes(a) if isinstance(a, bytes) else a.encode(),
                         bytes(b) if isinstance(b, bytes) else b.encode()))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    async with limited_server() as server:
        session = await server.session()
        for token in ("wrong", ADMIN_TOKEN):
            async with session.get(f"{server.http_url}/admin/api/v1/devices",
                                   headers={"Authorization": f"Bearer {token}"}) as answer:
                assert answer.status == 200 if token == ADMIN_TOKEN else answer.status in (401, 403)
    assert (b"wrong", ADMIN_TOKEN.encode()) in compared
    assert (ADMIN_TOKEN.encode(), ADMIN_TOKEN.encode()) in compared


def test_the_tls_key_and_admin_token_files_are_owner_only(tmp_path):
    previous = os.umask(0)  # the most permissive umask a service could run under
    try:
        cert, key = ensure_self_signed(tmp_path / "tls", ["localhost"])
        config = with_admin_token(Config(var_dir=tmp_path / "var"))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "var" / "admin-token").stat().st_mode) == 0o600
    assert config.admin_token and len(config.admin_token) >= 32
    assert b"PRIVATE KEY" not in cert.read_bytes()
