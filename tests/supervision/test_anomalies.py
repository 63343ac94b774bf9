"""Access anomaly rules over the signed log: for each rule, entries that trigger it and entries that
must not; the evaluation is incremental (a watermark, nothing judged twice); and a clerk who browses
neighbours is flagged with evidence whose proofs verify offline with the published key."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from hub.access.actions import Action, Outcome
from hub.access.auth import Role
from hub.audit.checkpoint import VerifierKey, parse_body, verified_signers
from hub.audit.merkle import leaf_hash, verify_inclusion
from hub.keys.keyring import Keyring
from hub.supervision.anomalies import CONTEXT_MICROS, CONTEXT_SEQ, HOUR
from storage.models import AccessEntry
from storage.repositories.supervision import watermark
from tests.support import make_actor, open_visit
from tests.support.case_stories import resident_id
from tests.support.supervision import (
    accepted_case,
    applicant,
    china,
    evaluate_on,
    load_timing_catalog,
    record,
)

ALERTS = """query($rule: String) { supervisionAlerts(rule: $rule) {
  id rule principalId departmentCode summary seqs status } }"""
EVIDENCE = """query($id: Int!) { alertEvidence(alertId: $id) {
  alertId checkpoint { treeSize rootHash note }
  proofs { seq leafIndex treeSize entry leafHash hashes } } }"""
READ = 'query($id: String!) { applicant(idNumber: $id) { name profile(fields: ["address"]) { value } } }'

MONDAY = date(2026, 11, 2)
SATURDAY = date(2026, 11, 7)


def people(n: int, start: int = 1) -> list[str]:
    return [resident_id(f"110101199001{k:05d}") for k in range(start, start + n)]


async def alerts(client, auditor, rule: str) -> list[dict]:
    return (await client.execute(ALERTS, {"rule": rule}, token=auditor.token))["supervisionAlerts"]


async def load_rules(hub_command, tmp_path, text: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    status, _, err = await hub_command("supervise", "rules", "load", str(path))
    assert status == 0, err


async def test_a_read_with_no_case_and_no_legal_basis(hub, client, clerk, auditor) -> None:
    await load_timing_catalog(hub)
    tax = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "sw")
    with_case = await applicant(clerk, "11010119800101123", "张三")
    await accepted_case(hub, clerk, with_case, ["sw-ns"], MONDAY)
    stranger = resident_id("11010119800101456")
    await record(clerk, [(china(MONDAY, 10), with_case)])  # the window's own case: fine
    await record(tax, [(china(MONDAY, 10), with_case)], purpose="case:x")  # tax reviews that case: fine
    await record(tax, [(china(MONDAY, 10), stranger)], purpose="basis:social-insurance-identity")  # a legal basis
    await record(clerk, [(china(MONDAY, 11), stranger), (china(MONDAY, 11, 5), stranger)])
    await evaluate_on(hub, MONDAY)
    found = await alerts(client, auditor, "anomaly.no_relationship")
    assert len(found) == 1
    assert found[0]["departmentCode"] == "xzfw" and stranger in found[0]["summary"]
    assert len(found[0]["seqs"]) == 2 and found[0]["status"] == "OPEN"


async def test_more_applicants_an_hour_than_the_role_allows(hub, client, clerk, auditor, hub_command, tmp_path) -> None:
    await load_rules(hub_command, tmp_path, "rules:\n  anomaly.volume:\n    role_limits: {clerk: 5}\n")
    other = await make_actor(hub, Role.CLERK, "xzfw", "赵窗口")
    minutes = [china(MONDAY, 10, m) for m in range(0, 60, 5)]
    await record(clerk, list(zip(minutes, people(6), strict=False)))  # six in the hour
    await record(other, list(zip(minutes, people(5) * 2, strict=False)))  # five, some twice
    await evaluate_on(hub, MONDAY)
    found = await alerts(client, auditor, "anomaly.volume")
    assert len(found) == 1 and "read 6 applicants" in found[0]["summary"] and "clerk limit of 5" in found[0]["summary"]
    assert len(found[0]["seqs"]) == 6


async def test_an_hour_judged_in_two_evaluations_counts_its_earlier_reads(
    hub, client, clerk, auditor, hub_command, tmp_path
) -> None:
    """The volume rule's hour spans evaluations: the second batch's count includes the reads the
    first batch judged (the context), the reader's own only."""
    await load_rules(hub_command, tmp_path, "rules:\n  anomaly.volume:\n    role_limits: {clerk: 5}\n")
    other = await make_actor(hub, Role.CLERK, "xzfw", "赵窗口")
    await record(clerk, [(china(MONDAY, 10, m), ref) for m, ref in enumerate(people(4))])
    await record(other, [(china(MONDAY, 10, m), ref) for m, ref in enumerate(people(5, start=20))])
    await evaluate_on(hub, MONDAY)
    assert await alerts(client, auditor, "anomaly.volume") == []
    # Two more in the same hour: six for the clerk, though this batch alone holds two.
    await record(clerk, [(china(MONDAY, 10, 30 + m), ref) for m, ref in enumerate(people(2, start=10))])
    summary = await the_volume_alert(hub, client, auditor)
    assert "read 6 applicants" in summary and "clerk limit of 5" in summary


