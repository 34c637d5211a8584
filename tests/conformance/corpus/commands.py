"""The other commands: Provision (both phases), Ping, Settings, ItemOperations, GAL search,
ResolveRecipients, MeetingResponse, GetItemEstimate, MoveItems and Find."""
from __future__ import annotations

from corpus import document
from protocol.xml import E, sub

POLICY_TYPE = "MS-EAS-Provisioning-WBXML"


def _device_information(parent) -> None:
    info = sub(sub(parent, "Settings:DeviceInformation"), "Settings:Set")
    sub(info, "Settings:Model", "SM-S918B")
    sub(info, "Settings:IMEI", "356938035643809")
    sub(info, "Settings:FriendlyName", "Galaxy S23 Ultra von Zoë")
    sub(info, "Settings:OS", "Android 14")
    sub(info, "Settings:OSLanguage", "German")
    sub(info, "Settings:PhoneNumber", "+491512345678")
    sub(info, "Settings:MobileOperator", "Telekom.de")
    sub(info, "Settings:UserAgent", "Android-SAMSUNG-SM-S918B/101.140102")


@document
def provision_request_initial():
    root = E("Provision:Provision")
    _device_information(root)
    policy = sub(sub(root, "Provision:Policies"), "Provision:Policy")
    sub(policy, "Provision:PolicyType", POLICY_TYPE)
    return root


@document
def provision_response_initial():
    root = E("Provision:Provision")
    sub(sub(root, "Settings:DeviceInformation"), "Settings:Status", 1)
    sub(root, "Provision:Status", 1)
    policy = sub(sub(root, "Provision:Policies"), "Provision:Policy")
    sub(policy, "Provision:PolicyType", POLICY_TYPE)
    sub(policy, "Provision:Status", 1)
    sub(policy, "Provision:PolicyKey", "1307199584")
    doc = sub(sub(policy, "Provision:Data"), "Provision:EASProvisionDoc")
    settings = [
        ("DevicePasswordEnabled", 1), ("AlphanumericDevicePasswordRequired", 0),
        ("PasswordRecoveryEnabled", 1), ("RequireStorageCardEncryption", 0),
        ("AttachmentsEnabled", 1), ("MinDevicePasswordLength", 6),
        ("MaxInactivityTimeDeviceLock", 900), ("MaxDevicePasswordFailedAttempts", 8),
        ("MaxAttachmentSize", None), ("AllowSimpleDevicePassword", 0),
        ("DevicePasswordExpiration", 90), ("DevicePasswordHistory", 5),
        ("AllowStorageCard", 1), ("AllowCamera", 1), ("RequireDeviceEncryption", 1),
        ("AllowUnsignedApplications", 1), ("AllowUnsignedInstallationPackages", 1),
        ("MinDevicePasswordComplexCharacters", 1), ("AllowWiFi", 1),
        ("AllowTextMessaging", 1), ("AllowPOPIMAPEmail", 1), ("AllowBluetooth", 2),
        ("AllowIrDA", 1), ("RequireManualSyncWhenRoaming", 0), ("AllowDesktopSync", 1),
        ("MaxCalendarAgeFilter", 0), ("AllowHTMLEmail", 1), ("MaxEmailAgeFilter", 0),
        ("MaxEmailBodyTruncationSize", -1), ("MaxEmailHTMLBodyTruncationSize", -1),
        ("RequireSignedSMIMEMessages", 0), ("RequireEncryptedSMIMEMessages", 0),
        ("RequireSignedSMIMEAlgorithm", 0), ("RequireEncryptionSMIMEAlgorithm", 0),
        ("AllowSMIMEEncryptionAlgorithmNegotiation", 2), ("AllowSMIMESoftCerts", 1),
        ("AllowBrowser", 1), ("AllowConsumerEmail", 1), ("AllowRemoteDesktop", 1),
        ("AllowInternetSharing", 1),
    ]
    for name, value in settings:
        sub(doc, f"Provision:{name}", value)
    unapproved = sub(doc, "Provision:UnapprovedInROMApplicationList")
    sub(unapproved, "Provision:ApplicationName", "Solitaire")
    approved = sub(doc, "Provision:ApprovedApplicationList")
    sub(approved, "Provision:Hash", "3F2504E04F8911D39A0C0305E82C3301")
    return root


@document
def provision_request_ack():
    root = E("Provision:Provision")
    policy = sub(sub(root, "Provision:Policies"), "Provision:Policy")
    sub(policy, "Provision:PolicyType", POLICY_TYPE)
    sub(policy, "Provision:PolicyKey", "1307199584")
    sub(policy, "Provision:Status", 1)
    return root


