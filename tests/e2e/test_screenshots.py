"""Screenshots of the lobby and of a room (its census of reading languages, Report beside others'
messages), at desktop (1280x800) and phone (390x844) sizes, in English; of the room read in Chinese
and in Arabic (right to left); of People and of a private conversation.

Written to test-artifacts/ (not committed) and, for the ones the README shows, to docs/screenshots/
as well (`screenshot(..., readme=True)`): each run of the browser tests redraws the README's pictures,
and test_the_readme_shows_exactly_the_pictures_the_tests_draw keeps the two lists the same.

The test packages are random-weight models whose output is gibberish, which would make the
README's pictures look broken. So the room's node uses the real translation service with a
phrasebook in front: the lines said in the picture get the translation a real model would
give; anything else goes through the test models as usual.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from playwright.async_api import expect

from chat.config import Config
from chat.node import Node
from rooms import Role
from tests.conftest import test_config as config_for
from tests.e2e.pages import (
    DESKTOP,
    PHONE,
    README_SHOTS,
    REPO,
    enter_room,
    message_with_text,
    messages,
    say,
    screenshot,
    sign_in,
)
from translation import TranslationService
from translation.service import Translated

pytestmark = pytest.mark.browser

ROOM = "plenary"
GERMAN = "Guten Morgen! Gibt es die Folien der Präsentation auch auf Deutsch?"
SPANISH = "Buenos días a todos. Las diapositivas están en la página del foro."
GERMAN_2 = "Danke, das ist sehr hilfreich."
WELCOME = "Welcome to the plenary! The session on energy policy starts at 10:30."
PHRASEBOOK = {
    (GERMAN, "en"): "Good morning! Are the slides of the presentation also available in German?",
    (SPANISH, "en"): "Good morning, everyone. The slides are on the forum's page.",
    (GERMAN_2, "en"): "Thanks, that is very helpful.",
    (WELCOME, "zh"): "欢迎来到全体会议！能源政策专题会议将于10:30开始。",
    (GERMAN, "zh"): "早上好！演示文稿的幻灯片也有德语版吗？",
    (SPANISH, "zh"): "大家早上好。幻灯片在论坛页面上。",
    (GERMAN_2, "zh"): "谢谢，这很有帮助。",
    (WELCOME, "ar"): "مرحبًا بكم في الجلسة العامة! تبدأ جلسة سياسة الطاقة في الساعة 10:30.",
    (GERMAN, "ar"): "صباح الخير! هل تتوفر شرائح العرض باللغة الألمانية أيضًا؟",
    (SPANISH, "ar"): "صباح الخير للجميع. الشرائح موجودة على صفحة المنتدى.",
    (GERMAN_2, "ar"): "شكرًا، هذا مفيد جدًا.",
}
#: What the reader says in the pictures of the room read in Chinese and in Arabic.
OWN_LINE = {"zh": "大家早上好。请问在哪里可以找到幻灯片？", "ar": "صباح الخير جميعًا. أين أجد الشرائح؟"}
#: Reading languages the test packages do not reach: the phrasebook alone translates into them.
PHRASEBOOK_ONLY = {"zh", "ar"}


class PhrasebookTranslator(TranslationService):
    """The real service, except that the phrasebook's lines get their real translation
    (and Chinese and Arabic, which no test package reaches, are served from it alone)."""

    def languages(self) -> list[str]:
        return sorted(set(super().languages()) | PHRASEBOOK_ONLY)

    def has_route(self, source: str, target: str) -> bool:
        return (target in PHRASEBOOK_ONLY and source != target) or super().has_route(source, target)

    async def translate_many_scored(
        self, texts: list[str], source: str, target: str, keeps: Sequence[Sequence[str]] | None = None
    ) -> list[Translated | None]:
        found = [PHRASEBOOK.get((text, target)) for text in texts]
        rest = [text for text, known in zip(texts, found, strict=True) if known is None]
        kept = None if keeps is None else [keep for keep, known in zip(keeps, found, strict=True) if known is None]
        translated = iter(await super().translate_many_scored(rest, source, target, kept) if rest else [])
        return [Translated(known, 1.0) if known is not None else next(translated) for known in found]


def phrasebook_node(config: Config) -> Node:
    return Node(config, translator=PhrasebookTranslator(config.translation))


async def test_lobby_screenshots(make_server, new_page):
    server = await make_server()
    page = await new_page()
    await page.goto(server.url)
    await expect(page.get_by_test_id("room-education")).to_be_visible()
    await expect(page.get_by_test_id("lang").locator("option[value=es]")).to_have_count(1)
    await page.get_by_test_id("lang").select_option("en")
    await expect(page.get_by_test_id("start")).to_be_visible()
    await screenshot(page, "lobby-desktop.png", readme=True)

    await page.set_viewport_size(PHONE)
    await expect(page.get_by_test_id("start")).to_be_in_viewport()
    await screenshot(page, "lobby-phone.png", readme=True)


async def test_room_screenshots(make_server, new_page, translation_packages, tmp_path):
    translation = {"packages_dir": str(translation_packages)}
    node = phrasebook_node(config_for(tmp_path, translation=translation))
    server = await make_server(node=node)
    jonas = await server.client("Jonas Weber", "de", user_id="u-jonas")
    lucia = await server.client("Lucía Ortega", "es", user_id="u-lucia")
    mona = await server.client("Mona Haddad", "en", Role.MODERATOR, user_id="u-mona")
    for client in (jonas, lucia, mona):
        await client.join(ROOM)

    page = await new_page(viewport=DESKTOP)
    await sign_in(page, server.url, "Amara Okafor", "en")
    await enter_room(page, ROOM)

    await mona.say(ROOM, WELCOME)
    await jonas.say(ROOM, GERMAN)
    await say(page, "Good morning everyone. Where can I find the slides?")
    await lucia.say(ROOM, SPANISH)
    await jonas.say(ROOM, GERMAN_2)
    await expect(messages(page)).to_have_count(5)
    await expect(page.get_by_test_id("translating")).to_have_count(0)
    await expect(page.get_by_test_id("show-original")).to_have_count(3)
    # one of them switched back to what was written
    german = page.locator('[data-testid="message"][data-lang="de"]').last
    await german.get_by_test_id("show-original").click()
    await expect(message_with_text(page, GERMAN_2)).to_have_count(1)
    for original, lang in ((GERMAN, "de"), (SPANISH, "es")):
        await expect(message_with_text(page, PHRASEBOOK[original, "en"])).to_have_attribute("data-lang", lang)
    await expect(page.get_by_test_id("member-u-lucia")).to_be_attached()
    await page.mouse.move(0, 0)
    await screenshot(page, "room-desktop.png", readme=True)

    await page.set_viewport_size(PHONE)
    await expect(page.get_by_test_id("toggle-members")).to_be_visible()
    await expect(page.get_by_test_id("composer")).to_be_in_viewport()
    await screenshot(page, "room-phone.png", readme=True)
    for client in (jonas, lucia, mona):
        await client.close()


@pytest.mark.parametrize("lang", ["zh", "ar"])
async def test_room_screenshots_in_chinese_and_arabic(make_server, new_page, translation_packages, tmp_path, lang):
    translation = {"packages_dir": str(translation_packages)}
    node = phrasebook_node(config_for(tmp_path, translation=translation))
    server = await make_server(node=node)
    jonas = await server.client("Jonas Weber", "de", user_id="u-jonas")
    lucia = await server.client("Lucía Ortega", "es", user_id="u-lucia")
    mona = await server.client("Mona Haddad", "en", Role.MODERATOR, user_id="u-mona")
    for client in (jonas, lucia, mona):
        await client.join(ROOM)

    page = await new_page(viewport=DESKTOP, locale="zh-CN" if lang == "zh" else "ar-EG")
    await sign_in(page, server.url, "李娜" if lang == "zh" else "ليلى حسن", lang)
    await expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
    await enter_room(page, ROOM)
    await mona.say(ROOM, WELCOME)
    await jonas.say(ROOM, GERMAN)
    await say(page, OWN_LINE[lang])
    await lucia.say(ROOM, SPANISH)
    await jonas.say(ROOM, GERMAN_2)
    await expect(messages(page)).to_have_count(5)
    await expect(page.get_by_test_id("translating")).to_have_count(0)
    for original in (WELCOME, GERMAN, SPANISH, GERMAN_2):
        await expect(message_with_text(page, PHRASEBOOK[original, lang])).to_have_count(1)
    german = page.locator('[data-testid="message"][data-lang="de"]').last
    await german.get_by_test_id("show-original").click()
    await expect(message_with_text(page, GERMAN_2)).to_have_count(1)
    await page.mouse.move(0, 0)
    await screenshot(page, f"room-{lang}-desktop.png", readme=True)

    await page.set_viewport_size(PHONE)
    await expect(page.get_by_test_id("toggle-members")).to_be_visible()
    await expect(page.get_by_test_id("composer")).to_be_in_viewport()
    await screenshot(page, f"room-{lang}-phone.png", readme=True)
    for client in (jonas, lucia, mona):
        await client.close()


PEOPLE = [
    ("Jonas Weber", "de", "u-jonas", "Weber Solartechnik", "DE"),
    ("Lucía Ortega", "es", "u-lucia", "Ortega Renovables", "ES"),
    ("Wang Fang", "zh", "u-wang", "Shenzhen Solar", "CN"),
    ("Aino Virtanen", "fi", "u-aino", "Sauna Oy", "FI"),
]
ASK = "Guten Tag! Haben Sie am Dienstag Zeit für ein Gespräch am Stand 12?"
PHRASEBOOK[ASK, "en"] = "Good afternoon! Do you have time on Tuesday for a talk at stand 12?"


async def test_people_and_conversation_screenshots(make_server, new_page, translation_packages, tmp_path):
    translation = {"packages_dir": str(translation_packages)}
    node = phrasebook_node(config_for(tmp_path, translation=translation, conversations={"policy": "open"}))
    server = await make_server(node=node)
    clients = [
        await server.client(name, lang, user_id=uid, organization=org, country=country)
        for name, lang, uid, org, country in PEOPLE
    ]
    token = server.token(
        "Amara Okafor", Role.DELEGATE, "en", user_id="u-amara", organization="Lagos Wind", country="NG"
    )
    page = await new_page(viewport=DESKTOP)
    await page.goto(f"{server.url}/#token={token}")
    await expect(page.get_by_test_id("me-name")).to_have_text("Amara Okafor")

    await page.get_by_test_id("people-open").click()
    await page.get_by_test_id("people-search").click()
    await expect(page.get_by_test_id("person")).to_have_count(len(PEOPLE))
    await page.mouse.move(0, 0)
    await screenshot(page, "people-desktop.png", readme=True)

    async with server.http() as http:
        response = await http.post(
            "/api/conversations", json={"with": ["u-jonas"]}, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code in (200, 201), response.text
    room = response.json()["room"]["id"]
    jonas = clients[0]
    await jonas.join(room)
    await jonas.say(room, ASK)
    entry = page.locator(f'[data-testid="conversation-{room}"]')
    await entry.click()
    await expect(message_with_text(page, PHRASEBOOK[ASK, "en"])).to_have_count(1)
    await say(page, "Yes, Tuesday at ten works for me. See you at stand 12!")
    await expect(page.get_by_test_id("conversation-leave")).to_be_visible()
    await page.mouse.move(0, 0)
    await screenshot(page, "conversation-desktop.png", readme=True)

    await page.set_viewport_size(PHONE)
    await expect(page.get_by_test_id("composer")).to_be_in_viewport()
    await screenshot(page, "conversation-phone.png", readme=True)
    for client in clients:
        await client.close()


def test_the_readme_shows_exactly_the_pictures_the_tests_draw():
    """Every picture the README shows is one the browser tests redraw, and each one they draw is shown."""
    drawn: set[str] = set()
    for test_file in Path(__file__).parent.glob("test_*.py"):
        source = test_file.read_text(encoding="utf-8")
        names = re.findall(r'screenshot\(\w+, f?"([^"]+)", readme=True\)', source)
        drawn |= {name.replace("{lang}", lang) for name in names for lang in ("zh", "ar")}
    shown = set(re.findall(r"docs/screenshots/([\w.-]+\.png)", (REPO / "README.md").read_text(encoding="utf-8")))
    assert shown == drawn
    assert {path.name for path in README_SHOTS.glob("*.png")} == drawn


THANKS = "@Amara Okafor Danke, das ist sehr hilfreich."
PHRASEBOOK[THANKS, "en"] = "@Amara Okafor Thanks, that is very helpful."
REPLY = "the slides are on the forum page, in German too."
REPLY_EDITED = "the German slides are on the forum page."


async def test_replies_reactions_mentions_edits_and_unread_screenshots(
    make_server, new_page, translation_packages, tmp_path
):
    """Issue 25 in one picture: a reply with its quote, reactions with who reacted, an @-mention of a
    member and one of the reader (marked as hers), an edit, and the "new messages" line."""
    translation = {"packages_dir": str(translation_packages)}
    node = phrasebook_node(config_for(tmp_path, translation=translation))
    server = await make_server(node=node)
    jonas = await server.client("Jonas Weber", "de", user_id="u-jonas")
    lucia = await server.client("Lucía Ortega", "es", user_id="u-lucia")
    mona = await server.client("Mona Haddad", "en", Role.MODERATOR, user_id="u-mona")
    for client in (jonas, lucia, mona):
        await client.join(ROOM)
    page = await new_page(viewport=DESKTOP)
    await page.goto(f"{server.url}/#token={server.token('Amara Okafor', Role.DELEGATE, 'en', user_id='u-amara')}")
    await expect(page.get_by_test_id("me-name")).to_have_text("Amara Okafor")
    await enter_room(page, ROOM)

    await mona.say(ROOM, WELCOME)
    await jonas.say(ROOM, GERMAN)
    asked = message_with_text(page, PHRASEBOOK[GERMAN, "en"])
    await asked.get_by_test_id("reply").click()
    composer = page.get_by_test_id("composer")
    await composer.press_sequentially("@Jon")
    await composer.press("Enter")  # the completion
    await composer.press_sequentially(REPLY)
    await composer.press("Enter")
    mine = message_with_text(page, f"@Jonas Weber {REPLY}")
    await expect(mine).to_have_count(1)
    sent = await mona.expect("message", text=f"@Jonas Weber {REPLY}")
    assert sent["mentions"] == ["u-jonas"]
    await composer.press("ArrowUp")
    await composer.fill(f"@Jonas Weber {REPLY_EDITED}")
    await composer.press("Enter")
    mine = message_with_text(page, f"@Jonas Weber {REPLY_EDITED}")
    await expect(mine.get_by_test_id("edited")).to_be_visible()
    for client, emoji, ref in ((lucia, "👍", "l"), (mona, "👍", "m"), (jonas, "❤️", "j")):
        await client.send({"type": "react", "room": ROOM, "id": sent["id"], "emoji": emoji, "ref": ref})
        await client.expect("ack", ref=ref)
    await expect(mine.get_by_test_id("reaction")).to_have_count(2)

    await enter_room(page, "climate")
    await lucia.say(ROOM, SPANISH)
    await jonas.say(ROOM, THANKS, mentions=["u-amara"])
    await expect(page.get_by_test_id(f"room-{ROOM}").get_by_test_id("unread")).to_have_text("2")
    await page.get_by_test_id(f"room-{ROOM}").click()
    await expect(page.get_by_test_id("unread-line")).to_be_visible()
    await expect(messages(page)).to_have_count(5)
    await expect(page.get_by_test_id("translating")).to_have_count(0)
    await expect(page.locator(".mention-me")).to_have_text("@Amara Okafor")
    await mine.locator('[data-testid="reaction"][data-emoji="👍"]').hover()
    await expect(mine.get_by_test_id("reactors").first).to_have_text("Reacted with 👍: Lucía Ortega and Mona Haddad")
    await screenshot(page, "chat-desktop.png", readme=True)

    await page.mouse.move(0, 0)
    await page.set_viewport_size(PHONE)
    await expect(page.get_by_test_id("composer")).to_be_in_viewport()
    await screenshot(page, "chat-phone.png", readme=True)
    for client in (jonas, lucia, mona):
        await client.close()
