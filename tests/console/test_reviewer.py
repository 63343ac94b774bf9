"""A department's reviewer: the inbox sorted by due date with overdue marks, a case's materials
through signed links, and the department's opinion (a correction request)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hub.access.accounts import Kind
from hub.cases.completion import CaseFile, upload_for_case
from hub.cases.intake import accept_case, attach_existing, open_case
from hub.documents.materials import FileUpload
from storage.models import AccessEntry
from tests.console.conftest import Clock, make_person, screenshot, sign_in
from tests.console.test_clerk import SELLER, _seller_with_an_id_card_on_file
from tests.support.case_stories import PDF


async def _accepted_case(clerk, id_card_version: int) -> str:
    ctx = await clerk.context()
    try:
        view = await open_case(ctx, SELLER, ["zrzy-zydj", "zjj-wqba"], "1号窗口")
        receipt = view.receipt_number
        await attach_existing(ctx, receipt, id_card_version)
        for code, name in (("bdcqz", "不动产权证书"), ("gfht", "房屋买卖合同")):
            upload = FileUpload.of_bytes(PDF + code.encode(), f"{name}.pdf", "application/pdf")
            await upload_for_case(ctx, receipt, CaseFile(code, name, upload))
        await accept_case(ctx, receipt)
        return receipt
    finally:
        await ctx.close()


async def test_a_reviewer_works_the_inbox_and_asks_for_a_correction(hub, page, console_url, clerk, clock: Clock):
    await _seller_with_an_id_card_on_file(hub, clerk)
    async with hub.sessions() as session:
        from storage.models import MaterialVersion

        id_card_version = (await session.execute(select(MaterialVersion.id))).scalars().one()
    older = await _accepted_case(clerk, id_card_version)
    clock.advance(days=12)  # past the older case's 5 working days
    newer = await _accepted_case(clerk, id_card_version)

    reviewer = await make_person(hub, "zhao", "赵审查", Kind.REVIEWER, "zrzy")
    await sign_in(page, console_url, reviewer)
    await page.wait_for_url("**/console/inbox")
    rows = page.locator("table tbody tr")
    assert await rows.count() == 2
    assert older in await rows.nth(0).inner_text() and "已超期" in await rows.nth(0).inner_text()
    assert newer in await rows.nth(1).inner_text() and "已超期" not in await rows.nth(1).inner_text()
    await screenshot(page, hub, "inbox")

    await page.get_by_role("link", name=older).click()
    await page.wait_for_url(f"**/cases/{older}")
    link = page.get_by_role("link", name="不动产权证书.pdf")
    origin = console_url.removesuffix("/console")
    download = await page.request.get(origin + (await link.get_attribute("href") or ""))
    assert download.status == 200 and (await download.body()).startswith(b"%PDF")

    await page.get_by_role("radio", name="需补正").check()
    await page.get_by_label("意见说明").fill("房屋买卖合同缺少买方签字，请补正。")
    await page.get_by_label("补正期限（需补正时填写）").fill((clock.now.date() + timedelta(days=7)).isoformat())
    await screenshot(page, hub, "review")
    await page.get_by_role("button", name="提交意见").click()
    await page.wait_for_url(f"**/cases/{older}")
    departments = await page.locator("section", has=page.get_by_role("heading", name="各部门办理情况")).inner_text()
    assert "需补正" in departments

    async with hub.sessions() as session:
        downloads = (
            await session.execute(select(AccessEntry).where(AccessEntry.action == "material.download"))
        ).scalars()
        assert [(e.department_code, e.purpose, e.outcome) for e in downloads] == [("zrzy", f"case:{older}", "allowed")]