@document
def provision_response_ack():
    root = E("Provision:Provision")
    sub(root, "Provision:Status", 1)
    policy = sub(sub(root, "Provision:Policies"), "Provision:Policy")
    sub(policy, "Provision:PolicyType", POLICY_TYPE)
    sub(policy, "Provision:Status", 1)
    sub(policy, "Provision:PolicyKey", "3942919513")
    return root


@document
def provision_response_wipe():
    root = E("Provision:Provision")
    sub(root, "Provision:Status", 1)
    sub(root, "Provision:AccountOnlyRemoteWipe")
    return root


@document
def ping_request():
    root = E("Ping:Ping")
    sub(root, "Ping:HeartbeatInterval", 470)
    folders = sub(root, "Ping:Folders")
    for folder_id, folder_class in [("2", "Email"), ("1", "Calendar"), ("7", "Contacts")]:
        folder = sub(folders, "Ping:Folder")
        sub(folder, "Ping:Id", folder_id)
        sub(folder, "Ping:Class", folder_class)
    return root


@document
def ping_response():
    root = E("Ping:Ping")
    sub(root, "Ping:Status", 2)
    sub(sub(root, "Ping:Folders"), "Ping:Folder", "2")
    return root


@document
def settings_request():
    root = E("Settings:Settings")
    sub(sub(sub(root, "Settings:Oof"), "Settings:Get"), "Settings:BodyType", "Text")
    _device_information(root)
    sub(sub(root, "Settings:UserInformation"), "Settings:Get")
    return root


@document
def settings_response():
    root = E("Settings:Settings")
    sub(root, "Settings:Status", 1)
    oof = sub(root, "Settings:Oof")
    sub(oof, "Settings:Status", 1)
    get = sub(oof, "Settings:Get")
    sub(get, "Settings:OofState", 2)
    sub(get, "Settings:StartTime", "2026-12-21T00:00:00.000Z")
    sub(get, "Settings:EndTime", "2027-01-06T00:00:00.000Z")
    for audience, text in [("AppliesToInternal", "Bin im Urlaub — zurück am 6. Januar."),
                           ("AppliesToExternalKnown", "Out of office until January 6."),
                           ("AppliesToExternalUnknown", None)]:
        message = sub(get, "Settings:OofMessage")
        sub(message, f"Settings:{audience}")
        sub(message, "Settings:Enabled", 0 if text is None else 1)
        if text is not None:
            sub(message, "Settings:ReplyMessage", text)
            sub(message, "Settings:BodyType", "TEXT")
    sub(sub(root, "Settings:DeviceInformation"), "Settings:Status", 1)
    information = sub(root, "Settings:UserInformation")
    sub(information, "Settings:Status", 1)
    account = sub(sub(sub(information, "Settings:Get"), "Settings:Accounts"), "Settings:Account")
    sub(account, "Settings:UserDisplayName", "Alice Wong")
    addresses = sub(account, "Settings:EmailAddresses")
    sub(addresses, "Settings:SmtpAddress", "alice@contoso.com")
    sub(addresses, "Settings:SmtpAddress", "a.wong@contoso.com")
    sub(addresses, "Settings:PrimarySmtpAddress", "alice@contoso.com")
    return root


@document
def itemoperations_request():
    root = E("ItemOperations:ItemOperations")
    fetch = sub(root, "ItemOperations:Fetch")
    sub(fetch, "ItemOperations:Store", "Mailbox")
    sub(fetch, "AirSync:CollectionId", "2")
    sub(fetch, "AirSync:ServerId", "2:21")
    options = sub(fetch, "ItemOperations:Options")
    preference = sub(options, "AirSyncBase:BodyPreference")
    sub(preference, "AirSyncBase:Type", 4)
    attachment = sub(root, "ItemOperations:Fetch")
    sub(attachment, "ItemOperations:Store", "Mailbox")
    sub(attachment, "AirSyncBase:FileReference", "2:23:1")
    empty = sub(root, "ItemOperations:EmptyFolderContents")
    sub(empty, "AirSync:CollectionId", "4")
    sub(sub(empty, "ItemOperations:Options"), "ItemOperations:DeleteSubFolders")
    return root


