"""A construction project through 立项用地 → 规划许可 → 施工许可 → 竣工验收.

Each stage is one case. Its results (a land-use planning permit, a building planning permit, a
construction permit) are issued as materials of the enterprise, so the next stage's notice finds
them on file and the clerk reuses them instead of asking for them again. The construction permit
stage holds a joint review (联合审查) whose minutes record each department's opinion and deadline.
"""

from __future__ import annotations

from datetime import date

from hub.access.auth import Role
from tests.support import make_actor, open_visit
from tests.support.case_stories import (
    ACCEPT,
    ATTACH,
    CASE,
    COMPLETE,
    MINUTES,
    NOTICE,
    OPEN,
    OPINION,
    at,
    by_code,
    enterprise_code,
    hand_in,
    issue,
    load,
    on_file,
    register,
)

BUILDER = enterprise_code("91110105MA01ABCD2")

CONSTRUCTION_CATALOG = """
departments:
  - {code: fgj, name: 发展和改革局}
  - {code: xf, name: 消防救援支队}
  - {code: scjg, name: 市场监督管理局}
material_types:
  - {code: yyzz, name: 营业执照, issuing_department: scjg}
  - {code: xmsqs, name: 项目申请书}
  - {code: xmba, name: 项目备案证明, issuing_department: fgj}
  - {code: ydgh, name: 建设用地规划许可证, issuing_department: zrzy}
  - {code: sjfa, name: 建设工程设计方案}
  - {code: gcgh, name: 建设工程规划许可证, issuing_department: zrzy}
  - {code: sgtsc, name: 施工图审查合格书}
  - {code: sgxk, name: 建筑工程施工许可证, issuing_department: zjj}
  - {code: jgbg, name: 竣工验收报告}
  - {code: jgba, name: 竣工验收备案证明, issuing_department: zjj}
service_items:
  - {code: lxyd, name: 立项用地规划许可, stage: 立项用地, lead_department: zrzy, departments: [fgj],
     statutory_days: 20, promised_days: 10,
     materials: [{type: yyzz}, {type: xmsqs}]}
  - {code: gcghxk, name: 建设工程规划许可, stage: 规划许可, lead_department: zrzy,
     statutory_days: 20, promised_days: 10,
     materials: [{type: yyzz}, {type: ydgh}, {type: sjfa}]}
  - {code: sgxk, name: 建筑工程施工许可, stage: 施工许可, lead_department: zjj, departments: [xf],
     statutory_days: 45, promised_days: 15,
     materials: [{type: yyzz}, {type: gcgh}, {type: sgtsc}, {type: xmba, key: false}]}
  - {code: jgys, name: 竣工联合验收, stage: 竣工验收, lead_department: zjj, departments: [zrzy, xf],
     statutory_days: 20, promised_days: 10,
     materials: [{type: yyzz}, {type: gcgh}, {type: sgxk}, {type: jgbg}]}
"""


async def run_stage(client, clerk, item: str, new: dict[str, str]) -> tuple[str, dict]:
    """Notice, open, reuse everything on file, hand in the rest, accept. Returns receipt and notice."""
    visit = await open_visit(client, clerk, BUILDER)
    notice = (await client.execute(NOTICE, {"items": [item], "id": BUILDER}, token=clerk.token, purpose=visit))[
        "oneTimeNotice"
    ]
    receipt = (
        await client.execute(
            OPEN,
            {
                "i": {
                    "idNumber": BUILDER,
                    "items": [item],
                    "window": "工程建设项目窗口",
                    "catalogVersion": notice["catalogVersion"],
                }
            },
            token=clerk.token,
        )
    )["openCase"]["receiptNumber"]
    for entry in notice["entries"]:
        if entry["holding"] == "ON_FILE_VALID":
            await client.execute(
                ATTACH,
                {"i": {"receiptNumber": receipt, "materialVersionId": entry["onFile"]["materialVersionId"]}},
                token=clerk.token,
            )
    for type_code, title in new.items():
        await hand_in(client, clerk, receipt, type_code, title)
    await client.execute(ACCEPT, {"r": receipt}, token=clerk.token)
    return receipt, notice


def holdings(notice: dict) -> dict[str, str]:
    return {code: entry["holding"] for code, entry in by_code(notice["entries"]).items()}


async def approve(client, department, receipt: str) -> None:
    await client.execute(
        OPINION,
        {"i": {"receiptNumber": receipt, "opinion": {"decision": "APPROVE"}}},
        token=department.token,
        purpose=f"case:{receipt}",
    )


