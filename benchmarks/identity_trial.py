"""The sign-in paths a delegate has (issue 23), walked in real Chromium as a person would, for the
closing note: not a test (tests/e2e/test_identity.py and tests/test_delegates.py are), a trial that
prints one line per path with what it saw and keeps a screenshot of each.

It starts two `babelroom serve` nodes on sqlite files in a temporary directory (an `open` event
whose conversation policy is `open`, and an `invited` one) and Debian's Chromium, then tries:
self sign-in; the page closed and a new one opened; a personal code on a second device; a personal
link from `babelroom delegates import` + `links --pdf`, its QR code read off the PDF (zxing-cpp);
a website's JWT naming the delegate by their registration id; a stranger at the invited event; and
sign out everywhere from the phone.

    .venv/bin/python benchmarks/identity_trial.py --out /tmp/identity-trial
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from rooms import Role
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.pages import CONNECTED, DESKTOP, PHONE, ui
from tests.nodes import REPO, NodeProcess

DELEGATES = (
    "Name,Organisation,Country,Reading language,E-mail,External id\n"
    "Анна Иванова,Baltic Freight,RU,ru,anna@example.ru,REG-3\n"
    "محمد الأحمد,Gulf Ports,AE,ar,m.alahmad@example.ae,REG-4\n"
)


class Trial:
    def __init__(self, browser: Browser, out: Path, node: NodeProcess) -> None:
        self.browser, self.out, self.node = browser, out, node
        self.lines: list[str] = []

    def saw(self, path: str, ok: bool, what: str) -> None:
        line = f"{'ok  ' if ok else 'FAIL'} {path}: {what}"
        self.lines.append(line)
        print(line, flush=True)

    async def context(self, **options: Any) -> BrowserContext:
        return await self.browser.new_context(**{"viewport": DESKTOP, "locale": "en-US", **options})

    async def shot(self, page: Page, name: str) -> None:
        await page.screenshot(path=str(self.out / f"{name}.png"))

    async def me(self, token: str) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.node.url, timeout=10) as http:
            answer = await http.get("/api/me", headers={"authorization": f"Bearer {token}"})
        return dict(answer.json())


async def kept_identity(page: Page) -> dict[str, Any]:
    return dict(await page.evaluate("JSON.parse(localStorage.getItem('babelroom.identity') || '{}')"))


async def visit(page: Page, url: str) -> None:
    """Open the page and let the app finish starting (its modules, the languages, the access mode)
    before typing: a click before the app listens would be the browser's own form check."""
    await page.goto(url)
    await page.wait_for_load_state("networkidle")


async def connected_as(page: Page, name: str) -> None:
    await expect(page.get_by_test_id("conn-status")).to_have_class(CONNECTED)
    await expect(page.get_by_test_id("me-name")).to_have_text(name)


def qr_codes_in_pdf(data: bytes) -> list[str]:
    import pypdfium2
    import zxingcpp

    image = pypdfium2.PdfDocument(data)[0].render(scale=300 / 72).to_pil()
    return [found.text for found in zxingcpp.read_barcodes(image)]


