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


async def test_digit_like_characters_are_not_numbers(live_server):
    # scripts/fuzz.py --replay 551806: MaxAmbiguousRecipients "²" passed str.isdigit and
    # then made int() fail (HTTP 500). Every number from a client is read as ASCII digits
    # (protocol/numbers.py); anything else is as if absent, or the command's own error.
    resolve = E("ResolveRecipients:ResolveRecipients", E("ResolveRecipients:To", "bob"),
                E("ResolveRecipients:Options",
                  E("ResolveRecipients:MaxAmbiguousRecipients", "²")))
    answer = await live_server.eas("ResolveRecipients", resolve)
    assert (answer.status, answer.eas_status) == (200, 1)
    oof = E("Settings:Settings", E("Settings:Oof", E("Settings:Set",
                                                       E("Settings:OofState", "¹"))))
    answer = await live_server.eas("Settings", oof)
    assert answer.status == 200
    assert answer.document.findtext(".//{Settings:}Oof/{Settings:}Status") == "2"
    search = E("Search:Search", E("Search:Store", E("Search:Name", "GAL"),
                                  E("Search:Query", "bob"),
                                  E("Search:Options", E("Search:Range", "0-⁹"))))
    answer = await live_server.eas("Search", search)
    assert answer.status == 200 and answer.eas_status is not None
