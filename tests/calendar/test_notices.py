"""The State Council's notice for a year the library knows only by rule, loaded as data.

A case accepted on 14 January 2027 gets a deadline at once, marked provisional; the operator loads
the 2027 notice (Spring Festival from 5 to 13 February, Sunday 31 January and Saturday 20 February
worked) and the same case reads the announced date; a corrected notice, loaded as a new version,
wins over the first. The holidays package ships announced schedules up to 2026: if a release ships
2027, move these stories to the next year it does not know.
"""

from __future__ import annotations

from datetime import date

from tests.support.case_stories import ACCEPT, CASE, OPEN, at, hand_in, load, register, resident_id

APPLICANT = resident_id("11010119850315234")

CATALOG = """
material_types:
  - {code: sqb, name: 资质申请表}
service_items:
  - code: zjj-zzsp
    name: 建筑业企业资质审批
    lead_department: zjj
    statutory_days: 30
    promised_days: 20
    silence_is_consent: true
    materials: [{type: sqb}]
"""

NOTICE_2027 = """
year: 2027
reference: 国办发明电〔2026〕7号
holidays:
  - {name: 元旦, from: 2027-01-01, to: 2027-01-03}
  - {name: 春节, from: 2027-02-05, to: 2027-02-13}
  - {name: 清明节, from: 2027-04-03, to: 2027-04-05}
  - {name: 劳动节, from: 2027-05-01, to: 2027-05-05}
  - {name: 端午节, from: 2027-06-09}
  - {name: 中秋节, from: 2027-09-15}
  - {name: 国庆节, from: 2027-10-01, to: 2027-10-07}
makeup_working_days:
  - {date: 2027-01-31, name: 春节}
  - {date: 2027-02-20, name: 春节}
  - {date: 2027-04-25, name: 劳动节}
  - {date: 2027-09-26, name: 国庆节}
  - {date: 2027-10-09, name: 国庆节}
"""

# A correction of the notice: Monday 15 February is given off as well.
NOTICE_2027_CORRECTED = NOTICE_2027.replace("to: 2027-02-13}", "to: 2027-02-15}").replace("〔2026〕7号", "〔2026〕9号")


async def _case_accepted_on_14_january_2027(hub, client, clerk) -> str:
    await load(hub, CATALOG, "qualification.yaml")
    at(hub, date(2027, 1, 14))
    await register(client, clerk, APPLICANT, "周八")
    opened = await client.execute(
        OPEN, {"i": {"idNumber": APPLICANT, "items": ["zjj-zzsp"], "window": "综合窗口 2"}}, token=clerk.token
    )
    receipt = opened["openCase"]["receiptNumber"]
    await hand_in(client, clerk, receipt, "sqb", "资质申请表")
    await client.execute(ACCEPT, {"r": receipt}, token=clerk.token)
    return receipt


async def _deadlines(client, clerk, receipt: str) -> tuple[dict, dict]:
    case = (await client.execute(CASE, {"r": receipt}, token=clerk.token))["case"]
    [item] = case["items"]
    [review] = case["reviews"]
    return item["promisedDeadline"], review["deadline"]


