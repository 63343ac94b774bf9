"""The auditor searches the access log, sees who read an applicant's data, and verifies an entry's
inclusion proof in the browser; a tampered proof fails. A clerk is refused the auditor's pages."""

from __future__ import annotations

from sqlalchemy import select

from hub.access.accounts import Kind
from storage.models import AccessEntry
from tests.console.conftest import make_person, screenshot, sign_in
from tests.console.test_clerk import SELLER, _seller_with_an_id_card_on_file

TAMPER = """() => {
  const area = document.getElementById("proof");
  const proof = JSON.parse(area.value);
  proof.entry = btoa(atob(proof.entry).replace('"outcome":"allowed"', '"outcome":"denied"'));
  area.value = JSON.stringify(proof);
}"""


async def test_an_auditor_verifies_an_entry_in_the_browser(hub, page, console_url, clerk_person, clerk, browser):
    await _seller_with_an_id_card_on_file(hub, clerk)
    # A clerk reads the seller's page: the log now names the clerk.
    await sign_in(page, console_url, clerk_person)
    # The seller presents their ID at the window: the clerk looks them up, which opens a visit.
    await page.goto(f"{console_url}/applicants?id={SELLER}")
    await page.wait_for_url(f"**/applicants/{SELLER}?visit=*")
    auditor = await make_person(hub, "li", "李监察", Kind.AUDITOR, "jcj")
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    try:
        audit = await context.new_page()
        await sign_in(audit, console_url, auditor)
        await audit.wait_for_url("**/console/audit")
        await audit.get_by_label("申请人证件号码").fill(SELLER)
        await audit.get_by_label("结果").select_option("allowed")
        await audit.get_by_role("button", name="查询", exact=True).click()
        await audit.wait_for_load_state()
        rows = audit.locator("table tbody tr")
        assert await rows.count() >= 3
        table = await audit.locator("table").inner_text()
        assert "profile.read" in table
        assert "王窗口 行政服务中心 · 窗口工作人员" in table  # the person who read, by name and department
        await screenshot(audit, hub, "audit-search")

        await audit.get_by_label("谁查阅了该申请人的数据？").fill(SELLER)
        await audit.get_by_role("button", name="查看查阅记录").click()
        await audit.wait_for_load_state()
        readers = await audit.locator("table").inner_text()
        assert "王窗口 行政服务中心" in readers and "profile.read" in readers

        await audit.locator("table tbody tr a").first.click()
        await audit.wait_for_url("**/audit/entries/*")
        await audit.get_by_role("button", name="在浏览器中验证").click()
        verdict = audit.locator("#verdict")
        await verdict.wait_for()
        assert "验证通过" in await verdict.inner_text(), await verdict.inner_text()
        assert SELLER in await verdict.inner_text()
        await screenshot(audit, hub, "audit-verified")

        await audit.evaluate(TAMPER)
        await audit.get_by_role("button", name="在浏览器中验证").click()
        await verdict.get_by_text("验证失败").wait_for()
        assert "得不到已签名的树根" in await verdict.inner_text()
        await screenshot(audit, hub, "audit-tampered")

        # A key that is not the hub's: the signature is not trusted.
        await audit.reload()
        await audit.get_by_label("受信任的验证公钥").fill(
            "hub.local/access-log+00000000+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        )
        await audit.get_by_role("button", name="在浏览器中验证").click()
        await verdict.get_by_text("验证失败").wait_for()
    finally:
        await context.close()


async def test_a_clerk_is_refused_the_auditors_pages_and_the_refusal_is_logged(hub, page, console_url, clerk_person):
    await sign_in(page, console_url, clerk_person)
    response = await page.goto(console_url + "/audit")
    assert response is not None and response.status == 403
    assert "您无权进行此操作" in await page.locator(".error-summary").inner_text()
    await screenshot(page, hub, "refused")
    async with hub.sessions() as session:
        denied = (
            await session.execute(
                select(AccessEntry).where(AccessEntry.action == "audit.search", AccessEntry.outcome == "denied")
            )
        ).scalars()
        assert [entry.role for entry in denied] == ["clerk"]
