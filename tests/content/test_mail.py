"""Email rendering and parsing (XML in, XML out), for each protocol version."""
from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime

from content_items import as_item, demo_builder
from lxml import etree

from gateway.content import BodyOptions, new_email, parse_application_data, render_application_data
from gateway.content.mail import global_object_id, uid_from_global_object_id
from gateway.content.mime import parse_message
from protocol.xml import E, child, is_opaque, opaque_bytes, sub, text

WHEN = datetime(2026, 11, 20, 9, 15, tzinfo=UTC)


def options(*preferences: dict, mime_support: int | None = None) -> BodyOptions:
    element = E("AirSync:Options")
    for preference in preferences:
        body = sub(element, "AirSyncBase:BodyPreference")
        for tag, value in preference.items():
            sub(body, f"AirSyncBase:{tag}", value)
    if mime_support is not None:
        sub(element, "AirSync:MIMESupport", mime_support)
    return BodyOptions.from_sync_options(element, "16.1")


def mail_with_attachment():
    builder = demo_builder()
    mails = builder.mails(32, first_hour=2)
    with_attachment = next(m for m in mails if m.attachments)
    html = next(m for m in mails if m.body_html)
    return as_item(with_attachment), as_item(html, "2:2")


def test_email_fields_and_order_on_16_1():
    item, _ = mail_with_attachment()
    app = render_application_data(item, options({"Type": 2}), "16.1")
    assert app.tag == "{AirSync:}ApplicationData"
    tags = [etree.QName(e).localname for e in app]
    assert tags[:3] == ["To", "From", "Subject"] or tags[:4] == ["To", "Cc", "From", "Subject"]
    assert text(app, "Email:Subject") == item.data["Subject"]
    assert text(app, "Email:DateReceived") == item.data["DateReceived"]
    assert text(app, "Email:Read") == str(int(item.read))
    assert text(app, "Email:MessageClass") == "IPM.Note"
    attachment = app.find(".//{AirSyncBase:}Attachment")
    assert text(attachment, "AirSyncBase:FileReference") == "2:1:1"
    assert text(attachment, "AirSyncBase:DisplayName") == item.attachments[0].name
    assert int(text(attachment, "AirSyncBase:EstimatedDataSize")) == item.attachments[0].size
    conversation = child(app, "Email2:ConversationId")
    assert is_opaque(conversation) and len(opaque_bytes(conversation)) == 16
    assert len(opaque_bytes(child(app, "Email2:ConversationIndex"))) == 5
    assert text(app, "Email2:IsDraft") == "0"
    assert child(app, "Email:Categories") is not None


def test_12_1_has_no_conversation_preview_or_categories():
    item, _ = mail_with_attachment()
    app = render_application_data(item, options({"Type": 1, "Preview": 100}), "12.1")
    assert child(app, "Email2:ConversationId") is None
    assert child(app, "Email:Categories") is None
    assert child(app, "Email2:IsDraft") is None
    body = child(app, "AirSyncBase:Body")
    assert child(body, "AirSyncBase:Preview") is None
    assert text(body, "AirSyncBase:Type") == "1"


def test_preview_on_14_0_and_later():
    item, _ = mail_with_attachment()
    app = render_application_data(item, options({"Type": 1, "Preview": 40}), "14.0")
    preview = text(child(app, "AirSyncBase:Body"), "AirSyncBase:Preview")
    assert preview and len(preview) <= 40 and preview.startswith("Hi Alice")


def test_html_native_mail_gets_html_when_both_asked():
    _, html_item = mail_with_attachment()
    app = render_application_data(html_item, options({"Type": 1}, {"Type": 2}), "14.1")
    body = child(app, "AirSyncBase:Body")
    assert text(body, "AirSyncBase:Type") == "2"
    assert text(body, "AirSyncBase:Data").startswith("<html>")
    assert text(app, "AirSyncBase:NativeBodyType") == "2"


def test_truncation_counts_bytes_and_marks_truncated():
    item, _ = mail_with_attachment()
    body = child(render_application_data(item, options({"Type": 1, "TruncationSize": 10}),
                                         "14.1"), "AirSyncBase:Body")
    assert text(body, "AirSyncBase:Truncated") == "1"
    assert len(text(body, "AirSyncBase:Data").encode()) <= 10
    assert int(text(body, "AirSyncBase:EstimatedDataSize")) == len(item.body_text.encode())


