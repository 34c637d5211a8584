"""The notice's choice links (SPEC §4): GET shows a confirmation and changes nothing, the
form POST records the choice, and used, unknown, expired or guessed tokens get a clear page
with a 4xx."""
from __future__ import annotations

from typing import Any

from protocol.xml import E


async def quarantined_iphone(live_server: Any, device_id: str = "IPHONE1") -> Any:
    await live_server.services.access.set_mode("contoso.com", "recommend-all")
    await live_server.eas("FolderSync", E("FolderHierarchy:FolderSync",
                                          E("FolderHierarchy:SyncKey", "0")),
                          device_id=device_id)
    alice = await live_server.store.get_user("alice@contoso.com")
    return await live_server.store.get_device(alice.id, device_id)


async def get(live_server: Any, path: str) -> tuple[int, str]:
    session = await live_server.session()
    async with session.get(f"{live_server.http_url}{path}") as response:
        return response.status, await response.text()


async def post(live_server: Any, path: str, form: dict[str, str]) -> tuple[int, str]:
    session = await live_server.session()
    async with session.post(f"{live_server.http_url}{path}", data=form) as response:
        return response.status, await response.text()


async def test_the_notice_links_lead_to_a_confirmation_that_changes_nothing(
        live_server: Any) -> None:
    device = await quarantined_iphone(live_server)
    notice = await live_server.store.get_item(device.user_id, device.notice_server_id)
    link = f"/choice/{device.choice_token}?app=keep"
    assert link in notice.body_text and link in (notice.body_html or "")
    status, page = await get(live_server, link)
    assert status == 200 and "keep using iphone" in page.lower()
    assert 'method="post"' in page and f'action="/choice/{device.choice_token}"' in page
    status, page = await get(live_server, f"/choice/{device.choice_token}")
    assert status == 200 and 'value="outlook"' in page and 'value="keep"' in page
    after = await live_server.store.get_device_by_pk(device.id)
    assert (after.state, after.choice) == ("quarantined", None)


async def test_the_form_records_the_choice_once(live_server: Any) -> None:
    device = await quarantined_iphone(live_server)
    status, page = await post(live_server, f"/choice/{device.choice_token}", {"app": "outlook"})
    assert status == 200 and "recorded" in page
    chosen = await live_server.store.get_device_by_pk(device.id)
    assert (chosen.state, chosen.reason, chosen.choice) == ("quarantined", "chose-outlook",
                                                            "outlook")
    status, page = await post(live_server, f"/choice/{device.choice_token}", {"app": "keep"})
    assert status == 409 and "already" in page
    status, page = await get(live_server, f"/choice/{device.choice_token}?app=keep")
    assert status == 409
    assert (await live_server.store.get_device_by_pk(device.id)).choice == "outlook"


async def test_guessed_unknown_and_malformed_tokens(live_server: Any) -> None:
    await quarantined_iphone(live_server)
    for token in ("A" * 32, "short", "%3Cscript%3E", "x" * 300):
        status, page = await get(live_server, f"/choice/{token}?app=keep")
        assert status == 404 and "not valid" in page, token
        status, page = await post(live_server, f"/choice/{token}", {"app": "keep"})
        assert status == 404, token
    assert "<script>" not in page


async def test_a_token_is_bound_to_its_own_device(live_server: Any) -> None:
    first = await quarantined_iphone(live_server, "IPHONE1")
    second = await quarantined_iphone(live_server, "IPHONE2")
    assert first.choice_token != second.choice_token
    await post(live_server, f"/choice/{first.choice_token}", {"app": "keep"})
    assert (await live_server.store.get_device_by_pk(first.id)).state == "allowed"
    assert (await live_server.store.get_device_by_pk(second.id)).state == "quarantined"


async def test_an_expired_notice_and_bad_forms(live_server: Any) -> None:
    device = await quarantined_iphone(live_server)
    status, _ = await post(live_server, f"/choice/{device.choice_token}", {"app": "maybe"})
    assert status == 400
    status, _ = await get(live_server, f"/choice/{device.choice_token}?app=maybe")
    assert status == 400
    await live_server.clock.advance(24 * 3600)
    status, page = await post(live_server, f"/choice/{device.choice_token}", {"app": "keep"})
    assert status == 410 and "expired" in page
    assert (await live_server.store.get_device_by_pk(device.id)).reason == "timeout"
