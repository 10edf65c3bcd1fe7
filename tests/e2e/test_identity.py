"""Delegates are people, not browser tabs (issue 23), in Chromium: the same person after the page
is closed and a new one opened, on a second device through a personal sign-in code, and an
invitation-only event that refuses a stranger in their own language."""

from __future__ import annotations

import io
import re
from typing import Any

from playwright.async_api import Page, expect

from rooms import Role
from tests.client import http_client
from tests.e2e.pages import CONNECTED, PHONE, axe_violations, sign_in, sign_in_with_token, ui

CONVERSATION = '[data-testid^="conversation-c-"]'


def qr_codes(png: bytes) -> list[str]:
    """What a QR decoder (zxing-cpp) reads in a picture."""
    import zxingcpp
    from PIL import Image

    return [
        found.text
        for found in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
        if found.format == zxingcpp.BarcodeFormat.QRCode
    ]


async def identity(page: Page) -> dict[str, Any]:
    kept = await page.evaluate("JSON.parse(localStorage.getItem('babelroom.identity'))")
    assert kept and kept["token"] and kept["sid"]
    return dict(kept)


async def talked_to_by_aino(url: str, li_token: str) -> None:
    """Aino (another delegate) starts a private conversation with Li through the HTTP API."""
    async with http_client(url) as http:
        aino = (await http.post("/api/session", json={"name": "Aino", "lang": "fi"})).json()
        li = (await http.get("/api/me", headers={"authorization": f"Bearer {li_token}"})).json()
        started = await http.post(
            "/api/conversations", json={"with": [li["id"]]}, headers={"authorization": f"Bearer {aino['token']}"}
        )
        assert started.status_code in (200, 201), started.text


async def test_a_new_page_in_the_same_browser_is_the_same_person_with_the_same_conversations(make_server, new_page):
    server = await make_server(conversations={"policy": "open"})
    page = await new_page()
    await sign_in(page, server.url, "Li Wei", "en")
    first = await identity(page)
    await talked_to_by_aino(server.url, first["token"])
    await expect(page.locator(CONVERSATION)).to_contain_text("Aino")

    context = page.context
    await page.close()  # closing the tab (sessionStorage goes with it)
    again = await context.new_page()
    await again.goto(server.url)
    await expect(again.get_by_test_id("conn-status")).to_have_class(CONNECTED)
    await expect(again.get_by_test_id("me-name")).to_have_text("Li Wei")
    await expect(again.locator(CONVERSATION)).to_contain_text("Aino")
    assert (await identity(again))["sid"] == first["sid"]  # the same sign-in, not a new person

    # "Your devices" lists this browser once; signing out forgets the person in this browser
    await again.get_by_test_id("account-open").click()
    await expect(again.get_by_test_id("account-session")).to_have_count(1)
    await expect(again.get_by_test_id("account-session")).to_contain_text(ui("en", "account.thisDevice"))
    assert await axe_violations(again) == []
    await again.get_by_test_id("account-close").click()
    await again.get_by_test_id("sign-out").click()
    await expect(again.get_by_test_id("name")).to_be_visible()
    third = await context.new_page()
    await third.goto(server.url)
    await expect(third.get_by_test_id("name")).to_be_visible()  # the lobby: signed out for good
    async with http_client(server.url) as http:
        refused = await http.post("/api/session/renew", headers={"authorization": f"Bearer {first['token']}"})
    assert refused.status_code == 401