async def test_a_2027_deadline_is_provisional_until_the_notice_is_loaded_then_follows_it(
    hub, client, clerk, hub_command, tmp_path
) -> None:
    receipt = await _case_accepted_on_14_january_2027(hub, client, clerk)

    # By rule: Spring Festival's eve and days off from 5 to 10 February, nothing worked on a weekend.
    promised, review = await _deadlines(client, clerk, receipt)
    assert promised["dueOn"] == "2027-02-17" and promised["provisional"] is True
    assert review["dueOn"] == "2027-02-17" and review["provisional"] is True

    notice = tmp_path / "2027.yaml"
    notice.write_text(NOTICE_2027, encoding="utf-8")
    status, out, err = await hub_command("calendar", "load", str(notice), "--by", "刘运维")
    assert status == 0, err
    assert "calendar 2027 version 1 (国办发明电〔2026〕7号)" in out
    assert "29 days off, 5 makeup working days; loaded by 刘运维" in out

    # The same case, read again: Sunday 31 January is worked, the festival runs to 13 February.
    promised, review = await _deadlines(client, clerk, receipt)
    assert promised["dueOn"] == "2027-02-18" and promised["provisional"] is False
    assert review["dueOn"] == "2027-02-18" and review["provisional"] is False

    # A corrected notice is a new version; the latest wins, the first stays listed.
    notice.write_text(NOTICE_2027_CORRECTED, encoding="utf-8")
    status, out, _ = await hub_command("calendar", "load", str(notice), "--by", "刘运维")
    assert status == 0 and "calendar 2027 version 2 (国办发明电〔2026〕9号)" in out
    promised, _ = await _deadlines(client, clerk, receipt)
    assert promised["dueOn"] == "2027-02-19" and promised["provisional"] is False

    status, out, _ = await hub_command("calendar", "list", "--year", "2027")
    lines = out.splitlines()
    assert "2027 v1" in lines[0] and "superseded" in lines[0] and "刘运维" in lines[0] and "7号" in lines[0]
    assert "2027 v2" in lines[1] and "in force" in lines[1] and "9号" in lines[1]


async def test_the_notice_for_2027_moves_the_one_time_notice_too(hub, client, clerk, hub_command, tmp_path) -> None:
    from tests.support import open_visit
    from tests.support.case_stories import NOTICE, by_code, on_file

    await load(hub, CATALOG, "qualification.yaml")
    at(hub, date(2027, 1, 14))
    await register(client, clerk, APPLICANT, "周八")
    await on_file(clerk, APPLICANT, "sqb", issued_on=date(2026, 12, 1), valid_until=date(2027, 2, 25))

    async def needed_until() -> tuple[str, str]:
        visit = await open_visit(client, clerk, APPLICANT)
        notice = await client.execute(
            NOTICE, {"items": ["zjj-zzsp"], "id": APPLICANT}, token=clerk.token, purpose=visit
        )
        entry = by_code(notice["oneTimeNotice"]["entries"])["sqb"]
        return entry["neededUntil"], entry["holding"]

    # By rule the deadline is 17 February, but an announced schedule may move it: the notice asks
    # for a margin and cannot promise a form valid until 25 February will last.
    assert await needed_until() == ("2027-02-27", "EXPIRES_BEFORE_DEADLINE")
    notice = tmp_path / "2027.json"
    notice.write_text(
        '{"year": 2027, "reference": "国办发明电〔2026〕7号",'
        ' "holidays": [{"name": "春节", "from": "2027-02-05", "to": "2027-02-13"}],'
        ' "makeup_working_days": [{"date": "2027-01-31", "name": "春节"}, {"date": "2027-02-20", "name": "春节"}]}',
        encoding="utf-8",
    )
    assert (await hub_command("calendar", "load", str(notice)))[0] == 0
    assert await needed_until() == ("2027-02-18", "ON_FILE_VALID")


async def test_a_notice_that_is_not_a_consistent_schedule_is_refused_and_nothing_is_written(
    hub, hub_command, tmp_path
) -> None:
    bad = {
        "weekday.yaml": NOTICE_2027.replace("2027-01-31", "2027-02-01"),  # a Monday is not a makeup day
        "other-year.yaml": NOTICE_2027.replace("from: 2027-06-09", "from: 2028-06-09"),
        "both.yaml": NOTICE_2027.replace("{date: 2027-02-20,", "{date: 2027-02-06,"),  # off and worked
        "not-yaml.yaml": "year: [2027",
        "no-reference.yaml": NOTICE_2027.replace("reference: 国办发明电〔2026〕7号\n", ""),
    }
    for name, text in bad.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        status, _, err = await hub_command("calendar", "load", str(path))
        assert status == 2 and "INVALID_CALENDAR_NOTICE" in err, name
    status, out, _ = await hub_command("calendar", "list")
    assert status == 0 and not [line for line in out.splitlines() if line.startswith("2027")]
    assert "announced schedules up to 2026" in out
