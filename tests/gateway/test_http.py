"""The HTTP front over real sockets: routing, headers, the order of the checks, and every
bad input of SPEC §7 answered with its protocol answer, never a traceback."""
from __future__ import annotations

import base64
import logging

from server_fixtures import basic_auth

from gateway import commands
from gateway.exchange import Exchange
from protocol import wbxml
from protocol.request import EASRequest, encode_base64_query
from protocol.xml import E

ALICE = {"Authorization": basic_auth("alice@contoso.com")}
FOLDER_SYNC = E("FolderHierarchy:FolderSync", E("FolderHierarchy:SyncKey", "0"))
QUERY = {"Cmd": "FolderSync", "User": "alice", "DeviceId": "HTTPTEST1", "DeviceType": "iPhone"}
WBXML = {"Content-Type": "application/vnd.ms-sync.wbxml", "MS-ASProtocolVersion": "16.1"}


async def test_options_lists_versions_and_commands(live_server):
    session = await live_server.session()
    async with session.options(live_server.endpoint, headers=ALICE) as r:
        assert r.status == 200
        assert r.headers["MS-ASProtocolVersions"] == "12.1,14.0,14.1,16.0,16.1"
        served = r.headers["MS-ASProtocolCommands"].split(",")
        assert {"Provision", "Settings", "FolderSync", "Sync", "Ping"} <= set(served)
        assert r.headers["MS-Server-ActiveSync"]
        assert "POST" in r.headers["Allow"]


async def test_options_needs_credentials_too(live_server):
    session = await live_server.session()
    async with session.options(live_server.endpoint) as r:
        assert r.status == 401


async def test_path_is_matched_in_any_case(live_server):
    session = await live_server.session()
    url = f"{live_server.http_url}/MICROSOFT-server-ActiveSync"
    async with session.options(url, headers=ALICE) as r:
        assert r.status == 200


async def test_provision_then_foldersync_over_http_and_https(live_server):
    answer = await live_server.eas("FolderSync", FOLDER_SYNC)
    assert answer.status == 200 and answer.eas_status == 1
    assert answer.headers["MS-Server-ActiveSync"]
    assert answer.headers["Content-Type"].startswith("application/vnd.ms-sync.wbxml")
    session = await live_server.session()
    url = f"{live_server.https_url}/Microsoft-Server-ActiveSync"
    async with session.options(url, headers=ALICE, ssl=False) as r:
        assert r.status == 200 and r.headers["MS-ASProtocolCommands"]


async def test_base64_query_form(live_server):
    key = await live_server.provision(device_id="B64DEVICE1")
    request = EASRequest(command="FolderSync", device_id="B64DEVICE1", device_type="iPhone",
                         protocol_version="14.1", policy_key=key)
    answer = await live_server.post(encode_base64_query(request), wbxml.encode(FOLDER_SYNC),
                                    {"Content-Type": "application/vnd.ms-sync.wbxml"})
    assert answer.status == 200 and answer.eas_status == 1


async def test_login_forms_and_latin1_credentials(live_server):
    await live_server.store.create_user("dora@contoso.com", "pässwörd", "Dora")
    for login in ("CONTOSO\\alice", "Alice@Contoso.com"):
        answer = await live_server.eas("FolderSync", FOLDER_SYNC, user=login,
                                       device_id="LOGINFORM1")
        assert answer.status == 200, login
    latin1 = "Basic " + base64.b64encode("dora@contoso.com:pässwörd".encode("latin-1")).decode()
    utf8 = "Basic " + base64.b64encode("dora@contoso.com:pässwörd".encode()).decode()
    session = await live_server.session()
    for header in (latin1, utf8):
        async with session.options(live_server.endpoint, headers={"Authorization": header}) as r:
            assert r.status == 200


async def test_bad_credentials_and_unknown_user_are_401_with_a_realm(live_server):
    for user, password in (("alice@contoso.com", "wrong"), ("nobody@contoso.com", "demo-pass"),
                           ("FABRIKAM\\alice", "demo-pass")):
        answer = await live_server.post(QUERY, wbxml.encode(FOLDER_SYNC), WBXML,
                                        user=user, password=password)
        assert answer.status == 401
        assert answer.headers["WWW-Authenticate"] == 'Basic realm="easgate"'
        assert answer.headers["MS-Server-ActiveSync"]
    anonymous = await live_server.post(QUERY, b"", WBXML, user=None)
    assert anonymous.status == 401


