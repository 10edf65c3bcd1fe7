"""Steps the browser tests share: signing in, entering a room, sending, finding messages.

Everything goes through the app's data-testid hooks (see web/static/index.html and the
view-*.js modules) and Playwright's auto-waiting `expect`, never through sleeps.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.async_api import Locator, Page, ViewportSize, expect

WAIT_MS = 15_000

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CONNECTED = re.compile(r"\bconn-connected\b")  # the status line's class, whatever the interface language


def ui(lang: str, key: str, **params: object) -> str:
    """A catalogue string of the interface in `lang` (web/static/i18n), placeholders filled."""
    catalogue = json.loads((REPO / "web" / "static" / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))
    text = str(catalogue[key])
    for name, value in params.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def ui_plural(lang: str, key: str, form: str, **params: object) -> str:
    """One plural form (`one`, `other`...) of a catalogue string in `lang`, placeholders filled."""
    catalogue = json.loads((REPO / "web" / "static" / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))
    text = str(catalogue[key][form])
    for name, value in params.items():
        text = text.replace("{" + name + "}", str(value))
    return text


async def language_name(page: Page, code: str) -> str:
    """`code` named the way the page names it in sentences: in the interface language, by Intl."""
    return await page.evaluate(
        "(code) => new Intl.DisplayNames([document.documentElement.lang], {type: 'language'}).of(code)", code
    )


async def sign_in(page: Page, url: str, name: str, lang: str) -> None:
    """The delegate's way in: the lobby form (a name, a reading language), then Start."""
    await page.goto(url)
    await page.get_by_test_id("name").fill(name)
    await page.get_by_test_id("lang").select_option(lang)
    await page.get_by_test_id("start").click()
    await expect(page.get_by_test_id("conn-status")).to_have_class(CONNECTED)
    await expect(page.get_by_test_id("me-name")).to_have_text(name)


async def sign_in_with_token(page: Page, url: str, token: str, name: str) -> None:
    """The way hosts and moderators arrive: `/#token=…`."""
    await page.goto(f"{url}/#token={token}")
    await expect(page.get_by_test_id("conn-status")).to_have_class(CONNECTED)
    await expect(page.get_by_test_id("me-name")).to_have_text(name)


async def enter_room(page: Page, room: str) -> None:
    """Click the room in the sidebar and wait until it is joined and writable."""
    await page.get_by_test_id(f"room-{room}").click()
    await expect(page.locator("#room-view")).to_be_visible()
    await expect(page.locator("#member-list .member.is-me")).to_have_count(1)  # `joined` arrived
    await expect(page.get_by_test_id("composer")).to_be_enabled()


def messages(page: Page) -> Locator:
    """Stored messages on screen (pending sends are `pending`, not `message`)."""
    return page.get_by_test_id("message")


def message_with_text(page: Page, text: str) -> Locator:
    """The messages whose shown text is exactly `text`."""
    return messages(page).filter(has=page.get_by_test_id("message-text").get_by_text(text, exact=True))


async def say(page: Page, text: str) -> Locator:
    """Type and send a message; returns it once the server stored it (it came back with an id)."""
    await page.get_by_test_id("composer").fill(text)
    await page.get_by_test_id("send").click()
    sent = message_with_text(page, text)
    await expect(sent).to_have_count(1)
    await expect(page.get_by_test_id("pending")).to_have_count(0)
    return sent


README_SHOTS = REPO / "docs" / "screenshots"


async def screenshot(page: Page, name: str, *, readme: bool = False) -> Path:
    """A viewport screenshot in test-artifacts/; with `readme`, also the README's copy in docs/screenshots/
    (so every run of the browser tests redraws the README's pictures and they cannot go stale)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    await page.screenshot(path=str(path), animations="disabled", caret="hide")
    if readme:
        (README_SHOTS / name).write_bytes(path.read_bytes())
    return path


AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"


async def axe_violations(page: Page) -> list[str]:
    """Run axe-core (npm, tests/e2e/package.json) on the page as it is; one line per violation and node.

    The script goes in through the DevTools protocol (`evaluate`), so the page's
    Content-Security-Policy stays as strict as it is for people.
    """
    if not AXE.exists():
        raise AssertionError(f"{AXE} is missing: run `npm ci --prefix tests/e2e` (.ci/system-deps does it)")
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(AXE.read_text(encoding="utf-8"))
    results = await page.evaluate("""async () => {
        const r = await axe.run(document, { resultTypes: ['violations'] });
        return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => n.target.join(' ') + ' :: '
                + (n.failureSummary || '').split('\\n').slice(1, 2).join('')) }));
    }""")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {node}" for v in results for node in v["nodes"]]