async def test_four_stages_each_reusing_the_results_of_the_last(hub, client, clerk) -> None:
    await load(hub, CONSTRUCTION_CATALOG, "construction.yaml")
    planning, housing, reform, fire = [
        await make_actor(hub, Role.DEPARTMENT_SYSTEM, code) for code in ("zrzy", "zjj", "fgj", "xf")
    ]
    at(hub, date(2026, 2, 2))
    await register(client, clerk, BUILDER, "大州建设有限公司", kind="ENTERPRISE")
    await on_file(clerk, BUILDER, "yyzz", title="营业执照", issued_on=date(2018, 6, 1))

    # 立项用地: only the business licence is on file.
    receipt, notice = await run_stage(client, clerk, "lxyd", {"xmsqs": "项目申请书"})
    assert holdings(notice) == {"yyzz": "ON_FILE_VALID", "xmsqs": "MISSING"}
    await approve(client, planning, receipt)
    await approve(client, reform, receipt)
    await issue(client, planning, receipt, "ydgh", "建设用地规划许可证", "zrzy")
    await issue(client, reform, receipt, "xmba", "项目备案证明", "fgj")
    stage1 = (await client.execute(COMPLETE, {"r": receipt}, token=clerk.token))["completeCase"]
    assert stage1["reuse"] == {"reused": 1, "uploaded": 1, "promised": 0, "ratio": 0.5}

    # 规划许可: the land-use permit issued by stage one is on file and reused.
    at(hub, date(2026, 3, 2))
    receipt, notice = await run_stage(client, clerk, "gcghxk", {"sjfa": "设计方案"})
    assert holdings(notice) == {"yyzz": "ON_FILE_VALID", "ydgh": "ON_FILE_VALID", "sjfa": "MISSING"}
    await approve(client, planning, receipt)
    await issue(client, planning, receipt, "gcgh", "建设工程规划许可证", "zrzy")
    stage2 = (await client.execute(COMPLETE, {"r": receipt}, token=clerk.token))["completeCase"]
    assert by_code(stage2["materials"])["ydgh"]["origin"] == "REUSED"

    # 施工许可 (promised 15 working days instead of 45), with a joint review of housing and fire.
    at(hub, date(2026, 4, 1))
    receipt, notice = await run_stage(client, clerk, "sgxk", {"sgtsc": "施工图审查合格书"})
    assert holdings(notice) == {
        "yyzz": "ON_FILE_VALID",
        "gcgh": "ON_FILE_VALID",
        "sgtsc": "MISSING",
        "xmba": "ON_FILE_VALID",
    }
    at(hub, date(2026, 4, 3))
    minutes = {
        "i": {
            "receiptNumber": receipt,
            "heldOn": "2026-04-03",
            "summary": "施工许可联合审查",
            "entries": [
                {"department": "zjj", "opinion": {"decision": "APPROVE"}},
                {
                    "department": "xf",
                    "opinion": {
                        "decision": "NEEDS_CORRECTION",
                        "comments": "消防通道宽度不足，补正图纸",
                        "fixDueOn": "2026-04-10",
                    },
                },
            ],
        }
    }
    reviewed = (await client.execute(MINUTES, minutes, token=housing.token, purpose=f"case:{receipt}"))[
        "recordReviewMinutes"
    ]
    [record] = reviewed["minutes"]
    assert {o["department"]["code"]: o["decision"] for o in record["opinions"]} == {
        "zjj": "APPROVE",
        "xf": "NEEDS_CORRECTION",
    }
    assert by_code(record["opinions"], "department")["xf"]["fixDueOn"] == "2026-04-10"
    # Minutes cannot quietly overwrite an opinion either, and a refused record leaves nothing behind.
    assert await client.error_code(MINUTES, minutes, token=housing.token, purpose=f"case:{receipt}") == (
        "OPINION_ALREADY_RECORDED"
    )
    unchanged = (await client.execute(CASE, {"r": receipt}, token=clerk.token))["case"]
    assert len(unchanged["minutes"]) == 1
    assert [len(r["opinions"]) for r in unchanged["reviews"]] == [1, 1]
    at(hub, date(2026, 4, 9))
    await client.execute(
        OPINION,
        {"i": {"receiptNumber": receipt, "opinion": {"decision": "APPROVE", "comments": "已补正", "revision": True}}},
        token=fire.token,
        purpose=f"case:{receipt}",
    )
    await issue(client, housing, receipt, "sgxk", "建筑工程施工许可证", "zjj")
    stage3 = (await client.execute(COMPLETE, {"r": receipt}, token=clerk.token))["completeCase"]
    reviews = by_code(stage3["reviews"], "department")
    # 1 April to 9 April: 2 and 3 April count; the correction asked for on 3 April stopped fire's
    # clock until its answer on 9 April (7, 8, 9 April; Qingming falls on 4 to 6 April).
    assert reviews["xf"]["workingDaysSpent"] == 2
    [correction] = reviews["xf"]["pauses"]
    assert correction["reason"] == "CORRECTION" and correction["workingDays"] == 3
    assert reviews["zjj"]["workingDaysSpent"] == 2
    assert stage3["reuse"] == {"reused": 3, "uploaded": 1, "promised": 0, "ratio": 0.75}
    assert stage3["items"][0]["promisedDeadline"]["overdue"] is False

    # 竣工验收: the construction permit and the planning permit come from the store.
    at(hub, date(2026, 9, 1))
    receipt, notice = await run_stage(client, clerk, "jgys", {"jgbg": "竣工验收报告"})
    assert holdings(notice) == {
        "yyzz": "ON_FILE_VALID",
        "gcgh": "ON_FILE_VALID",
        "sgxk": "ON_FILE_VALID",
        "jgbg": "MISSING",
    }
    for department in (planning, housing, fire):
        await approve(client, department, receipt)
    await issue(client, housing, receipt, "jgba", "竣工验收备案证明", "zjj")
    stage4 = (await client.execute(COMPLETE, {"r": receipt}, token=clerk.token))["completeCase"]
    assert stage4["status"] == "COMPLETED" and stage4["reuse"]["reused"] == 3

    figures = await client.execute("{ reuseFigures { reused uploaded promised ratio } }", token=clerk.token)
    assert figures["reuseFigures"] == {"reused": 9, "uploaded": 4, "promised": 0, "ratio": 9 / 13}
