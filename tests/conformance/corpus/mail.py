"""Mail: FolderSync, a Sync request, a Sync response with three mails, SendMail, Search."""
from __future__ import annotations

from corpus import document
from protocol.xml import E, sub


def html_body(paragraphs: int) -> str:
    para = ("<p>Hello team,\r\nplease find the figures for the quarter below. Revenue grew "
            "in every region &amp; costs stayed flat.</p>\r\n")
    return "<html><body>\r\n" + para * paragraphs + "</body></html>\r\n"


@document
def foldersync_request():
    return E("FolderHierarchy:FolderSync", E("FolderHierarchy:SyncKey", "0"))


@document
def foldersync_response():
    root = E("FolderHierarchy:FolderSync")
    sub(root, "FolderHierarchy:Status", 1)
    sub(root, "FolderHierarchy:SyncKey", "{8c1a0f5e-3b2d-4f7a-9e61-1d2c3b4a5f60}1")
    changes = sub(root, "FolderHierarchy:Changes")
    folders = [("1", "Calendar", 8), ("2", "Inbox", 2), ("3", "Drafts", 3),
               ("4", "Deleted Items", 4), ("5", "Sent Items", 5), ("6", "Outbox", 6),
               ("7", "Contacts", 9), ("8", "Tasks", 7), ("9", "Notes", 10),
               ("10", "Projekte – Ärger & Co", 12)]
    sub(changes, "FolderHierarchy:Count", len(folders))
    for server_id, name, folder_type in folders:
        add = sub(changes, "FolderHierarchy:Add")
        sub(add, "FolderHierarchy:ServerId", server_id)
        sub(add, "FolderHierarchy:ParentId", "2" if folder_type == 12 else "0")
        sub(add, "FolderHierarchy:DisplayName", name)
        sub(add, "FolderHierarchy:Type", folder_type)
    return root


@document
def sync_request_mail():
    root = E("AirSync:Sync")
    collection = sub(sub(root, "AirSync:Collections"), "AirSync:Collection")
    sub(collection, "AirSync:SyncKey", "1534275413")
    sub(collection, "AirSync:CollectionId", "2")
    sub(collection, "AirSync:DeletesAsMoves", 1)
    sub(collection, "AirSync:GetChanges")
    sub(collection, "AirSync:WindowSize", 25)
    options = sub(collection, "AirSync:Options")
    sub(options, "AirSync:FilterType", 3)
    preference = sub(options, "AirSyncBase:BodyPreference")
    sub(preference, "AirSyncBase:Type", 2)
    sub(preference, "AirSyncBase:TruncationSize", 51200)
    sub(preference, "AirSyncBase:AllOrNone", 0)
    sub(options, "AirSync:MIMESupport", 0)
    commands = sub(collection, "AirSync:Commands")
    change = sub(commands, "AirSync:Change")
    sub(change, "AirSync:ServerId", "2:14")
    data = sub(change, "AirSync:ApplicationData")
    sub(data, "Email:Read", 1)
    flag = sub(data, "Email:Flag")
    sub(flag, "Email:Status", 2)
    sub(flag, "Email:FlagType", "Follow up")
    sub(flag, "Tasks:StartDate", "2026-11-20T00:00:00.000Z")
    sub(flag, "Tasks:UtcStartDate", "2026-11-20T00:00:00.000Z")
    sub(flag, "Tasks:DueDate", "2026-11-27T00:00:00.000Z")
    sub(flag, "Tasks:UtcDueDate", "2026-11-27T00:00:00.000Z")
    delete = sub(commands, "AirSync:Delete")
    sub(delete, "AirSync:ServerId", "2:9")
    return root


def _mail(commands, server_id, *, subject, sender, to, body, attachments=(), read=0):
    add = sub(commands, "AirSync:Add")
    sub(add, "AirSync:ServerId", server_id)
    data = sub(add, "AirSync:ApplicationData")
    sub(data, "Email:To", to)
    sub(data, "Email:From", sender)
    sub(data, "Email:Subject", subject)
    sub(data, "Email:DateReceived", "2026-11-20T09:15:00.000Z")
    sub(data, "Email:DisplayTo", to.split("<")[0].strip().strip('"'))
    sub(data, "Email:ThreadTopic", subject)
    sub(data, "Email:Importance", 1)
    sub(data, "Email:Read", read)
    if attachments:
        attachment_list = sub(data, "AirSyncBase:Attachments")
        for number, (name, size, inline) in enumerate(attachments):
            attachment = sub(attachment_list, "AirSyncBase:Attachment")
            sub(attachment, "AirSyncBase:DisplayName", name)
            sub(attachment, "AirSyncBase:FileReference", f"{server_id}:{number}")
            sub(attachment, "AirSyncBase:Method", 1)
            sub(attachment, "AirSyncBase:EstimatedDataSize", size)
            if inline:
                sub(attachment, "AirSyncBase:ContentId", f"image{number}@contoso.com")
                sub(attachment, "AirSyncBase:IsInline", 1)
    body_element = sub(data, "AirSyncBase:Body")
    sub(body_element, "AirSyncBase:Type", 2)
    sub(body_element, "AirSyncBase:EstimatedDataSize", len(body.encode()))
    sub(body_element, "AirSyncBase:Data", body)
    sub(data, "Email:MessageClass", "IPM.Note")
    sub(data, "Email:InternetCPID", 65001)
    sub(data, "Email:Flag")  # unflagged: Exchange sends the empty element
    categories = sub(data, "Email:Categories")
    sub(categories, "Email:Category", "Finance")
    sub(data, "Email:ContentClass", "urn:content-classes:message")
    sub(data, "AirSyncBase:NativeBodyType", 2)
    sub(data, "Email2:ConversationId", bytes.fromhex("5f2c9a0012ff00e1d4c3b2a190807f6e"))
    sub(data, "Email2:ConversationIndex", bytes.fromhex("01d95b7c3a00"))
    return add


