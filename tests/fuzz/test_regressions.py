"""Bodies the fuzzers found that once made the gateway fail, kept as plain tests."""
from __future__ import annotations

from protocol.xml import E


async def test_itemoperations_with_a_stray_element_is_a_protocol_error(live_server):
    # scripts/fuzz.py --seed 7 --replay 2460: a CollectionId straight under ItemOperations
    # was answered as an "ItemOperations:CollectionId" operation, a tag no code page holds,
    # and the answer could not be encoded (HTTP 500).
    document = E("ItemOperations:ItemOperations",
                 E("ItemOperations:EmptyFolderContents", E("AirSync:CollectionId", "4")),
                 E("AirSync:CollectionId", "4"))
    answer = await live_server.eas("ItemOperations", document)
    assert answer.status == 200
    assert answer.eas_status == 2
    for stray in (E("Email:Subject", "x"), E("ItemOperations:Store", "Mailbox")):
        answer = await live_server.eas("ItemOperations", E("ItemOperations:ItemOperations", stray))
        assert (answer.status, answer.eas_status) == (200, 2)