async def test_malformed_wbxml_is_102_on_14_and_400_on_12_1(live_server):
    key = await live_server.provision(device_id="HTTPTEST1")
    garbage = b"\x03\x01\x6a\x00\x00\x07\x56\x52\x03"  # a tag, then a string never ended
    answer = await live_server.post(QUERY, garbage, {**WBXML, "X-MS-PolicyKey": key})
    assert answer.status == 200
    assert answer.document.tag == "{FolderHierarchy:}FolderSync" and answer.eas_status == 102
    old = await live_server.post(QUERY, garbage, {**WBXML, "MS-ASProtocolVersion": "12.1"})
    assert old.status == 400 and old.body == b""


async def test_valid_wbxml_of_the_wrong_command_is_the_commands_protocol_error(live_server):
    wrong = E("AirSync:Sync", E("AirSync:Collections"))
    answer = await live_server.eas("FolderSync", wrong)
    assert answer.document.tag == "{FolderHierarchy:}FolderSync" and answer.eas_status == 10
    answer = await live_server.eas("Sync", FOLDER_SYNC)
    assert answer.document.tag == "{AirSync:}Sync" and answer.eas_status == 4


async def test_unknown_command_is_501(live_server):
    answer = await live_server.eas("Frobnicate", FOLDER_SYNC)
    assert answer.status == 501
    assert answer.headers["X-Easgate-Reason"]


async def test_missing_device_id_or_type_is_400(live_server):
    for missing in ("DeviceId", "DeviceType"):
        query = {k: v for k, v in QUERY.items() if k != missing}
        answer = await live_server.post(query, wbxml.encode(FOLDER_SYNC), WBXML)
        assert answer.status == 400, missing
        assert missing in answer.headers["X-Easgate-Reason"]


async def test_unsupported_or_missing_version_is_400(live_server):
    for version in ("2.5", "12.0", "17.0", "banana"):
        answer = await live_server.post(QUERY, b"", {**WBXML, "MS-ASProtocolVersion": version})
        assert answer.status == 400, version
    answer = await live_server.post(QUERY, b"", {"Content-Type": WBXML["Content-Type"]})
    assert answer.status == 400


async def test_base64_query_that_does_not_decode_is_400(live_server):
    for query in ("%%%not-base64%%%", "jAAJ", base64.b64encode(bytes([25, 9, 9, 4, 0])).decode()):
        answer = await live_server.post(query, b"", {})
        assert answer.status == 400, query


async def test_oversized_body_is_413(live_server):
    live_server.services.config = live_server.services.config.replace(max_body_bytes=1000)
    answer = await live_server.eas("FolderSync", b"\x03\x01\x6a\x00" + b"\x00" * 5000)
    assert answer.status == 413
    assert answer.headers["MS-Server-ActiveSync"]

    async def chunks():  # no Content-Length: the size is known only once read
        for _ in range(5):
            yield b"\x00" * 400

    key = await live_server.provision(device_id=QUERY["DeviceId"])
    session = await live_server.session()
    async with session.post(live_server.endpoint, params=QUERY, data=chunks(),
                            headers={**ALICE, **WBXML, "X-MS-PolicyKey": key}) as r:
        assert r.status == 413


async def test_unexpected_failure_is_a_bare_500_and_one_log_line(live_server, monkeypatch,
                                                                  caplog):
    async def broken(ctx):
        raise RuntimeError("disk on fire\nsecond line")

    real = commands.handler
    monkeypatch.setattr(commands, "handler",
                        lambda name: broken if name == "FolderSync" else real(name))
    with caplog.at_level(logging.ERROR, logger="easgate.http"):
        answer = await live_server.eas("FolderSync", FOLDER_SYNC)
    assert answer.status == 500 and answer.body == b""
    assert answer.headers["MS-Server-ActiveSync"]
    records = [r for r in caplog.records if r.name == "easgate.http"]
    assert len(records) == 1 and "\n" not in records[0].getMessage()
    assert records[0].exc_info is None and "disk on fire" in records[0].getMessage()


