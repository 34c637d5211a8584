"""Exchanges as the dispatcher hands them to observers, for the observe unit tests."""
import base64
from datetime import UTC, datetime

from gateway.exchange import Exchange
from protocol.xml import E

PASSWORD = "demo-pass"
AUTH = "Basic " + base64.b64encode(f"alice@contoso.com:{PASSWORD}".encode()).decode()


def sync_exchange(device_pk: int | None = 7, **changes) -> Exchange:
    request = E("AirSync:Sync", E("AirSync:Collections", E("AirSync:Collection",
                E("AirSync:SyncKey", "0"), E("AirSync:CollectionId", "5"))))
    response = E("AirSync:Sync", E("AirSync:Collections", E("AirSync:Collection",
                 E("AirSync:SyncKey", "{a}1"), E("AirSync:CollectionId", "5"),
                 E("AirSync:Status", "1"))))
    fields = dict(
        method="POST",
        path="/Microsoft-Server-ActiveSync",
        query="Cmd=Sync&User=alice@contoso.com&DeviceId=ABC123&DeviceType=iPhone",
        request_headers={"Authorization": AUTH, "User-Agent": "Apple-iPhone14C2/2104.92",
                         "MS-ASProtocolVersion": "16.1"},
        started_at=datetime(2026, 11, 20, 9, 15, tzinfo=UTC),
        command="Sync",
        protocol_version="16.1",
        device_id="ABC123",
        device_type="iPhone",
        device_pk=device_pk,
        user_address="alice@contoso.com",
        request_document=request,
        response_status=200,
        response_headers={"MS-Server-ActiveSync": "16.1"},
        response_document=response,
        duration_s=0.0123,
    )
    fields.update(changes)
    return Exchange(**fields)