def test_all_or_none_sends_no_data_when_too_long():
    item, _ = mail_with_attachment()
    body = child(render_application_data(
        item, options({"Type": 1, "TruncationSize": 10, "AllOrNone": 1}), "14.1"),
        "AirSyncBase:Body")
    assert child(body, "AirSyncBase:Data") is None
    assert text(body, "AirSyncBase:Truncated") == "1"


def test_truncation_never_splits_a_character():
    item = as_item(new_email(sender="a@b.c", to="alice@contoso.com", subject="x",
                             text="ééééé", date=WHEN))
    body = child(render_application_data(item, options({"Type": 1, "TruncationSize": 3}),
                                         "14.1"), "AirSyncBase:Body")
    assert text(body, "AirSyncBase:Data") == "é"


def test_mime_body_needs_mime_support_in_sync():
    item, _ = mail_with_attachment()
    plain = child(render_application_data(item, options({"Type": 4}, {"Type": 1},
                                                        mime_support=0), "14.1"),
                  "AirSyncBase:Body")
    assert text(plain, "AirSyncBase:Type") == "1"
    mime = child(render_application_data(item, options({"Type": 4}, mime_support=2), "14.1"),
                 "AirSyncBase:Body")
    assert text(mime, "AirSyncBase:Type") == "4"
    parsed = parse_message(text(mime, "AirSyncBase:Data").encode())
    assert parsed.subject == item.data["Subject"]
    assert parsed.attachments[0].filename == item.attachments[0].name


def test_rtf_only_falls_back_to_native_type():
    _, html_item = mail_with_attachment()
    body = child(render_application_data(html_item, options({"Type": 3}), "14.1"),
                 "AirSyncBase:Body")
    assert text(body, "AirSyncBase:Type") == "2"


def test_flag_rendered_only_when_flagged():
    item, _ = mail_with_attachment()
    flagged = as_item(demo_builder().mails(1, 2)[0], flagged=True)
    assert len(child(render_application_data(replace(item, flagged=False), BodyOptions(), "14.1"), "Email:Flag")) == 0
    flag = child(render_application_data(flagged, BodyOptions(), "14.1"), "Email:Flag")
    assert text(flag, "Email:Status") == "2"
    assert text(flag, "Email:FlagType") == "Flag for follow up"


def test_parse_read_flag_and_categories_change():
    app = E("AirSync:ApplicationData")
    sub(app, "Email:Read", 1)
    flag = sub(app, "Email:Flag")
    sub(flag, "Email:Status", 2)
    sub(flag, "Email:FlagType", "Flag for follow up")
    sub(flag, "Tasks:StartDate", "2026-11-20T00:00:00.000Z")
    categories = sub(app, "Email:Categories")
    sub(categories, "Email:Category", "Blue")
    fields = parse_application_data("Email", app, "16.1")
    assert fields["read"] is True and fields["flagged"] is True
    assert fields["categories"] == ("Blue",)
    assert fields["data"]["Flag"]["StartDate"] == "2026-11-20T00:00:00.000Z"


def test_parse_empty_flag_clears_it():
    app = E("AirSync:ApplicationData")
    sub(app, "Email:Flag")
    fields = parse_application_data("Email", app, "14.1")
    assert fields == {"flagged": False, "data": {"Flag": None}}


def test_parse_only_read_leaves_everything_else():
    app = E("AirSync:ApplicationData")
    sub(app, "Email:Read", 0)
    assert parse_application_data("Email", app, "12.1") == {"read": False}


def test_new_email_builds_real_mime():
    item = new_email(sender="Dana Fischer <dana.fischer@fabrikam.com>",
                     to=["Alice Wood <alice@contoso.com>"], subject="Re: Hello",
                     text="Plain body", html="<p>Rich body</p>", date=WHEN,
                     cc=["bob@contoso.com"], attachments=[("a.txt", "text/plain", b"abc")])
    assert item.item_class == "Email"
    assert item.data["Subject"] == "Re: Hello" and item.data["ThreadTopic"] == "Hello"
    assert item.data["DateReceived"] == "2026-11-20T09:15:00.000Z"
    assert item.data["DisplayTo"] == "Alice Wood"
    assert item.body_text.strip() == "Plain body" and "Rich body" in item.body_html
    assert b"\r\n" in item.mime
    parsed = parse_message(item.mime)
    assert parsed.cc == ("bob@contoso.com",)
    attachment, content = item.attachments[0]
    assert (attachment.name, attachment.size, content) == ("a.txt", 3, b"abc")


def test_global_object_id_round_trip():
    goid = global_object_id("ABC123")
    assert base64.b64decode(goid)[:4] == bytes.fromhex("04000000")
    assert uid_from_global_object_id(goid) == "ABC123"
