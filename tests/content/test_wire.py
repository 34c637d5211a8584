"""Rendered items survive our WBXML codec and are read by pyactivesync's own parser."""
from __future__ import annotations

import pytest
from content_items import as_item, demo_builder
from lxml import etree
from pyactivesync._wbxml import WBXMLReader, leaves

from gateway.content import BodyOptions, render_application_data
from protocol import wbxml
from protocol.versions import SUPPORTED
from protocol.xml import E, sub


def sample_items():
    builder = demo_builder()
    mails = builder.mails(12, first_hour=2)
    yield as_item(next(m for m in mails if m.attachments), "2:1", flagged=True,
                  categories=("Red",))
    for n, event in enumerate(builder.events(), start=1):
        yield as_item(event, f"8:{n}")
    yield as_item(builder.contacts()[0], "9:1")
    yield as_item(builder.tasks()[0], "7:1")
    yield as_item(builder.notes()[0], "10:1")


def sync_response(app_data: etree._Element) -> etree._Element:
    sync = E("AirSync:Sync")
    add = sub(sub(sub(sub(sync, "AirSync:Collections"), "AirSync:Collection"),
                  "AirSync:Commands"), "AirSync:Add")
    sub(add, "AirSync:ServerId", "1")
    add.append(app_data)
    return sync


def shape(element: etree._Element) -> tuple:
    """Tag, text and children: what WBXML carries (namespace prefixes are not)."""
    return (element.tag, (element.text or "").strip(), [shape(c) for c in element])


@pytest.mark.parametrize("version", SUPPORTED)
def test_every_class_encodes_and_decodes(version):
    options = BodyOptions.from_sync_options(None, version)
    for item in sample_items():
        if item.item_class == "Notes" and version == "12.1":
            continue  # Notes sync from 14.0
        document = sync_response(render_application_data(item, options, version))
        decoded = wbxml.decode(wbxml.encode(document))
        assert shape(decoded) == shape(document)


def test_pyactivesync_reads_a_mail():
    item = next(sample_items())
    document = sync_response(render_application_data(item, BodyOptions(), "16.1"))
    nodes = WBXMLReader(wbxml.encode(document)).parse()
    fields = leaves(nodes)
    assert fields["Email.Subject"] == item.data["Subject"]
    assert fields["AirSyncBase.FileReference"] == "2:1:1"
    assert fields["Email.Status"] == "2"
