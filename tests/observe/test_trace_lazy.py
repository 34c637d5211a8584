"""Trace entries render their documents when first read, and never keep the password."""
from observe_helpers import PASSWORD, sync_exchange

from gateway.observe.traces import MAX_LAZY_BYTES, _readable, entry_from_exchange
from protocol.xml import E


def test_a_small_document_is_rendered_when_read_as_it_would_have_been_at_once():
    exchange = sync_exchange()
    entry = entry_from_exchange(exchange)
    assert not isinstance(entry.request_document, str)  # nothing rendered yet
    assert entry.request_xml == _readable(exchange.request_document, PASSWORD)
    assert entry.response_xml == _readable(exchange.response_document, PASSWORD)
    assert isinstance(entry.request_document, str)  # the tree is dropped once rendered


def test_a_document_holding_the_password_is_scrubbed_at_once():
    document = E("Settings:Settings", E("Settings:Oof", E("Settings:Get", f"note {PASSWORD}")))
    entry = entry_from_exchange(sync_exchange(request_document=document))
    assert isinstance(entry.request_document, str)
    assert PASSWORD not in entry.request_xml and "[redacted]" in entry.request_xml


def test_a_large_document_is_rendered_at_once():
    entry = entry_from_exchange(sync_exchange(response_body_size=MAX_LAZY_BYTES + 1))
    assert isinstance(entry.response_document, str)
    assert "CollectionId>5<" in entry.response_xml