def cli(node: NodeProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chat.cli", "delegates", "--url", node.url, *args],
        cwd=REPO,
        env={**os.environ, **node.env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def walk(trial: Trial, invited: NodeProcess) -> None:
    node = trial.node
    # 1. self sign-in --------------------------------------------------------------------------
    laptop = await trial.context()
    page = await laptop.new_page()
    await visit(page, node.url)
    await page.get_by_test_id("name").fill("Li Wei")
    await page.get_by_test_id("lang").select_option("zh")
    await page.get_by_test_id("start").click()
    await connected_as(page, "Li Wei")
    first = await kept_identity(page)
    li = await trial.me(first["token"])
    await trial.shot(page, "1-self-sign-in")
    trial.saw(
        "self sign-in",
        bool(first.get("sid")),
        f"lobby form (name, reading language zh) -> connected as "
        f"{li['name']} ({li['id']}), token kept in localStorage with sign-in {first['sid']}",
    )
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as http:  # Aino writes to Li
        aino = (await http.post("/api/session", json={"name": "Aino", "lang": "fi"})).json()
        await http.post(
            "/api/conversations", json={"with": [li["id"]]}, headers={"authorization": f"Bearer {aino['token']}"}
        )

    # 2. close the page, open a new one; and a reload ---------------------------------------------
    await page.close()
    again = await laptop.new_page()
    await again.goto(node.url)
    await connected_as(again, "Li Wei")
    conversation = again.locator('[data-testid^="conversation-c-"]')
    await expect(conversation).to_contain_text("Aino")
    await again.reload()
    await connected_as(again, "Li Wei")
    same = await kept_identity(again)
    await trial.shot(again, "2-new-page-same-person")
    trial.saw(
        "page closed, new page opened, reloaded",
        same["sid"] == first["sid"],
        f"no lobby: connected as Li Wei at once, the same sign-in ({same['sid']}), Aino's conversation listed",
    )

    # 3. personal code on a second device -------------------------------------------------------
    await again.get_by_test_id("account-open").click()
    await again.get_by_test_id("account-code").click()
    await expect(again.get_by_test_id("account-code-text")).not_to_be_empty()
    code = (await again.get_by_test_id("account-code-text").text_content() or "").strip()
    await trial.shot(again, "3a-personal-code-and-qr")
    phone_context = await trial.context(viewport=PHONE, is_mobile=True)
    phone = await phone_context.new_page()
    await visit(phone, node.url)
    await phone.locator("#code-box summary").click()
    await phone.get_by_test_id("signin-code").fill(code.lower())  # typed on a phone keyboard
    await phone.get_by_test_id("start").click()
    await connected_as(phone, "Li Wei")
    on_phone = await kept_identity(phone)
    phone_me = await trial.me(on_phone["token"])
    await trial.shot(phone, "3b-phone-signed-in-by-code")
    await again.get_by_test_id("account-close").click()
    await again.get_by_test_id("account-open").click()
    devices = await again.get_by_test_id("account-session").count()
    trial.saw(
        "personal code on a second device",
        phone_me["id"] == li["id"] and devices == 2,
        f"code {code[:2]}…(typed in lower case) on a phone-sized context -> the same user {phone_me['id']}, "
        f"a sign-in of its own; 'Your devices' on the laptop lists {devices}",
    )
    await again.get_by_test_id("account-close").click()

    # 4. personal link from the import (badge PDF, QR scanned) ------------------------------------
    listing = trial.out / "delegates.csv"
    listing.write_text(DELEGATES, encoding="utf-8")
    imported = await asyncio.to_thread(cli, node, "import", str(listing))
    pdf = trial.out / "badges.pdf"
    made = await asyncio.to_thread(cli, node, "links", "--pdf", str(pdf))
    links = {row["key"]: row for row in csv.DictReader(io.StringIO(made.stdout))}
    scanned = qr_codes_in_pdf(pdf.read_bytes())
    anna_url = next(url for url in scanned if url == links["anna@example.ru"]["url"])
    badge = await trial.context(viewport=PHONE, is_mobile=True, locale="ru-RU")
    anna_page = await badge.new_page()
    await anna_page.goto(anna_url)
    await connected_as(anna_page, "Анна Иванова")
    anna = await trial.me((await kept_identity(anna_page))["token"])
    await trial.shot(anna_page, "4-badge-link-signed-in")
    trial.saw(
        "personal link from the import",
        anna["id"] == links["anna@example.ru"]["id"],
        f"import: {imported.stdout.strip()}; links --pdf: {len(scanned)} QR codes read off the PDF page; "
        f"Anna's scanned -> connected as {anna['name']} ({anna['id']}), {anna.get('organization')}",
    )

    # 5. a website's JWT naming her by registration id ---------------------------------------------
    website_token = node.signer.issue(name="Anna I.", role=Role.DELEGATE, lang="en", ttl=3600, user_id="REG-3")
    site = await trial.context()
    site_page = await site.new_page()
    await site_page.goto(f"{node.url}/#token={website_token}")
    await connected_as(site_page, "Анна Иванова")
    by_site = await trial.me(website_token)
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as http:
        found = (
            await http.get("/api/people", params={"q": "Анна"}, headers={"authorization": f"Bearer {aino['token']}"})
        ).json()["people"]
    await trial.shot(site_page, "5-website-token-same-person")
    trial.saw(
        "website JWT (sub = registration id)",
        by_site["id"] == anna["id"] and len(found) == 1,
        f"/#token= with sub REG-3, name 'Anna I.' -> user {by_site['id']} named {by_site['name']} (the list's); "
        f"People search 'Анна' lists {len(found)} person",
    )

    # 6. a stranger at the invited event -------------------------------------------------------------
    stranger_context = await trial.context(locale="de-DE")
    stranger = await stranger_context.new_page()
    await visit(stranger, invited.url)
    await expect(stranger.get_by_test_id("invited-note")).to_have_text(ui("de", "lobby.invitedNote"))
    name_hidden = await stranger.get_by_test_id("name").is_hidden()
    await stranger.get_by_test_id("start").click()
    refusal = stranger.get_by_test_id("lobby-error")
    await expect(refusal).to_have_text(ui("de", "error.invited_only"))
    await trial.shot(stranger, "6-invited-refuses-a-stranger")
    trial.saw(
        "invited event, a stranger",
        name_hidden,
        f'German lobby, no name field; Start -> "{await refusal.text_content()}"',
    )

    # 7. sign out everywhere, from the phone -------------------------------------------------------
    await phone.get_by_test_id("account-open").click()
    await phone.get_by_test_id("account-everywhere").click()
    await expect(again.get_by_test_id("name")).to_be_visible()
    await expect(phone.get_by_test_id("name")).to_be_visible()
    async with httpx.AsyncClient(base_url=node.url, timeout=10) as http:
        renewed = await http.post("/api/session/renew", headers={"authorization": f"Bearer {same['token']}"})
    await trial.shot(again, "7-signed-out-everywhere-laptop")
    trial.saw(
        "sign out everywhere",
        renewed.status_code == 401,
        f"from the phone -> the laptop's tab and the phone are back in the lobby "
        f'("{await again.get_by_test_id("lobby-error").text_content()}"); the laptop\'s token renewal -> '
        f"{renewed.status_code}",
    )


async def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="identity-trial-") as work:
        node = NodeProcess(
            "event", Path(work) / "event", backend="sqlite", env={"BABELROOM_CONVERSATIONS_POLICY": "open"}
        )
        invited = NodeProcess(
            "invited", Path(work) / "invited", backend="sqlite", env={"BABELROOM_AUTH_ACCESS": "invited"}
        )
        try:
            for started in (node, invited):
                (started.workdir).mkdir(parents=True, exist_ok=True)
                await asyncio.to_thread(started.start, 90)
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                trial = Trial(browser, out, node)
                try:
                    await walk(trial, invited)
                finally:
                    await browser.close()
        finally:
            for started in (node, invited):
                started.stop()
    print(f"screenshots in {out}")
    return 0 if all(line.startswith("ok") for line in trial.lines) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("identity-trial"), help="where the screenshots go")
    sys.exit(asyncio.run(main(parser.parse_args().out)))