async def test_a_second_device_signs_in_with_the_personal_code_as_the_same_person(make_server, new_page):
    server = await make_server(conversations={"policy": "open"})
    laptop = await new_page()
    await sign_in(laptop, server.url, "Li Wei", "en")
    await talked_to_by_aino(server.url, (await identity(laptop))["token"])
    await laptop.get_by_test_id("account-open").click()
    await laptop.get_by_test_id("account-code").click()
    await expect(laptop.get_by_test_id("account-qr")).to_have_attribute("src", re.compile(r"^data:image/svg\+xml"))
    code = (await laptop.get_by_test_id("account-code-text").text_content() or "").strip()
    assert code
    # the QR code as the phone's camera reads it off the laptop's screen: the link with that code
    [scanned] = qr_codes(await laptop.get_by_test_id("account-qr").screenshot())
    assert scanned == f"{server.url}/#code={code}"

    phone = await new_page()  # another browser: no storage shared
    await phone.goto(server.url)
    await phone.locator("#code-box summary").click()
    await phone.get_by_test_id("signin-code").fill(code)
    await phone.get_by_test_id("start").click()
    await expect(phone.get_by_test_id("conn-status")).to_have_class(CONNECTED)
    await expect(phone.get_by_test_id("me-name")).to_have_text("Li Wei")
    await expect(phone.locator(CONVERSATION)).to_contain_text("Aino")

    # the laptop now lists two devices; a code used once does not work again
    await laptop.get_by_test_id("account-close").click()
    await laptop.get_by_test_id("account-open").click()
    await expect(laptop.get_by_test_id("account-session")).to_have_count(2)
    other = await new_page()
    await other.goto(scanned)
    await expect(other.get_by_test_id("lobby-error")).to_have_text(ui("en", "lobby.badSigninCode"))


async def test_an_invited_event_asks_for_the_personal_code_and_refuses_a_stranger_in_their_language(
    make_server, new_page
):
    server = await make_server(auth={"access": "invited"})
    stranger = await new_page(locale="de-DE")
    await stranger.goto(server.url)
    await expect(stranger.get_by_test_id("invited-note")).to_have_text(ui("de", "lobby.invitedNote"))
    await expect(stranger.get_by_test_id("name")).to_be_hidden()  # never a name
    await stranger.get_by_test_id("start").click()
    await expect(stranger.get_by_test_id("lobby-error")).to_have_text(ui("de", "error.invited_only"))
    await stranger.get_by_test_id("signin-code").fill("ABCDE-FGHJK")  # a guess
    await stranger.get_by_test_id("start").click()
    await expect(stranger.get_by_test_id("lobby-error")).to_have_text(ui("de", "lobby.badSigninCode"))
    assert await axe_violations(stranger) == []

    # an invited delegate's link (a code from a website token's holder) lets them in
    async with http_client(server.url) as http:
        made = (
            await http.post(
                "/api/me/signin-code",
                headers={"authorization": f"Bearer {server.token('Li Wei', lang='de', user_id='u_li')}"},
            )
        ).json()
    invited = await new_page(locale="de-DE")
    await invited.goto(made["url"])
    await expect(invited.get_by_test_id("conn-status")).to_have_class(CONNECTED)
    await expect(invited.get_by_test_id("me-name")).to_have_text("Li Wei")


async def test_the_page_renews_its_token_before_it_expires(make_server, new_page):
    server = await make_server(auth={"token_ttl": 6})  # renewed once half its life is gone
    page = await new_page()
    await sign_in(page, server.url, "Li Wei", "en")
    first = await identity(page)
    renewed = await page.wait_for_function(
        "(old) => { const kept = JSON.parse(localStorage.getItem('babelroom.identity') || 'null');"
        " return kept && kept.token !== old && kept; }",
        arg=first["token"],
        timeout=30_000,
    )
    kept = await renewed.json_value()
    assert kept["sid"] == first["sid"] and kept["expiresAt"] > first["expiresAt"]  # the same sign-in, longer
    async with http_client(server.url) as http:
        listed = await http.get("/api/me/sessions", headers={"authorization": f"Bearer {kept['token']}"})
    assert [s["id"] for s in listed.json()["sessions"]] == [first["sid"]]


