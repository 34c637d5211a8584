"""The documents the emulator sends survive the codec, and its readers understand the
answers a server writes."""
from emulator import documents as docs
from emulator.choice import parse_form
from emulator.items import read_item
from emulator.notice import find_notice
from emulator.profiles import get_profile
from protocol import wbxml
from protocol.xml import E, sub, text


def round_trip(element):
    return wbxml.decode(wbxml.encode(element))


def test_provision_carries_device_information_from_14_1_only():
    modern = round_trip(docs.provision_request(get_profile("iphone-mail")))
    legacy = round_trip(docs.provision_request(get_profile("legacy-12")))
    info = modern.find("{Settings:}DeviceInformation/{Settings:}Set")
    assert text(info, "Settings:Model") == "iPhone14C2"
    assert text(info, "Settings:UserAgent") == "Apple-iPhone14C2/2104.92"
    assert legacy.find("{Settings:}DeviceInformation") is None
    assert legacy.findtext("{Provision:}Policies/{Provision:}Policy/{Provision:}PolicyType") == (
        "MS-EAS-Provisioning-WBXML")
    ack = round_trip(docs.provision_acknowledgement("1234"))
    assert ack.findtext(".//{Provision:}PolicyKey") == "1234"
    assert ack.findtext(".//{Provision:}Status") == "1"


def test_sync_request_follows_the_schema_order():
    profile = get_profile("iphone-mail")
    inbox = docs.Folder("5", "0", "Inbox", docs.INBOX)
    initial = docs.sync_collection(inbox, "0", docs.SyncOptions.of(profile), "16.1")
    assert [e.tag for e in initial] == ["{AirSync:}SyncKey", "{AirSync:}CollectionId"]
    later = docs.sync_collection(inbox, "{a1}2", docs.SyncOptions.of(profile), "16.1",
                                 docs.mark_read_commands(["5:1"]))
    assert [e.tag.split("}")[1] for e in later] == [
        "SyncKey", "CollectionId", "DeletesAsMoves", "WindowSize", "Options", "Commands"]
    options = later.find("{AirSync:}Options")
    assert options.findtext("{AirSync:}MIMESupport") == "2"
    assert [p.findtext("{AirSyncBase:}Type") for p in
            options.findall("{AirSyncBase:}BodyPreference")] == ["2", "4"]
    assert later.findtext("{AirSync:}WindowSize") == "25"
    legacy = docs.sync_collection(inbox, "1", docs.SyncOptions.of(get_profile("legacy-12")), "12.1")
    assert legacy[0].tag == "{AirSync:}Class"
    round_trip(docs.sync_request([later, legacy]))


def test_sync_answer_reader():
    answer = E("AirSync:Sync")
    collection = sub(sub(answer, "AirSync:Collections"), "AirSync:Collection")
    sub(collection, "AirSync:SyncKey", "{b2}3")
    sub(collection, "AirSync:CollectionId", "5")
    sub(collection, "AirSync:Status", 1)
    commands = sub(collection, "AirSync:Commands")
    add = sub(commands, "AirSync:Add")
    sub(add, "AirSync:ServerId", "5:7")
    data = sub(add, "AirSync:ApplicationData")
    sub(data, "Email:Subject", "Quarterly numbers")
    sub(sub(commands, "AirSync:Delete"), "AirSync:ServerId", "5:2")
    responses = sub(collection, "AirSync:Responses")
    change = sub(responses, "AirSync:Change")
    sub(change, "AirSync:ServerId", "5:1")
    sub(change, "AirSync:Status", 5)
    sub(collection, "AirSync:MoreAvailable")
    [read] = docs.sync_answers(round_trip(answer))
    assert (read.collection_id, read.sync_key, read.status, read.more_available) == (
        "5", "{b2}3", 1, True)
    assert [sid for sid, _ in read.added] == ["5:7"] and read.deleted == ["5:2"]
    assert read.responses == [("Change", "5:1", 5)]
    assert docs.top_status(round_trip(answer)) is None
    assert docs.top_status(round_trip(E("AirSync:Sync", E("AirSync:Status", 142)))) == 142