async def the_volume_alert(hub, client, auditor) -> str:
    """Evaluate; the one volume alert's summary."""
    await evaluate_on(hub, MONDAY)
    (found,) = await alerts(client, auditor, "anomaly.volume")
    return found["summary"]


async def test_applicants_read_again_in_a_later_evaluation_count_once(
    hub, client, clerk, auditor, hub_command, tmp_path
) -> None:
    """Each evaluation adds its batch's reads to the hour's set of applicants (docs/supervision.md,
    "The volume rule's sets"): an applicant read again is not counted twice, a new one is."""
    await load_rules(hub_command, tmp_path, "rules:\n  anomaly.volume:\n    role_limits: {clerk: 5}\n")
    await record(clerk, [(china(MONDAY, 10, m), ref) for m, ref in enumerate(people(4))])
    await evaluate_on(hub, MONDAY)
    await record(clerk, [(china(MONDAY, 10, 10 + m), ref) for m, ref in enumerate(people(5))])  # 4 again, 1 new
    assert (await evaluate_on(hub, MONDAY)).anomalies.alerts_by_rule.get("anomaly.volume", 0) == 0
    # (No auditor's query between evaluations: its entry, logged at 18:00, would make the next batch
    # reach back over hours and read the hour from the log, the late entries' way.)
    await record(clerk, [(china(MONDAY, 10, 30), people(1, start=50)[0]), (china(MONDAY, 10, 31), people(1)[0])])
    assert "read 6 applicants" in await the_volume_alert(hub, client, auditor)


async def test_reads_judged_while_the_volume_rule_was_off_count_when_it_is_back(
    hub, client, clerk, auditor, hub_command, tmp_path
) -> None:
    """The rule's sets hold only what it judged: back on, it fills them from the log once."""
    await load_rules(hub_command, tmp_path, "rules:\n  anomaly.volume:\n    role_limits: {clerk: 5}\n")
    await record(clerk, [(china(MONDAY, 10, m), ref) for m, ref in enumerate(people(4))])
    await evaluate_on(hub, MONDAY)
    await load_rules(hub_command, tmp_path, "rules:\n  anomaly.volume:\n    enabled: false\n")
    await record(clerk, [(china(MONDAY, 10, 20 + m), ref) for m, ref in enumerate(people(2, start=10))])
    await evaluate_on(hub, MONDAY)
    await load_rules(hub_command, tmp_path, "rules:\n  anomaly.volume:\n    role_limits: {clerk: 5}\n")
    await record(clerk, [(china(MONDAY, 10, 40), people(1)[0])])  # one already counted
    assert "read 6 applicants" in await the_volume_alert(hub, client, auditor)