async def test_a_host_imports_the_delegate_list_in_the_host_panel(make_server, new_page):
    server = await make_server()
    host = await new_page()
    await sign_in_with_token(host, server.url, server.token("Hana", Role.HOST), "Hana")
    panel = host.get_by_test_id("host-panel")
    await expect(panel).to_be_visible()
    good = "Name,Organisation,Country,Reading language,E-mail\n李伟,Shenzhen Solar,CN,zh,li@example.cn\n"
    bad = good + "Nobody,,,en,\n"
    status = host.get_by_test_id("host-delegates-status")
    await host.get_by_test_id("host-delegates-file").set_input_files(
        files=[{"name": "list.csv", "mimeType": "text/csv", "buffer": bad.encode()}]
    )
    await host.get_by_test_id("host-delegates-import").click()
    await expect(status).to_have_text(ui("en", "host.delegatesRefused", rows="2"))
    await host.get_by_test_id("host-delegates-file").set_input_files(
        files=[{"name": "list.csv", "mimeType": "text/csv", "buffer": good.encode()}]
    )
    await host.get_by_test_id("host-delegates-import").click()
    await expect(status).to_have_text(ui("en", "host.delegatesImported", created=1, updated=0, unchanged=0))
    await host.get_by_test_id("host-delegates-import").click()  # the same list again: nothing changes
    await expect(status).to_have_text(ui("en", "host.delegatesImported", created=0, updated=0, unchanged=1))
    assert await axe_violations(host) == []


async def test_signing_out_in_one_tab_signs_out_every_tab_of_the_browser_at_once(make_server, new_page):
    server = await make_server()
    first = await new_page()
    await sign_in(first, server.url, "Li Wei", "en")
    second = await first.context.new_page()  # another tab of the same browser: the same person
    await second.goto(server.url)
    await expect(second.get_by_test_id("me-name")).to_have_text("Li Wei")
    kept = await identity(first)

    # the first tab cannot reach the server when it signs out: the other tab hears it from the browser
    await first.route("**/api/session", lambda route: route.abort())
    await first.get_by_test_id("sign-out").click()
    await expect(second.get_by_test_id("name")).to_be_visible()
    await expect(second.get_by_test_id("lobby-error")).to_have_text(ui("en", "session.signedOut"))
    await expect(second.get_by_test_id("conn-status")).not_to_have_class(CONNECTED)
    async with http_client(server.url) as http:  # the server was never told
        still = await http.post("/api/session/renew", headers={"authorization": f"Bearer {kept['token']}"})
    assert still.status_code == 200
    assert await axe_violations(second) == []

    # signing in again in one tab brings the other tab back in as that person
    await first.unroute("**/api/session")
    await first.get_by_test_id("name").fill("Aino")
    await first.get_by_test_id("start").click()
    await expect(first.get_by_test_id("me-name")).to_have_text("Aino")
    await expect(second.get_by_test_id("me-name")).to_have_text("Aino")
    await expect(second.get_by_test_id("conn-status")).to_have_class(CONNECTED)
    assert (await identity(second))["sid"] == (await identity(first))["sid"]


async def test_the_badge_sheet_s_qr_codes_scanned_sign_each_delegate_in(make_server, new_page):
    from chat.badges import badge_sheet_html

    server = await make_server()
    host = {"authorization": f"Bearer {server.token('Hana', Role.HOST, user_id='host-1')}"}
    rows = [
        {"Name": "李伟", "Organisation": "Shenzhen Solar", "Reading language": "zh", "E-mail": "li@example.cn"},
        {"Name": "محمد الأحمد", "Organisation": "Gulf Ports", "Reading language": "ar", "E-mail": "m@example.ae"},
        {"Name": "Анна Иванова", "Reading language": "ru", "External id": "REG-3"},
    ]
    async with http_client(server.url) as http:
        assert (await http.post("/api/delegates", json={"delegates": rows}, headers=host)).json()["created"] == 3
        links = (await http.post("/api/delegates/links", json={}, headers=host)).json()["links"]
    sheet = await new_page()  # the HTML sheet as the organisers print it: SVG QR codes, rendered by Chromium
    await sheet.set_content(badge_sheet_html(links))
    await expect(sheet.locator(".badge")).to_have_count(3)
    scanned = qr_codes(await sheet.screenshot(full_page=True))
    assert sorted(scanned) == sorted(link["url"] for link in links)

    arabic = next(link for link in links if link["key"] == "m@example.ae")
    phone = await new_page(viewport=PHONE)  # the delegate scans their badge with the phone
    await phone.goto(next(url for url in scanned if url == arabic["url"]))
    await expect(phone.get_by_test_id("conn-status")).to_have_class(CONNECTED)
    await expect(phone.get_by_test_id("me-name")).to_have_text("محمد الأحمد")
    assert (await identity(phone))["sid"]
