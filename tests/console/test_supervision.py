"""The supervision office in the browser: cases by timing state with filters, the monthly ranking
and its chart, an alert's evidence and life, and 办不成事 complaints filed at the window and
resolved by the office. Anyone else is refused, and the refusal is logged."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import select

from hub.access.accounts import Kind
from hub.access.auth import Role
from hub.calendar.workdays import CHINA
from storage.models import AccessEntry
from tests.console.conftest import make_person, screenshot, sign_in
from tests.support import make_actor
from tests.support.case_stories import resident_id
from tests.support.supervision import accepted_case, applicant, china, decide, evaluate_on, load_timing_catalog, record


def _on(clock, day: date, hour: int = 10) -> None:
    clock.now = datetime.combine(day, time(hour), tzinfo=CHINA)


async def _rows(page) -> list[str]:
    return [text.strip() for text in await page.locator("table tbody tr").all_inner_texts()]


async def test_the_office_sees_cases_by_timing_state_and_filters_them(hub, page, console_url, clock, clerk):
    await load_timing_catalog(hub)
    person = await applicant(clerk, "11010119800101123", "张三")
    building = await accepted_case(hub, clerk, person, ["zjj-sgxk"], date(2026, 11, 2))
    tax = await accepted_case(hub, clerk, person, ["sw-ns"], date(2026, 11, 5))
    hub.clock = clock
    _on(clock, date(2026, 11, 9))
    auditor = await make_person(hub, "li", "李监察", Kind.AUDITOR, "jcj")
    await sign_in(page, console_url, auditor)
    await page.get_by_role("link", name="电子监察").click()
    await page.wait_for_url("**/supervision/cases")
    rows = await _rows(page)
    # 9 November: the building permit is YELLOW (1 day left), the tax return GREEN; worst first.
    assert [r.split()[0] for r in rows] == [building, tax]
    assert "黄灯（预警）" in rows[0] and "绿灯（正常）" in rows[1]
    assert "自然资源和规划局" in rows[0] and "2026-11-10" in rows[0]
    await screenshot(page, hub, "supervision-cases")

    await page.get_by_label("监察事由编号").fill("inspection-2026-11")
    await page.get_by_label("时效状态").select_option("green")
    await page.get_by_role("button", name="查询").click()
    await page.wait_for_load_state()
    assert [r.split()[0] for r in await _rows(page)] == [tax]
    await page.get_by_label("时效状态").select_option("")
    await page.get_by_label("部门代码").fill("zrzy")
    await page.get_by_role("button", name="查询").click()
    await page.wait_for_load_state()
    assert [r.split()[0] for r in await _rows(page)] == [building]
    await page.get_by_label("部门代码").fill("")
    await page.get_by_label("事项编码").fill("sw-ns")
    await page.get_by_label("受理日期自").fill("2026-11-03")
    await page.get_by_role("button", name="查询").click()
    await page.wait_for_load_state()
    assert [r.split()[0] for r in await _rows(page)] == [tax]
    async with hub.sessions() as session:
        purposes = (
            await session.execute(select(AccessEntry.purpose).where(AccessEntry.object_ref == "supervision:cases"))
        ).scalars()
        assert set(purposes) == {"supervision:console", "supervision:inspection-2026-11"}


async def test_the_monthly_ranking_with_its_chart(hub, page, console_url, clock, clerk):
    await load_timing_catalog(hub)
    housing = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "zjj")
    planning = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "zrzy")
    people = [await applicant(clerk, f"1101011980010{n}123", f"申请人{n}") for n in range(1, 4)]
    permits = [await accepted_case(hub, clerk, p, ["zjj-sgxk"], date(2026, 11, 2)) for p in people]
    for receipt in permits:
        await decide(hub, planning, receipt, date(2026, 11, 6))
    await evaluate_on(hub, date(2026, 11, 9))
    await evaluate_on(hub, date(2026, 11, 11))
    for receipt in permits:
        await decide(hub, housing, receipt, date(2026, 11, 12))
    await evaluate_on(hub, date(2026, 12, 1))
    hub.clock = clock
    _on(clock, date(2026, 12, 1))
    auditor = await make_person(hub, "li", "李监察", Kind.AUDITOR, "jcj")
    await sign_in(page, console_url, auditor)
    await page.goto(console_url + "/supervision/ranking?month=2026-11")
    rows = await _rows(page)
    assert rows[0].split()[:2] == ["1", "自然资源和规划局"] and "100%" in rows[0]
    assert rows[1].split()[:2] == ["2", "住房和城乡建设局"] and "0%" in rows[1] and "黄牌" in rows[1]
    chart = page.locator("figure.chart svg")
    assert await chart.get_attribute("role") == "img"
    assert await chart.locator("rect").count() == 2
    assert "住房和城乡建设局" in await chart.inner_html()
    await screenshot(page, hub, "supervision-ranking")
    await page.get_by_label("月份").fill("2026-10")
    await page.get_by_role("button", name="显示").click()
    await page.wait_for_load_state()
    assert "本月没有办结的审查" in await page.locator("table").inner_text()


async def test_an_alert_with_its_evidence_is_asked_about_dismissed_and_closed(hub, page, console_url, clock, clerk):
    friday = date(2026, 11, 6)
    await record(clerk, [(china(friday, 10), resident_id("11010119800101123"))])
    await evaluate_on(hub, friday)
    hub.clock = clock
    _on(clock, friday, 19)
    auditor = await make_person(hub, "li", "李监察", Kind.AUDITOR, "jcj")
    await sign_in(page, console_url, auditor)
    await page.goto(console_url + "/supervision/alerts")
    assert "待处理" in (await _rows(page))[0]
    await page.locator("table tbody tr a").first.click()
    await page.wait_for_url("**/supervision/alerts/*")
    evidence = page.locator("ul.evidence a")
    assert await evidence.count() >= 1

    await page.get_by_label("下一步").select_option("explanation_requested")
    await page.get_by_label("说明（理由）").fill("请说明查询依据")
    await page.get_by_role("button", name="记录处理").click()
    await page.wait_for_load_state()
    assert "已要求说明" in await page.locator("h1").inner_text()
    assert "2026-11-13" in await page.locator("dl").inner_text()  # five working days
    # A step without a note is refused, in Chinese, with its code.
    await page.get_by_label("下一步").select_option("dismissed")
    await page.get_by_role("button", name="记录处理").click()
    assert "BAD_USER_INPUT" in await page.locator(".error-summary").inner_text()
    await page.go_back()
    await page.reload()
    await page.get_by_label("下一步").select_option("dismissed")
    await page.get_by_label("说明（理由）").fill("查询依据属实")
    await page.get_by_role("button", name="记录处理").click()
    await page.wait_for_load_state()
    history = await page.locator("ol.history").inner_text()
    assert "已要求说明 · 李监察（电子监察室） · 请说明查询依据" in history
    assert "已排除 · 李监察（电子监察室） · 查询依据属实" in history
    assert "王窗口 · 行政服务中心" in await page.locator("dl").inner_text()  # the principal who read
    await screenshot(page, hub, "supervision-alert")
    # A dismissed alert is only closed: another step is refused, in words.
    await page.get_by_label("下一步").select_option("confirmed")
    await page.get_by_label("说明（理由）").fill("改判")
    await page.get_by_role("button", name="记录处理").click()
    assert "预警当前状态下不能进行此步" in await page.locator(".error-summary").inner_text()
    await page.goto(page.url)
    await page.get_by_label("下一步").select_option("closed")
    await page.get_by_role("button", name="记录处理").click()
    await page.wait_for_load_state()
    assert "已关闭" in await page.locator("h1").inner_text()
    assert await page.get_by_role("button", name="记录处理").count() == 0

    # The evidence links to the entry's proof, verified in the browser.
    await page.locator("ul.evidence a").first.click()
    await page.get_by_role("button", name="在浏览器中验证").click()
    await page.locator("#verdict").get_by_text("验证通过").wait_for()


async def test_a_complaint_filed_at_the_window_is_resolved_by_the_office(
    hub, page, console_url, clock, clerk_person, browser
):
    _on(clock, date(2026, 11, 9))
    await sign_in(page, console_url, clerk_person)
    await page.get_by_role("link", name="登记办不成事反映").click()
    await page.get_by_label("申请人证件号码").fill(resident_id("11010119800101123"))
    await page.get_by_label("部门代码").fill("zrzy")
    await page.get_by_label("原因").select_option("materials")
    await page.get_by_label("反映内容").fill("已提交的不动产权证书又被要求再交一次")
    await page.get_by_role("button", name="提交反映").click()
    await page.wait_for_load_state()
    notice = await page.locator(".notice").inner_text()
    assert "BCS-20261109-" in notice and "2026-11-12" in notice  # ordinary: three working days
    await screenshot(page, hub, "complaint-filed")
    # The clerk may not see the office's list: refused and logged.
    response = await page.goto(console_url + "/supervision/complaints")
    assert response is not None and response.status == 403

    auditor = await make_person(hub, "li", "李监察", Kind.AUDITOR, "jcj")
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    try:
        office = await context.new_page()
        await sign_in(office, console_url, auditor)
        await office.goto(console_url + "/supervision/complaints")
        row = (await _rows(office))[0]
        assert "自然资源和规划局" in row and "材料" in row and "2026-11-12" in row
        await screenshot(office, hub, "supervision-complaints")
        await office.get_by_label("办结方式").select_option("solved")
        await office.get_by_label("说明（理由）").fill("已协调部门通过共享调取")
        await office.get_by_role("button", name="办结").click()
        await office.wait_for_load_state()
        assert "已解决: 已协调部门通过共享调取" in (await _rows(office))[0]
    finally:
        await context.close()


async def test_others_are_refused_the_office_pages_and_the_refusals_are_logged(hub, page, console_url, clerk_person):
    await sign_in(page, console_url, clerk_person)
    for path in ("/supervision/cases", "/supervision/ranking", "/supervision/alerts", "/supervision/complaints"):
        response = await page.goto(console_url + path)
        assert response is not None and response.status == 403, path
        assert "您无权进行此操作" in await page.locator(".error-summary").inner_text()
    async with hub.sessions() as session:
        denied = (
            await session.execute(
                select(AccessEntry.object_ref).where(AccessEntry.role == "clerk", AccessEntry.outcome == "denied")
            )
        ).scalars()
        refs = set(denied)
    assert {"supervision:cases", "supervision:alerts", "supervision:complaints"} <= refs
    assert any(ref.startswith("supervision:ranking:") for ref in refs)