async def test_a_late_entry_of_an_hour_whose_set_is_gone_is_counted_with_its_hour(
    hub, client, clerk, auditor, hub_command, tmp_path
) -> None:
    """Sets are kept for the last hours judged; a read sequenced hours after it was recorded is
    counted with the rest of its hour from the log, not alone."""
    await load_rules(hub_command, tmp_path, "rules:\n  anomaly.volume:\n    role_limits: {clerk: 4}\n")
    await record(clerk, [(china(MONDAY, 10, m), ref) for m, ref in enumerate(people(4))])
    await evaluate_on(hub, MONDAY)
    await record(clerk, [(china(MONDAY, 16), people(1, start=30)[0])])
    await evaluate_on(hub, MONDAY)
    assert await alerts(client, auditor, "anomaly.volume") == []
    # Recorded at 10:50, sequenced now (a read whose entry was held up), beside one at 16:10.
    await record(clerk, [(china(MONDAY, 10, 50), people(1, start=40)[0]), (china(MONDAY, 16, 10), people(1)[0])])
    assert "read 5 applicants in the hour from 2026-11-02 10:00" in await the_volume_alert(hub, client, auditor)


async def test_more_applicants_than_the_principals_usual_level(hub, client, clerk, auditor) -> None:
    # Six ordinary hours of two or three applicants, evaluated as they come.
    for hour in range(9, 15):
        await record(
            clerk, [(china(MONDAY, hour, m), ref) for m, ref in zip((0, 20, 40), people(2 + hour % 2), strict=False)]
        )
        await evaluate_on(hub, MONDAY)
    assert await alerts(client, auditor, "anomaly.volume") == []
    # Then an hour of fourteen: median 2.5, MAD 0.5, k 5: a usual level of 5, and 10 over the median.
    await record(clerk, [(china(MONDAY, 15, m), ref) for m, ref in enumerate(people(14, start=100))])
    await evaluate_on(hub, MONDAY)
    found = await alerts(client, auditor, "anomaly.volume")
    assert len(found) == 1 and "usual level" in found[0]["summary"]


async def test_reads_outside_working_hours_and_on_days_off(hub, client, clerk, auditor) -> None:
    person = people(1)[0]
    await record(clerk, [(china(MONDAY, 9), person), (china(MONDAY, 17, 59), person)])  # working hours
    await evaluate_on(hub, MONDAY)
    assert await alerts(client, auditor, "anomaly.off_hours") == []
    await record(clerk, [(china(MONDAY, 20), person), (china(SATURDAY, 10), person)])
    await evaluate_on(hub, SATURDAY)
    found = await alerts(client, auditor, "anomaly.off_hours")
    assert sorted(a["summary"].split(" on ")[-1] for a in found) == [
        "2026-11-02 outside working hours",
        "2026-11-07 a day off",
    ]


async def test_a_night_of_reads_keeps_each_rules_first_reads_as_evidence(hub, client, clerk, auditor) -> None:
    """Only the first reads of each principal, applicant and hour reach the rules (a finding keeps 20),
    yet each rule's own first reads are among them: 25 reads at night under a legal basis, then 3
    in the same hour without one."""
    person = people(1)[0]
    night = [china(MONDAY, 22, m) for m in range(25)]
    await record(clerk, [(moment, person) for moment in night], purpose="basis:social-insurance-identity")
    await record(clerk, [(china(MONDAY, 22, 30 + m), person) for m in range(3)])
    await evaluate_on(hub, MONDAY)
    (off,) = await alerts(client, auditor, "anomaly.off_hours")
    assert off["seqs"] == list(range(1, 21))  # the night's first 20
    (unrelated,) = await alerts(client, auditor, "anomaly.no_relationship")
    assert unrelated["seqs"] == [26, 27, 28]  # the three without a basis, after 25 with one