async def test_observers_see_each_exchange(live_server):
    seen: list[Exchange] = []

    class Recorder:
        async def on_exchange(self, exchange):
            seen.append(exchange)

    class Broken:
        async def on_exchange(self, exchange):
            raise ValueError("observer bug")

    live_server.services.observers.extend([Broken(), Recorder()])
    answer = await live_server.eas("FolderSync", FOLDER_SYNC)
    assert answer.status == 200  # a failing observer changes nothing
    folder_sync = [e for e in seen if e.command == "FolderSync"][-1]
    assert folder_sync.user_address == "alice@contoso.com"
    assert folder_sync.device_pk and folder_sync.response_status == 200
    assert folder_sync.request_document.tag == "{FolderHierarchy:}FolderSync"
    assert folder_sync.response_document.tag == "{FolderHierarchy:}FolderSync"
    assert folder_sync.eas_status == 1 and folder_sync.duration_s > 0
    assert "Authorization" in folder_sync.request_headers
    refused = await live_server.post(QUERY, b"", WBXML, password="wrong")
    assert refused.status == 401 and seen[-1].response_status == 401


AUTODISCOVER = (b'<?xml version="1.0" encoding="utf-8"?>'
                b'<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/'
                b'mobilesync/requestschema/2006"><Request><EMailAddress>%s</EMailAddress>'
                b'<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/'
                b'mobilesync/responseschema/2006</AcceptableResponseSchema></Request>'
                b'</Autodiscover>')


async def autodiscover(live_server, body, path="/autodiscover/autodiscover.xml", headers=ALICE):
    session = await live_server.session()
    async with session.post(live_server.http_url + path, data=body,
                            headers={"Content-Type": "text/xml", **headers}) as r:
        return r.status, await r.text()


async def test_autodiscover_points_at_the_endpoint(live_server):
    for path in ("/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"):
        status, text = await autodiscover(live_server, AUTODISCOVER % b"alice@contoso.com", path)
        assert status == 200
        assert f"<Url>{live_server.http_url}/Microsoft-Server-ActiveSync</Url>" in text
        assert "<DisplayName>Alice Wood</DisplayName>" in text
        assert "<Type>MobileSync</Type>" in text


async def test_autodiscover_refusals(live_server):
    assert (await autodiscover(live_server, AUTODISCOVER % b"alice@contoso.com",
                               headers={}))[0] == 401
    status, text = await autodiscover(live_server, b"<not xml")
    assert status == 200 and "<ErrorCode>600</ErrorCode>" in text
    status, text = await autodiscover(live_server, AUTODISCOVER % b"bob@contoso.com")
    assert "<ErrorCode>600</ErrorCode>" in text and "bob" not in text
    other_schema = AUTODISCOVER.replace(b"mobilesync/responseschema", b"outlook/responseschema")
    status, text = await autodiscover(live_server, other_schema % b"alice@contoso.com")
    assert "<ErrorCode>601</ErrorCode>" in text


async def test_admin_routes_are_installed(live_server):
    session = await live_server.session()
    async with session.get(f"{live_server.http_url}/healthz") as r:
        assert r.status == 200
    status, clock = await live_server.admin("GET", "/clock")
    assert status == 200 and clock["mode"] == "manual"


async def test_a_command_outside_its_versions_is_not_supported(live_server):
    find = E("Find:Find", E("Find:SearchId", "1"))
    answer = await live_server.eas("Find", find, version="14.1")
    assert answer.document.tag == "{Find:}Find" and answer.eas_status == 137
    old = await live_server.eas("GetAttachment", None, version="16.1",
                                params={"AttachmentName": "2:1:0"})
    assert old.status == 501


async def test_12_1_sendmail_body_is_mime_not_wbxml(live_server):
    mime = (b"From: alice@contoso.com\r\nTo: bob@contoso.com\r\nSubject: plain MIME\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nHello Bob\r\n")
    key = await live_server.provision(version="12.1", device_id="LEGACYMIME1",
                                      device_type="Android", user_agent="Android/4.4-EAS-2.0")
    answer = await live_server.eas("SendMail", mime, version="12.1", device_id="LEGACYMIME1",
                                   device_type="Android", user_agent="Android/4.4-EAS-2.0",
                                   policy_key=key, params={"SaveInSent": "T"},
                                   headers={"Content-Type": "message/rfc822"})
    assert answer.status == 200
