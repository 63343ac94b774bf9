"""The clerk's later steps on a case's page: a promise for a missing non-key material (容缺) with its
date, the timeline of every department's deadline and paused clock, a withdrawal with the
applicant's reason, and the results collected at the window."""

from __future__ import annotations

import re
from datetime import timedelta

from hub.access.auth import Role
from hub.cases.intake import open_case
from hub.cases.pauses import start_pause
from storage.models.cases import PauseReason
from tests.cases.test_closing import APPLICANT, CATALOG, completed_case
from tests.console.conftest import screenshot, sign_in
from tests.console.test_clerk import SELLER, _seller_with_an_id_card_on_file
from tests.support import make_actor
from tests.support.case_stories import PDF, load, register


async def _opened(clerk, items: list[str]) -> str:
    ctx = await clerk.context()
    try:
        return (await open_case(ctx, SELLER, items, "综合窗口 1")).receipt_number
    finally:
        await ctx.close()


async def test_a_promise_a_paused_clock_and_a_withdrawal(hub, page, console_url, clock, clerk_person, clerk):
    await _seller_with_an_id_card_on_file(hub, clerk)
    receipt = await _opened(clerk, ["sw-clfns"])
    await sign_in(page, console_url, clerk_person)
    await page.goto(f"{console_url}/cases/{receipt}")
    await page.get_by_role("button", name="一键关联已归集材料").click()
    await page.wait_for_load_state()
    await page.get_by_label("上传的材料").select_option(label="房屋买卖合同")
    await page.get_by_label("文件（PDF、JPEG、PNG 或 OFD）").set_input_files(
        {"name": "合同.pdf", "mimeType": "application/pdf", "buffer": PDF + b"gfht"}
    )
    async with page.expect_navigation():
        await page.get_by_role("button", name="上传").click()

    # Only the non-key material may be promised; its date is shown on the row.
    options = await page.get_by_label("承诺补交的材料").locator("option").all_inner_texts()
    assert options == ["婚姻状况证明"]
    due = (clock.now + timedelta(days=7)).date()
    await page.get_by_label("补交期限").fill(due.isoformat())
    await page.get_by_role("button", name="记录承诺").click()
    await page.wait_for_load_state()
    rows = page.locator("section", has=page.get_by_role("heading", name="材料")).locator("tbody tr")
    promised = await rows.filter(has_text="婚姻状况证明").inner_text()
    assert "容缺承诺" in promised and f"{due.isoformat()} 前补交" in promised
    await page.get_by_role("button", name="受理", exact=True).click()
    await page.wait_for_url(f"**/cases/{receipt}/receipt")

    # The tax office pauses its clock for an inspection: the timeline says so, with its deadline.
    tax = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "sw")
    ctx = await tax.context(purpose=f"case:{receipt}")
    try:
        await start_pause(ctx, receipt, PauseReason.INSPECTION, "现场核查房屋状况，约需 5 个工作日")
    finally:
        await ctx.close()
    await page.goto(f"{console_url}/cases/{receipt}")
    departments = page.locator("section", has=page.get_by_role("heading", name="各部门办理情况"))
    row = await departments.locator("tbody tr").filter(has_text="税务局").inner_text()
    assert "暂停计时中" in row and "检验、现场核查" in row and "至今" in row and "现场核查房屋状况" in row
    assert re.search(r"\d{4}-\d{2}-\d{2}\s+3\s", row)  # its due date and the working days left
    await screenshot(page, hub, "case-timeline")

    await page.get_by_label("撤回理由").fill("申请人决定暂不出售")
    await page.get_by_role("button", name="撤回办件").click()
    await page.wait_for_load_state()
    assert "已撤回" in await page.locator("h1").inner_text()
    assert "申请人决定暂不出售" in await page.locator(".notice").first.inner_text()
    assert await page.get_by_role("button", name="撤回办件").count() == 0
    await screenshot(page, hub, "case-withdrawn")


async def test_a_withdrawal_needs_a_reason(hub, page, console_url, clerk_person, clerk):
    await _seller_with_an_id_card_on_file(hub, clerk)
    receipt = await _opened(clerk, ["sw-clfns"])
    await sign_in(page, console_url, clerk_person)
    await page.goto(f"{console_url}/cases/{receipt}")
    await page.get_by_label("撤回理由").evaluate("input => input.removeAttribute('required')")
    await page.get_by_role("button", name="撤回办件").click()
    assert "BAD_USER_INPUT" in await page.locator(".error-summary").inner_text()
    await page.goto(f"{console_url}/cases/{receipt}")
    assert "已撤回" not in await page.locator("h1").inner_text()


async def test_the_results_collected_at_the_window(hub, page, console_url, client, clerk_person, clerk, tax_system):
    await load(hub, CATALOG)
    await register(client, clerk, APPLICANT, "李四")
    receipt = await completed_case(client, clerk, tax_system)
    await sign_in(page, console_url, clerk_person)
    await page.goto(f"{console_url}/cases/{receipt}")
    await page.get_by_role("button", name="申请人已领取办理结果").click()
    await page.wait_for_load_state()
    assert "领取办理结果" in await page.locator(".notice").last.inner_text()
    assert await page.get_by_role("button", name="申请人已领取办理结果").count() == 0
