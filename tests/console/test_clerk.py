"""The window clerk's story: an ID scanned, the one-time notice, a case opened, what is on file attached
in one click, the rest uploaded, the case accepted and its receipt printed."""

from __future__ import annotations

from datetime import timedelta

from hub.documents.materials import today
from hub.identifiers import ApplicantKind
from hub.profiles.applicants import register_applicant
from tests.console.conftest import screenshot, sign_in
from tests.support.case_stories import ESTATE_CATALOG, PDF, load, on_file, resident_id

SELLER = resident_id("11010119800101123")


async def _seller_with_an_id_card_on_file(hub, clerk) -> None:
    await load(hub, ESTATE_CATALOG)
    ctx = await clerk.context()
    try:
        await register_applicant(
            ctx, ApplicantKind.PERSON, SELLER, "张建国", {"phone": "13800138000", "address": "大州市通川区朝阳路 8 号"}
        )
        await ctx.commit()
    finally:
        await ctx.close()
    await on_file(clerk, SELLER, "sfz", title="居民身份证", valid_until=today() + timedelta(days=3000))


async def test_the_clerk_takes_a_case_from_id_to_receipt(hub, page, console_url, clerk_person, clerk, browser):
    await _seller_with_an_id_card_on_file(hub, clerk)
    await sign_in(page, console_url, clerk_person)
    await screenshot(page, hub, "find")

    # A scanner types the number and presses Enter.
    await page.get_by_label("公民身份号码或统一社会信用代码").fill(SELLER.lower())
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/applicants/{SELLER}?visit=*")
    assert "张建国" in await page.get_by_role("heading", level=1).inner_text()
    profile = await page.locator("section", has=page.get_by_role("heading", name="基本信息")).inner_text()
    assert "13800138000" in profile and "行政服务中心" in profile  # each value with where it came from
    materials = await page.locator("section", has=page.get_by_role("heading", name="已归集材料")).inner_text()
    assert "居民身份证" in materials and "有效" in materials
    await page.get_by_label("不动产转移登记").check()
    await page.get_by_label("存量房网签备案").check()
    await screenshot(page, hub, "applicant")

    await page.get_by_role("button", name="生成一次性告知单").click()
    await page.wait_for_load_state()
    paper = page.locator("article.paper")
    on_file_table = await paper.locator("table").nth(0).inner_text()
    to_bring = await paper.locator("table").nth(1).inner_text()
    assert "居民身份证" in on_file_table and "居民身份证" not in to_bring
    assert "不动产权证书" in to_bring and "房屋买卖合同" in to_bring
    await page.emulate_media(media="print")
    assert not await page.get_by_role("button", name="收件").is_visible()  # the print shows the notice only
    await screenshot(page, hub, "notice-print")
    await page.emulate_media(media="screen")
    await screenshot(page, hub, "notice")

    await page.get_by_role("button", name="收件").click()
    await page.wait_for_url("**/cases/*")
    receipt_number = page.url.rsplit("/", 1)[1]
    await page.get_by_role("button", name="一键关联已归集材料").click()
    await page.wait_for_load_state()
    rows = page.locator("section", has=page.get_by_role("heading", name="材料")).locator("tbody tr")
    assert "复用已归集" in await rows.filter(has_text="居民身份证").inner_text()

    # With the page's script: the upload goes with a progress bar, then the case page again.
    await page.get_by_label("上传的材料").select_option(label="不动产权证书")
    await page.get_by_label("文件（PDF、JPEG、PNG 或 OFD）").set_input_files(
        {"name": "不动产权证书.pdf", "mimeType": "application/pdf", "buffer": PDF + b"bdcqz"}
    )
    async with page.expect_navigation():
        await page.get_by_role("button", name="上传").click()
    assert "现场提交" in await rows.filter(has_text="不动产权证书").inner_text()

    # Without any script: the plain form does the same.
    plain = await browser.new_context(java_script_enabled=False, viewport={"width": 1024, "height": 768})
    try:
        tablet = await plain.new_page()
        await sign_in(tablet, console_url, clerk_person)
        await tablet.goto(f"{console_url}/cases/{receipt_number}")
        await tablet.get_by_label("上传的材料").select_option(label="房屋买卖合同")
        await tablet.get_by_label("文件（PDF、JPEG、PNG 或 OFD）").set_input_files(
            {"name": "合同.pdf", "mimeType": "application/pdf", "buffer": PDF + b"gfht"}
        )
        await tablet.get_by_role("button", name="上传").click()
        await tablet.wait_for_url(f"**/cases/{receipt_number}")
    finally:
        await plain.close()

    await page.reload()
    await screenshot(page, hub, "case-open")
    await page.get_by_role("button", name="受理").click()
    await page.wait_for_url(f"**/cases/{receipt_number}/receipt")
    receipt = await page.locator("article.paper").inner_text()
    assert receipt_number in receipt and "不动产转移登记" in receipt and "存量房网签备案" in receipt
    await screenshot(page, hub, "receipt")

    await page.goto(f"{console_url}/cases/{receipt_number}")
    departments = await page.locator("section", has=page.get_by_role("heading", name="各部门办理情况")).inner_text()
    assert "自然资源和规划局" in departments and "住房和城乡建设局" in departments and "审查中" in departments
    await screenshot(page, hub, "case-accepted")


async def test_a_wrong_id_number_is_explained_not_crashed(hub, page, console_url, clerk_person):
    await sign_in(page, console_url, clerk_person)
    await page.get_by_label("公民身份号码或统一社会信用代码").fill("110101198001011230")
    await page.keyboard.press("Enter")
    await page.wait_for_load_state()
    summary = await page.locator(".error-summary").inner_text()
    assert "号码无效" in summary or "请检查" in summary