async def test_repeated_denials_from_one_principal(hub, client, clerk, auditor) -> None:
    tax = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "sw")
    housing = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "zjj")
    probe = [(china(MONDAY, 10, 2 * m), ref) for m, ref in enumerate(people(5))]
    await record(tax, probe, outcome=Outcome.DENIED)  # five in eight minutes
    spread = [(china(MONDAY, 10, 12 * m), ref) for m, ref in enumerate(people(5))]
    await record(housing, spread, outcome=Outcome.DENIED)  # five in 48 minutes
    await record(housing, [(china(MONDAY, 11, m), ref) for m, ref in enumerate(people(4))], outcome=Outcome.DENIED)
    await evaluate_on(hub, MONDAY)
    found = await alerts(client, auditor, "anomaly.probing")
    assert [a["departmentCode"] for a in found] == ["sw"] and len(found[0]["seqs"]) == 5


async def test_any_read_of_a_watch_listed_applicant(hub, client, clerk, auditor, hub_command, tmp_path) -> None:
    famous, ordinary = people(2)
    await load_rules(hub_command, tmp_path, f"rules:\n  anomaly.watch_list:\n    applicants: ['{famous}']\n")
    await record(clerk, [(china(MONDAY, 10), ordinary)])
    await record(clerk, [(china(MONDAY, 10), famous)], action=Action.APPLICANT_REGISTER)  # a write, not a read
    await evaluate_on(hub, MONDAY)
    assert await alerts(client, auditor, "anomaly.watch_list") == []
    await record(clerk, [(china(MONDAY, 11), famous)])
    await evaluate_on(hub, MONDAY)
    found = await alerts(client, auditor, "anomaly.watch_list")
    assert len(found) == 1 and famous in found[0]["summary"]


async def test_a_rule_switched_off_raises_nothing(hub, client, clerk, auditor, hub_command, tmp_path) -> None:
    await load_rules(hub_command, tmp_path, "rules:\n  anomaly.off_hours:\n    enabled: false\n")
    await record(clerk, [(china(SATURDAY, 23), people(1)[0])])
    await evaluate_on(hub, SATURDAY)
    assert await alerts(client, auditor, "anomaly.off_hours") == []


async def test_the_evaluation_is_incremental(hub, client, clerk, auditor) -> None:
    await record(clerk, [(china(MONDAY, 10), ref) for ref in people(3)])
    first = await evaluate_on(hub, MONDAY)
    assert first.anomalies.entries == 3 and first.anomalies.alerts == 3  # no case: no relationship
    again = await evaluate_on(hub, MONDAY)
    assert (again.anomalies.entries, again.anomalies.alerts, again.anomalies.last_seq) == (0, 0, 3)
    await record(clerk, [(china(MONDAY, 11), people(1)[0]), (china(MONDAY, 11), people(1, start=50)[0])])
    later = await evaluate_on(hub, MONDAY)
    # Two new entries judged; the known pair (clerk, first applicant) is not alerted twice.
    assert (later.anomalies.entries, later.anomalies.alerts, later.anomalies.last_seq) == (2, 1, 5)