@document
def sync_response_mail():
    root = E("AirSync:Sync")
    collection = sub(sub(root, "AirSync:Collections"), "AirSync:Collection")
    sub(collection, "AirSync:SyncKey", "1534275414")
    sub(collection, "AirSync:CollectionId", "2")
    sub(collection, "AirSync:Status", 1)
    commands = sub(collection, "AirSync:Commands")
    _mail(commands, "2:21", subject="Quarterly report", sender='"Dana Kim" <dana@fabrikam.com>',
          to='"Alice Wong" <alice@contoso.com>', body=html_body(165))  # a 20 KB body
    _mail(commands, "2:22", subject="Réunion trimestrielle – 会議 📅 Ünïcödé",
          sender='"Zoë Ångström" <zoe@fabrikam.com>', to='"Alice Wong" <alice@contoso.com>',
          body="<p>Grüße aus München — à bientôt!</p>", read=1)
    _mail(commands, "2:23", subject="Slides and the logo",
          sender='"Bob Stone" <bob@contoso.com>', to='"Alice Wong" <alice@contoso.com>',
          body=html_body(2), attachments=[("Q4 slides.pptx", 482113, False),
                                          ("logo.png", 10240, True)])
    sub(collection, "AirSync:MoreAvailable")
    return root


@document
def sendmail_request():
    mime = (b"From: alice@contoso.com\r\nTo: dana@fabrikam.com\r\n"
            b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
            b"\r\nHallo Dana,\r\n\r\nviele Gr\xc3\xbc\xc3\x9fe\r\nAlice\r\n")
    root = E("ComposeMail:SendMail")
    sub(root, "ComposeMail:ClientId", "SendMail-638671234567890123")
    sub(root, "ComposeMail:SaveInSentItems")
    sub(root, "ComposeMail:Mime", mime)
    return root


@document
def sendmail_response_error():
    return E("ComposeMail:SendMail", E("ComposeMail:Status", "130"))


@document
def search_request_mailbox():
    root = E("Search:Search")
    store = sub(root, "Search:Store")
    sub(store, "Search:Name", "Mailbox")
    conjunction = sub(sub(store, "Search:Query"), "Search:And")
    sub(conjunction, "AirSync:Class", "Email")
    sub(conjunction, "AirSync:CollectionId", "2")
    sub(conjunction, "Search:FreeText", "quarterly")
    options = sub(store, "Search:Options")
    sub(options, "Search:RebuildResults")
    sub(options, "Search:DeepTraversal")
    sub(options, "Search:Range", "0-9")
    preference = sub(options, "AirSyncBase:BodyPreference")
    sub(preference, "AirSyncBase:Type", 1)
    sub(preference, "AirSyncBase:TruncationSize", 256)
    return root


@document
def search_response_mailbox():
    root = E("Search:Search")
    sub(root, "Search:Status", 1)
    store = sub(sub(root, "Search:Response"), "Search:Store")
    sub(store, "Search:Status", 1)
    for number in range(2):
        result = sub(store, "Search:Result")
        sub(result, "AirSync:Class", "Email")
        sub(result, "Search:LongId", f"RgAAAAAdQZ{number}AAAJ")
        sub(result, "AirSync:CollectionId", "2")
        properties = sub(result, "Search:Properties")
        sub(properties, "Email:To", '"Alice Wong" <alice@contoso.com>')
        sub(properties, "Email:From", '"Dana Kim" <dana@fabrikam.com>')
        sub(properties, "Email:Subject", f"Quarterly report ({number + 1})")
        sub(properties, "Email:DateReceived", "2026-11-19T17:02:11.000Z")
        sub(properties, "Email:Read", 1)
        body = sub(properties, "AirSyncBase:Body")
        sub(body, "AirSyncBase:Type", 1)
        sub(body, "AirSyncBase:EstimatedDataSize", 1822)
        sub(body, "AirSyncBase:Truncated", 1)
        sub(body, "AirSyncBase:Data", "Hello team,\r\nplease find the figures for the quarter")
    sub(store, "Search:Range", "0-1")
    sub(store, "Search:Total", 2)
    return root
