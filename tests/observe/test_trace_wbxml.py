"""Trace entries keep a document as the WBXML it travelled as, not as a tree: a few hundred
bytes where an lxml tree costs a few KiB of libxml2 memory, for each of the last 50
exchanges of each of thousands of devices."""
import gc

from lxml import etree
from observe_helpers import PASSWORD, sync_exchange

from gateway.observe import OBSERVE, traces
from gateway.observe.traces import _readable, entry_from_exchange
from protocol import wbxml
from protocol.xml import E


def holds_a_tree(pending) -> bool:
    return isinstance(pending, etree._Element) or any(
        isinstance(o, etree._Element) for o in gc.get_referents(pending))


def test_documents_are_kept_as_their_wbxml_and_read_as_before():
    plain = sync_exchange()
    request_body = wbxml.encode(plain.request_document)
    response_body = wbxml.encode(plain.response_document)
    exchange = sync_exchange(request_document=wbxml.decode(request_body),
                             request_body=request_body, response_wbxml=response_body)
    entry = entry_from_exchange(exchange)
    assert not holds_a_tree(entry.request_document)
    assert not holds_a_tree(entry.response_document)
    assert entry.request_xml == _readable(exchange.request_document, PASSWORD)
    assert entry.response_xml == _readable(exchange.response_document, PASSWORD)


async def test_the_live_trace_of_an_exchange_holds_no_tree(live_server):
    answer = await live_server.eas("FolderSync", E("FolderHierarchy:FolderSync",
                                                   E("FolderHierarchy:SyncKey", "0")))
    assert answer.eas_status == 1
    book = live_server.app[OBSERVE].traces
    entry = [e for pk in list(book._rings) for e in book.entries(pk)
             if e.command == "FolderSync"][-1]
    assert not holds_a_tree(entry.request_document)
    assert not holds_a_tree(entry.response_document)
    assert "<FolderHierarchy:SyncKey>0</FolderHierarchy:SyncKey>" in entry.request_xml
    assert "<FolderHierarchy:Status>1</FolderHierarchy:Status>" in entry.response_xml


def test_headers_are_kept_as_shared_lines_and_read_back_as_pairs():
    entry, again = entry_from_exchange(sync_exchange()), entry_from_exchange(sync_exchange())
    assert [name for name, _ in entry.request_headers] == [
        "Authorization", "User-Agent", "MS-ASProtocolVersion"]
    assert ("MS-ASProtocolVersion", "16.1") in entry.request_headers
    assert entry.response_headers == [("MS-Server-ActiveSync", "16.1")]
    assert entry.request_header_lines is again.request_header_lines  # one tuple for both
    assert entry.response_header_lines is again.response_header_lines
    assert entry.as_json()["response_headers"] == [["MS-Server-ActiveSync", "16.1"]]


def test_the_shared_header_sets_are_bounded(monkeypatch):
    monkeypatch.setattr(traces, "_shared_header_sets", {})
    monkeypatch.setattr(traces, "MAX_SHARED_HEADER_SETS", 2)
    made = [traces.header_lines([("Content-Length", str(n))]) for n in range(5)]
    assert len(traces._shared_header_sets) == 2
    assert traces.header_pairs(made[4]) == [("Content-Length", "4")]  # kept by its entry
    assert traces.header_lines([("Content-Length", "1")]) is made[1]
