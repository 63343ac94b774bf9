"""People sign in to the console: a password, a session that ends, a form that must be the console's own."""

from __future__ import annotations

from sqlalchemy import select

from hub.access.context import Hub
from storage.models import AccessEntry
from tests.console.conftest import Clock, screenshot, sign_in


async def _log(hub: Hub, action: str) -> list[AccessEntry]:
    async with hub.sessions() as session:
        rows = await session.execute(select(AccessEntry).where(AccessEntry.action == action))
        return list(rows.scalars())


async def test_a_clerk_signs_in_and_out(hub, page, console_url, clerk_person):
    response = await page.goto(console_url + "/")
    assert page.url.startswith(console_url + "/login")
    assert response is not None
    headers = await response.all_headers()
    assert "default-src 'self'" in headers["content-security-policy"] and headers["cache-control"] == "no-store"
    await screenshot(page, hub, "login")
    await sign_in(page, console_url, clerk_person, password="wrong password!")
    assert "用户名或密码错误" in await page.locator(".error-summary").inner_text()

    await sign_in(page, console_url, clerk_person)
    assert await page.get_by_role("heading", name="查找申请人").is_visible()
    assert "王窗口" in await page.locator(".who").inner_text()
    cookie = next(c for c in await page.context.cookies() if c["name"] == "hub_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    await page.get_by_role("button", name="退出登录").click()
    await page.goto(console_url + "/")
    assert page.url.startswith(console_url + "/login")
    # The person is named in the log: a failure, a login and a logout against their principal.
    assert len(await _log(hub, "auth.login_failed")) == 1
    assert len(await _log(hub, "auth.login")) == 1
    assert len(await _log(hub, "auth.logout")) == 1


async def test_failed_logins_slow_down_then_lock_the_account(hub, page, console_url, clerk_person, clock: Clock):
    lockout = hub.settings.console_lockout_failures
    await sign_in(page, console_url, clerk_person, password="wrong password 1")
    await sign_in(page, console_url, clerk_person, password="wrong password 2")
    await sign_in(page, console_url, clerk_person, password="wrong password 3")
    # Past the free failures, even the right password must wait.
    await sign_in(page, console_url, clerk_person)
    assert "秒后重试" in await page.locator(".error-summary").inner_text()
    for attempt in range(4, lockout + 1):
        clock.advance(minutes=20)
        await sign_in(page, console_url, clerk_person, password=f"wrong password {attempt}")
    clock.advance(hours=1)
    await sign_in(page, console_url, clerk_person)
    assert "账号已锁定" in await page.locator(".error-summary").inner_text()
    await screenshot(page, hub, "locked")
    failed = await _log(hub, "auth.login_failed")
    assert len(failed) == lockout + 2  # every failure, the throttled try and the locked one
    assert all(entry.outcome == "denied" for entry in failed)
    assert not await _log(hub, "auth.login")


async def test_a_form_without_the_sessions_csrf_token_is_refused(hub, page, console_url, clerk_person):
    await sign_in(page, console_url, clerk_person)
    # The session cookie goes along, but not the token of a form the console rendered.
    refused = await page.request.post(
        console_url + "/cases", form={"id_number": "110101198001011234", "item": "x", "window": "1"}
    )
    assert refused.status == 403
    assert "表单已失效" in await refused.text()
    forged = await page.request.post(console_url + "/logout", form={"csrf": "forged"})
    assert forged.status == 403
    # Still signed in: the forged logout did nothing.
    await page.goto(console_url + "/")
    assert await page.get_by_role("heading", name="查找申请人").is_visible()


async def test_a_session_ends_when_idle_and_after_its_lifetime(hub, page, console_url, clerk_person, clock: Clock):
    await sign_in(page, console_url, clerk_person)
    clock.advance(minutes=hub.settings.console_idle_minutes - 1)
    await page.goto(console_url + "/")
    assert await page.get_by_role("heading", name="查找申请人").is_visible()
    clock.advance(minutes=hub.settings.console_idle_minutes + 1)
    await page.goto(console_url + "/")
    assert page.url.startswith(console_url + "/login")
    assert "会话已结束" in await page.locator(".notice").inner_text()

    await sign_in(page, console_url, clerk_person)
    assert await page.get_by_role("heading", name="查找申请人").is_visible()
    for _ in range(hub.settings.console_session_hours * 2 + 1):
        clock.advance(minutes=29)
        await page.goto(console_url + "/")
        if page.url.startswith(console_url + "/login"):
            break
    assert page.url.startswith(console_url + "/login")


async def test_after_signing_in_a_person_lands_on_the_page_they_asked_for(hub, page, console_url, clerk_person):
    await page.goto(console_url + "/applicants?id=x")
    assert page.url.startswith(console_url + "/login")
    await page.get_by_label("用户名").fill(clerk_person.login)
    await page.get_by_label("密码").fill(clerk_person.password)
    await page.keyboard.press("Enter")  # the keyboard alone signs in
    await page.wait_for_url("**/applicants?id=x")
    # Never somewhere else: a next outside the console lands on its home page.
    await page.goto(console_url + "/login?next=//example.org/")
    assert await page.locator("input[name=next]").get_attribute("value") == "/console/"