@document
def itemoperations_response():
    root = E("ItemOperations:ItemOperations")
    sub(root, "ItemOperations:Status", 1)
    response = sub(root, "ItemOperations:Response")
    fetch = sub(response, "ItemOperations:Fetch")
    sub(fetch, "ItemOperations:Status", 1)
    sub(fetch, "AirSync:CollectionId", "2")
    sub(fetch, "AirSync:ServerId", "2:21")
    sub(fetch, "AirSync:Class", "Email")
    properties = sub(fetch, "ItemOperations:Properties")
    sub(properties, "Email:Subject", "Quarterly report")
    body = sub(properties, "AirSyncBase:Body")
    sub(body, "AirSyncBase:Type", 4)
    sub(body, "AirSyncBase:EstimatedDataSize", 96)
    sub(body, "AirSyncBase:Data", "From: dana@fabrikam.com\r\nSubject: Quarterly report\r\n"
                                  "Content-Type: text/plain\r\n\r\nSee attached.\r\n")
    attachment = sub(response, "ItemOperations:Fetch")
    sub(attachment, "ItemOperations:Status", 1)
    sub(attachment, "AirSyncBase:FileReference", "2:23:1")
    properties = sub(attachment, "ItemOperations:Properties")
    sub(properties, "AirSyncBase:ContentType", "image/png")
    sub(properties, "ItemOperations:Range", "0-67")
    sub(properties, "ItemOperations:Total", 68)
    sub(properties, "ItemOperations:Data", "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
    empty = sub(response, "ItemOperations:EmptyFolderContents")
    sub(empty, "ItemOperations:Status", 1)
    sub(empty, "AirSync:CollectionId", "4")
    return root


@document
def search_request_gal():
    root = E("Search:Search")
    store = sub(root, "Search:Store")
    sub(store, "Search:Name", "GAL")
    sub(store, "Search:Query", "zoë")
    options = sub(store, "Search:Options")
    sub(options, "Search:Range", "0-19")
    picture = sub(options, "Search:Picture")
    sub(picture, "Search:MaxSize", 10240)
    sub(picture, "Search:MaxPictures", 5)
    return root


@document
def search_response_gal():
    root = E("Search:Search")
    sub(root, "Search:Status", 1)
    store = sub(sub(root, "Search:Response"), "Search:Store")
    sub(store, "Search:Status", 1)
    result = sub(store, "Search:Result")
    properties = sub(result, "Search:Properties")
    sub(properties, "GAL:DisplayName", "Zoë Ångström")
    sub(properties, "GAL:Phone", "+46 8 555 010")
    sub(properties, "GAL:Office", "Stockholm 3")
    sub(properties, "GAL:Title", "Controller")
    sub(properties, "GAL:Company", "Contoso Nordic")
    sub(properties, "GAL:Alias", "zoea")
    sub(properties, "GAL:FirstName", "Zoë")
    sub(properties, "GAL:LastName", "Ångström")
    sub(properties, "GAL:MobilePhone", "+46 70 123 45 67")
    sub(properties, "GAL:EmailAddress", "zoe@contoso.se")
    picture = sub(properties, "GAL:Picture")
    sub(picture, "GAL:Status", 1)
    sub(picture, "GAL:Data", "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ")
    sub(store, "Search:Range", "0-0")
    sub(store, "Search:Total", 1)
    return root


@document
def resolverecipients_request():
    root = E("ResolveRecipients:ResolveRecipients")
    sub(root, "ResolveRecipients:To", "dana@fabrikam.com")
    sub(root, "ResolveRecipients:To", "Zoë")
    options = sub(root, "ResolveRecipients:Options")
    sub(options, "ResolveRecipients:CertificateRetrieval", 2)
    sub(options, "ResolveRecipients:MaxAmbiguousRecipients", 5)
    availability = sub(options, "ResolveRecipients:Availability")
    sub(availability, "ResolveRecipients:StartTime", "2026-11-23T08:00:00.000Z")
    sub(availability, "ResolveRecipients:EndTime", "2026-11-23T12:00:00.000Z")
    return root


@document
def resolverecipients_response():
    root = E("ResolveRecipients:ResolveRecipients")
    sub(root, "ResolveRecipients:Status", 1)
    response = sub(root, "ResolveRecipients:Response")
    sub(response, "ResolveRecipients:To", "dana@fabrikam.com")
    sub(response, "ResolveRecipients:Status", 1)
    sub(response, "ResolveRecipients:RecipientCount", 1)
    recipient = sub(response, "ResolveRecipients:Recipient")
    sub(recipient, "ResolveRecipients:Type", 1)
    sub(recipient, "ResolveRecipients:DisplayName", "Dana Kim")
    sub(recipient, "ResolveRecipients:EmailAddress", "dana@fabrikam.com")
    availability = sub(recipient, "ResolveRecipients:Availability")
    sub(availability, "ResolveRecipients:Status", 1)
    sub(availability, "ResolveRecipients:MergedFreeBusy", "00220000")
    certificates = sub(recipient, "ResolveRecipients:Certificates")
    sub(certificates, "ResolveRecipients:Status", 1)
    sub(certificates, "ResolveRecipients:CertificateCount", 1)
    sub(certificates, "ResolveRecipients:RecipientCount", 1)
    sub(certificates, "ResolveRecipients:Certificate", "MIIBszCCAVmgAwIBAgIUQ2lZ")
    return root


@document
def meetingresponse_request():
    root = E("MeetingResponse:MeetingResponse")
    request = sub(root, "MeetingResponse:Request")
    sub(request, "MeetingResponse:UserResponse", 1)
    sub(request, "MeetingResponse:CollectionId", "2")
    sub(request, "MeetingResponse:RequestId", "2:31")
    sub(request, "MeetingResponse:InstanceId", "2026-12-07T08:00:00.000Z")
    send = sub(request, "MeetingResponse:SendResponse")
    _body = sub(send, "AirSyncBase:Body")
    sub(_body, "AirSyncBase:Type", 1)
    sub(_body, "AirSyncBase:Data", "Gerne, bis Montag!")
    return root


@document
def meetingresponse_response():
    root = E("MeetingResponse:MeetingResponse")
    result = sub(root, "MeetingResponse:Result")
    sub(result, "MeetingResponse:RequestId", "2:31")
    sub(result, "MeetingResponse:Status", 1)
    sub(result, "MeetingResponse:CalendarId", "1:12")
    return root


@document
def getitemestimate_request():
    root = E("GetItemEstimate:GetItemEstimate")
    collections = sub(root, "GetItemEstimate:Collections")
    for collection_id, key in [("2", "1534275414"), ("1", "807")]:
        collection = sub(collections, "GetItemEstimate:Collection")
        sub(collection, "AirSync:SyncKey", key)
        sub(collection, "GetItemEstimate:CollectionId", collection_id)
        options = sub(collection, "AirSync:Options")
        sub(options, "AirSync:FilterType", 3)
    return root


@document
def getitemestimate_response():
    root = E("GetItemEstimate:GetItemEstimate")
    for collection_id, estimate in [("2", 17), ("1", 0)]:
        response = sub(root, "GetItemEstimate:Response")
        sub(response, "GetItemEstimate:Status", 1)
        collection = sub(response, "GetItemEstimate:Collection")
        sub(collection, "GetItemEstimate:CollectionId", collection_id)
        sub(collection, "GetItemEstimate:Estimate", estimate)
    return root


@document
def moveitems_request():
    root = E("Move:MoveItems")
    for server_id in ("2:21", "2:22"):
        move = sub(root, "Move:Move")
        sub(move, "Move:SrcMsgId", server_id)
        sub(move, "Move:SrcFldId", "2")
        sub(move, "Move:DstFldId", "10")
    return root


@document
def moveitems_response():
    root = E("Move:MoveItems")
    for number, server_id in enumerate(("2:21", "2:22"), start=1):
        response = sub(root, "Move:Response")
        sub(response, "Move:SrcMsgId", server_id)
        sub(response, "Move:Status", 3)
        sub(response, "Move:DstMsgId", f"10:{number}")
    return root


@document
def find_request():
    root = E("Find:Find")
    sub(root, "Find:SearchId", "2A3B4C5D-1E2F-4A5B-8C9D-0E1F2A3B4C5D")
    criterion = sub(sub(root, "Find:ExecuteSearch"), "Find:MailBoxSearchCriterion")
    query = sub(criterion, "Find:Query")
    sub(query, "AirSync:Class", "Email")
    sub(query, "AirSync:CollectionId", "2")
    sub(query, "Find:FreeText", "Quartalsbericht")
    options = sub(criterion, "Find:Options")
    sub(options, "Find:Range", "0-99")
    sub(options, "Find:DeepTraversal")
    return root


@document
def find_response():
    root = E("Find:Find")
    sub(root, "Find:Status", 1)
    response = sub(root, "Find:Response")
    sub(response, "ItemOperations:Store", "Mailbox")
    sub(response, "Find:Status", 1)
    result = sub(response, "Find:Result")
    sub(result, "AirSync:Class", "Email")
    sub(result, "AirSync:ServerId", "2:21")
    sub(result, "AirSync:CollectionId", "2")
    properties = sub(result, "Find:Properties")
    sub(properties, "Email:Subject", "Quartalsbericht Q4")
    sub(properties, "Email:DateReceived", "2026-11-20T09:15:00.000Z")
    sub(properties, "Email:DisplayTo", "Alice Wong")
    sub(properties, "Find:DisplayCc", "Bob Stone")
    sub(properties, "Find:Preview", "Hallo zusammen, anbei die Zahlen …")
    sub(properties, "Find:HasAttachments", 1)
    sub(response, "Find:Range", "0-0")
    sub(response, "Find:Total", 1)
    return root


@document
def find_request_gal():
    root = E("Find:Find")
    sub(root, "Find:SearchId", "7F1E2D3C-4B5A-4968-8776-65544332211F")
    criterion = sub(sub(root, "Find:ExecuteSearch"), "Find:GalSearchCriterion")
    sub(sub(criterion, "Find:Query"), "Find:FreeText", "Ångström")
    options = sub(criterion, "Find:Options")
    sub(options, "Find:Range", "0-9")
    picture = sub(options, "Find:Picture")
    sub(picture, "Find:MaxSize", 8192)
    sub(picture, "Find:MaxPictures", 3)
    return root
