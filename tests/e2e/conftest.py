"""Browser end-to-end fixtures: Debian's Chromium driven by Playwright (async API).

`playwright install` cannot download browsers here, so the session launches the system
Chromium once (see DEVELOPERS.md); every test gets fresh browser contexts from `new_page`.
Browser tests run on one backend only: `memory`, unless a test parametrizes
`backend_kind` itself (the restart test needs `redis`, where two nodes share the rooms).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, async_playwright, expect

from tests.e2e.pages import DESKTOP, WAIT_MS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

expect.set_options(timeout=WAIT_MS)  # generous: auto-waiting assertions return as soon as they hold
E2E = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test` runs its workers with --dist loadgroup) every browser test
    goes to one worker, so one Chromium serves them all instead of one per worker."""
    for item in items:
        if E2E in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture
def backend_kind(request: pytest.FixtureRequest) -> str:
    """Browser tests pin the backend instead of running on both: memory by default.

    A test that needs Redis says `@pytest.mark.parametrize("backend_kind", ["redis"])`,
    which overrides this fixture's value.
    """
    return "memory"


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (make install-test does it)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


PageFactory = Callable[..., Awaitable[Page]]


@pytest.fixture
async def new_page(browser: Browser) -> AsyncIterator[PageFactory]:
    """`await new_page(viewport=PHONE)`: a page in a browser context of its own (own sessionStorage).

    An uncaught script error in any of them fails the test.
    """
    contexts: list[BrowserContext] = []
    uncaught: list[str] = []

    async def make(viewport: ViewportSize = DESKTOP, **options: Any) -> Page:
        options = {"locale": "en-US", "color_scheme": "light", **options}
        context = await browser.new_context(viewport=viewport, **options)
        contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda exc: uncaught.append(f"{page.url}: {exc}"))
        return page

    yield make
    for context in contexts:
        await context.close()
    assert not uncaught, f"uncaught errors in the page: {uncaught}"