def test_folder_changes_and_ping_readers():
    answer = E("FolderHierarchy:FolderSync")
    sub(answer, "FolderHierarchy:Status", 1)
    sub(answer, "FolderHierarchy:SyncKey", "1")
    changes = sub(answer, "FolderHierarchy:Changes")
    sub(changes, "FolderHierarchy:Count", 1)
    add = sub(changes, "FolderHierarchy:Add")
    for tag, value in (("ServerId", "9"), ("ParentId", "0"), ("DisplayName", "Contacts"),
                       ("Type", "9")):
        sub(add, f"FolderHierarchy:{tag}", value)
    read = docs.folder_changes(round_trip(answer))
    assert read.sync_key == "1"
    assert read.added == [docs.Folder("9", "0", "Contacts", 9)]
    assert read.added[0].item_class == "Contacts"
    ping = round_trip(docs.ping_request(480, read.added))
    assert ping.findtext(".//{Ping:}Class") == "Contacts"
    pong = E("Ping:Ping", E("Ping:Status", 2), E("Ping:Folders", E("Ping:Folder", "9")))
    assert docs.ping_folders(round_trip(pong)) == ["9"]


NOTICE_HTML = """<html><body><p>Choose how to get your email.</p>
<a href="https://mail.contoso.com/choice/tok-9f2E?app=keep&amp;x=1">Keep using this app</a>
<a href="https://mail.contoso.com/choice/tok-9f2E?app=outlook">Use Outlook</a></body></html>"""


def _mail(subject, body, body_type=2):
    data = E("AirSync:ApplicationData")
    sub(data, "Email:Subject", subject)
    sub(data, "Email:From", '"Microsoft on behalf of your organization" <no-reply@contoso.com>')
    body_element = sub(data, "AirSyncBase:Body")
    sub(body_element, "AirSyncBase:Type", body_type)
    sub(body_element, "AirSyncBase:Data", body)
    return round_trip(data)


def test_notice_is_recognised_with_its_two_links():
    subject = "Action required: choose how to get your contoso.com email on iPhone"
    item = read_item("5:40", "Email", _mail(subject, NOTICE_HTML))
    notice = find_notice(item)
    assert notice is not None and notice.subject == subject
    assert notice.keep_url == "https://mail.contoso.com/choice/tok-9f2E?app=keep"
    assert notice.outlook_url == "https://mail.contoso.com/choice/tok-9f2E?app=outlook"
    assert find_notice(read_item("5:1", "Email", _mail("Lunch?", "<p>at noon</p>"))) is None


def test_notice_links_are_found_inside_a_quoted_printable_mime_body():
    mime = (
        "From: no-reply@contoso.com\r\nSubject: Action required: choose how to get your "
        "contoso.com email on iPhone\r\nMIME-Version: 1.0\r\nContent-Type: text/html; "
        "charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        '<a href=3D"http://127.0.0.1:8080/choice/abc?app=3Dkeep">keep</a> '
        '<a href=3D"http://127.0.0.1:8080/choice/abc?app=3Doutlook">outlook</a>\r\n'
    )
    data = _mail("x", "", body_type=4)
    data.find("{AirSyncBase:}Body/{AirSyncBase:}Data").text = mime
    item = read_item("5:41", "Email", data)
    notice = find_notice(item)
    assert notice.keep_url == "http://127.0.0.1:8080/choice/abc?app=keep"
    assert notice.outlook_url == "http://127.0.0.1:8080/choice/abc?app=outlook"


def test_choice_form_is_read_as_a_browser_submits_it():
    page = """<html><body><form method="post" action="/choice/abc">
      <input type="hidden" name="app" value="keep">
      <input type="hidden" name="csrf" value="t0k">
      <input type="checkbox" name="remember">
      <button type="submit" name="confirm" value="yes">Keep using this app</button>
      <button type="submit" name="cancel" value="no">Cancel</button></form></body></html>"""
    form = parse_form(page)
    assert form.method == "post" and form.action == "/choice/abc"
    assert form.fields == [("app", "keep"), ("csrf", "t0k"), ("confirm", "yes")]
    assert parse_form("<p>no form</p>") is None
