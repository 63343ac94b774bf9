"""The console in a real browser: the app served by uvicorn on a loopback port, in the test's own
event loop (so it shares the test's hub and database), driven by Debian's chromium via Playwright.

Without /usr/bin/chromium the tests fail, never skip (`apt-get install -y chromium`; never
`playwright install`, which downloads a browser build).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright

from app.asgi import create_app
from hub.access.accounts import Kind, create_user
from hub.access.context import Hub

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium", pytrace=False)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        await browser.close()


class Clock:
    """The hub's clock, moved by the test: session expiry and login waits without sleeping."""

    def __init__(self) -> None:
        self.now = datetime.now().astimezone()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(hub: Hub) -> Clock:
    clock = Clock()
    hub.clock = clock
    return clock


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def console_url(hub: Hub, clock: Clock) -> AsyncIterator[str]:
    port = _free_port()
    config = uvicorn.Config(
        create_app(hub.settings, hub), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}/console"
    server.should_exit = True
    await serving


@pytest.fixture
async def page(browser: Browser, console_url: str) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = await context.new_page()
    yield page
    await context.close()


@dataclass(frozen=True)
class Person:
    login: str
    password: str


async def make_person(hub: Hub, login: str, name: str, kind: Kind, department: str) -> Person:
    async with hub.sessions() as session:
        await create_user(session, login, name, kind, department, PASSWORD)
        await session.commit()
    return Person(login, PASSWORD)


@pytest.fixture
async def clerk_person(hub: Hub) -> Person:
    return await make_person(hub, "wang", "王窗口", Kind.CLERK, "xzfw")


async def sign_in(page: Page, url: str, person: Person, password: str | None = None) -> None:
    await page.goto(url + "/login")
    await page.get_by_label("用户名").fill(person.login)
    await page.get_by_label("密码").fill(password or person.password)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_load_state()


async def screenshot(page: Page, hub: Hub, name: str) -> None:
    """docs/console/<name>.png, from the SQLite run only (the pages are the same on both)."""
    if hub.settings.database_url.startswith("sqlite"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
