"""Trace entries: readable, bounded, and free of credentials."""
import json

import pytest
from observe_helpers import PASSWORD, sync_exchange

from gateway.observe.traces import MAX_XML_CHARS, TraceBook, TraceRecorder, entry_from_exchange
from protocol.xml import E


def test_entry_reads_like_the_wire():
    entry = entry_from_exchange(sync_exchange())
    assert entry.request_line.startswith("POST /Microsoft-Server-ActiveSync?Cmd=Sync&User=alice")
    assert entry.request_line.endswith(" HTTP/1.1")
    assert "<AirSync:SyncKey>0</AirSync:SyncKey>" in entry.request_xml
    assert "CollectionId>5<" in entry.response_xml
    assert entry.response_status == 200
    assert entry.duration_ms == pytest.approx(12.3)
    assert entry.at == "2026-11-20T09:15:00+00:00"
    assert entry.user == "alice@contoso.com" and entry.command == "Sync"


def test_entry_never_holds_the_password_anywhere():
    exchange = sync_exchange(
        query=f"Cmd=Sync&User=alice&DeviceId=ABC&DeviceType=iPhone&note={PASSWORD}",
        request_headers={"Authorization": sync_exchange().request_headers["Authorization"],
                         "X-Debug": f"pw {PASSWORD}"},
        request_document=E("ItemOperations:ItemOperations", E("ItemOperations:Fetch",
                           E("ItemOperations:Options",
                             E("ItemOperations:Password", "library-secret")))),
        notes={"echo": PASSWORD},
        error=f"ValueError: bad {PASSWORD}",
    )
    serialised = json.dumps(entry_from_exchange(exchange).as_json())
    assert PASSWORD not in serialised
    assert "library-secret" not in serialised
    assert "ZGVtby1wYXNz" not in serialised  # nor the base64 credentials
    assert "Basic [redacted]" in serialised


def test_a_body_that_is_not_a_document_is_shown_raw_without_the_password():
    mime = f"From: alice@contoso.com\r\nSubject: hi\r\n\r\nmy password is {PASSWORD}\r\n".encode()
    entry = entry_from_exchange(sync_exchange(request_document=None, request_body=mime))
    assert "Subject: hi" in entry.request_body and PASSWORD not in entry.request_body
    garbage = b"\x03\x01\x6a\x00\x45\xff\xfe" + PASSWORD.encode()
    entry = entry_from_exchange(sync_exchange(request_document=None, request_body=garbage))
    assert entry.request_body.startswith("03 01 6a 00 45 ff fe")
    assert PASSWORD.encode().hex(" ") not in entry.request_body


def test_huge_documents_are_cut():
    big = E("AirSync:Sync", *[E("Email:Subject", "x" * 1000) for _ in range(400)])
    entry = entry_from_exchange(sync_exchange(response_document=big))
    assert len(entry.response_xml) < MAX_XML_CHARS + 200
    assert "more characters cut" in entry.response_xml


def test_book_keeps_the_last_n_per_device_newest_last():
    book = TraceBook(depth=3)
    for n in range(5):
        book.record(entry_from_exchange(sync_exchange(device_pk=1, command=f"C{n}")))
    assert [e.command for e in book.entries(1)] == ["C2", "C3", "C4"]
    assert book.entries(99) == []


def test_book_forgets_the_device_heard_from_longest_ago():
    book = TraceBook(depth=2, max_devices=2)
    for pk in (1, 2, 1, 3):
        book.record(entry_from_exchange(sync_exchange(device_pk=pk)))
    assert len(book) == 2
    assert book.entries(2) == [] and book.entries(1) and book.entries(3)


def test_exchanges_without_a_device_are_not_filed():
    book = TraceBook()
    book.record(entry_from_exchange(sync_exchange(device_pk=None, response_status=401)))
    assert len(book) == 0


def test_book_refuses_nonsense_bounds():
    with pytest.raises(ValueError):
        TraceBook(depth=0)


async def test_recorder_is_an_observer():
    book = TraceBook()
    await TraceRecorder(book).on_exchange(sync_exchange(device_pk=4))
    assert book.entries(4)[0].command == "Sync"


def test_documents_are_printed_with_code_page_prefixes():
    entry = entry_from_exchange(sync_exchange())
    assert entry.request_xml.startswith('<AirSync:Sync xmlns:AirSync="AirSync:">')
    assert "<AirSync:CollectionId>5</AirSync:CollectionId>" in entry.request_xml


def test_the_callers_documents_are_left_alone():
    exchange = sync_exchange(request_document=E("ItemOperations:ItemOperations",
                                                 E("ItemOperations:Password", "x")))
    entry_from_exchange(exchange)
    assert exchange.request_document[0].text == "x"


@pytest.mark.parametrize("text", [f"my password is {PASSWORD}", f"ünïcode {PASSWORD} ✓"])
def test_an_answer_holding_the_password_is_scrubbed_at_once(text):
    from protocol import wbxml

    answer = E("ItemOperations:ItemOperations", E("ItemOperations:Response",
               E("ItemOperations:Fetch", E("AirSyncBase:Body", E("AirSyncBase:Data", text)))))
    entry = entry_from_exchange(sync_exchange(response_document=answer,
                                              response_wbxml=wbxml.encode(answer)))
    assert isinstance(entry.response_document, str)  # rendered now, not kept as bytes
    assert PASSWORD not in json.dumps(entry.as_json())
    plain = E("ItemOperations:ItemOperations", E("ItemOperations:Status", "1"))
    kept = entry_from_exchange(sync_exchange(response_document=plain,
                                             response_wbxml=wbxml.encode(plain)))
    assert isinstance(kept.response_document, bytes)  # no password: the bytes, read later