async def test_a_clerk_who_browses_neighbours_is_flagged_with_proofs_that_verify_offline(
    hub, client, clerk, auditor
) -> None:
    registrar = await make_actor(hub, Role.CLERK, "xzfw", "登记员")
    father = await applicant(registrar, "11010119600101123", "张建国", "幸福路 8 号 3 单元 502")
    son = await applicant(registrar, "11010119900101456", "张小明", "幸福路 8 号 3 单元 502")
    lodger = await applicant(registrar, "11010119850101789", "李四", "幸福路 8 号 3 单元 502")
    await evaluate_on(hub, MONDAY)  # registrations are writes: nothing to say
    assert await alerts(client, auditor, "anomaly.neighbour") == []

    nosy = await make_actor(hub, Role.CLERK, "xzfw", "好奇的窗口")
    for person in (father, son, lodger):
        # A visit opened for each, as if each stood at the window: the log holds the reads all the same.
        visit = await open_visit(client, nosy, person)
        await client.execute(READ, {"id": person}, token=nosy.token, purpose=visit)
    await evaluate_on(hub, date.today())

    household = await alerts(client, auditor, "anomaly.neighbour")
    assert len(household) == 1
    assert (
        father in household[0]["summary"] and son in household[0]["summary"] and lodger not in household[0]["summary"]
    )
    assert len(await alerts(client, auditor, "anomaly.no_relationship")) == 3

    evidence = (await client.execute(EVIDENCE, {"id": household[0]["id"]}, token=auditor.token))["alertEvidence"]
    # Offline: nothing but the evidence and the hub's published public key.
    key = VerifierKey(hub.settings.audit_origin, Keyring(hub.settings.secrets_dir).current_signing_key().public_bytes())
    body, signers = verified_signers(evidence["checkpoint"]["note"], [key])
    assert signers == [key]
    checkpoint = parse_body(body)
    assert [p["seq"] for p in evidence["proofs"]] == household[0]["seqs"]
    for proof in evidence["proofs"]:
        entry = proof["entry"].encode("utf-8")
        assert base64.b64decode(proof["leafHash"]) == leaf_hash(entry)
        hashes = [base64.b64decode(h) for h in proof["hashes"]]
        verify_inclusion(proof["leafIndex"], checkpoint.tree_size, leaf_hash(entry), hashes, checkpoint.root_hash)
        assert json.loads(entry)["seq"] == proof["seq"]
    entries = [json.loads(p["entry"]) for p in evidence["proofs"]]
    assert {e["applicant"] for e in entries} == {father, son}
    assert {e["principal"] for e in entries} == {household[0]["principalId"]}


async def test_a_window_spanning_evaluations_and_an_entry_sequenced_late(hub, client, clerk, auditor) -> None:
    tax = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "sw")
    housing = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "zjj")
    refs = people(5)
    # Three refusals, judged; two more in the same ten minutes, judged later with the first as context.
    await record(tax, [(china(MONDAY, 10, m), ref) for m, ref in enumerate(refs[:3])], outcome=Outcome.DENIED)
    await record(housing, [(china(MONDAY, 10, m), ref) for m, ref in enumerate(refs[:4])], outcome=Outcome.DENIED)
    await evaluate_on(hub, MONDAY)
    assert await alerts(client, auditor, "anomaly.probing") == []
    await record(tax, [(china(MONDAY, 10, 3 + m), ref) for m, ref in enumerate(refs[3:])], outcome=Outcome.DENIED)
    await evaluate_on(hub, MONDAY)
    (found,) = await alerts(client, auditor, "anomaly.probing")
    assert found["departmentCode"] == "sw" and len(found["seqs"]) == 5

    # A day later the next runs' context starts two hours back (the probing window's ten minutes
    # are under the volume rule's hour, and an hour more for late entries), not at the log's start...
    tuesday = date(2026, 11, 3)
    await record(clerk, [(china(tuesday, 12), refs[0])])
    await evaluate_on(hub, tuesday)
    async with hub.sessions() as session:
        assert await watermark(session, CONTEXT_SEQ) > 1
        latest = (await session.execute(select(func.max(AccessEntry.recorded_at)))).scalar_one()
        latest_micros = (latest - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
        assert await watermark(session, CONTEXT_MICROS) == latest_micros - 2 * HOUR
    # ...but an entry recorded on Monday and sequenced only now still sees Monday's refusals.
    await record(housing, [(china(MONDAY, 10, 5), refs[4])], outcome=Outcome.DENIED)
    await evaluate_on(hub, tuesday)
    late = [a for a in await alerts(client, auditor, "anomaly.probing") if a["departmentCode"] == "zjj"]
    assert len(late) == 1 and len(late[0]["seqs"]) == 5
