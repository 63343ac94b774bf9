"""The evaluation: asked for over GraphQL by the office, counted in /metrics, one at a time across
processes on PostgreSQL, and off in the background when the interval is 0."""

from __future__ import annotations

import asyncio
import gc
import time
from datetime import date

from sqlalchemy import func, select

from app.asgi import create_app
from hub.supervision.evaluator import evaluate, run_forever
from storage.repositories.supervision import EVALUATION_LOCK_KEY
from tests.support.case_stories import at
from tests.support.supervision import accepted_case, applicant, load_timing_catalog

RUN = "mutation { runSupervision { ran cases reviews warnings entries alerts escalated } }"


async def test_the_office_runs_an_evaluation_and_metrics_count_it(hub, client, clerk, auditor) -> None:
    await load_timing_catalog(hub)
    person = await applicant(clerk, "11010119800101123", "张三")
    await accepted_case(hub, clerk, person, ["sw-ns"], date(2026, 11, 2))
    at(hub, date(2026, 11, 6))  # overdue: the case goes RED; tax's silence is 超时默许
    assert await client.error_code(RUN, token=clerk.token) == "FORBIDDEN"
    before = (await client.http.get("/metrics")).text
    run = (await client.execute(RUN, token=auditor.token))["runSupervision"]
    assert run["ran"] is True and (run["cases"], run["reviews"], run["warnings"]) == (1, 0, 1)
    assert run["entries"] > 0  # the log's entries so far: registration, case, acceptance...
    after = (await client.http.get("/metrics")).text

    def warnings(text: str) -> float:
        line = next(line for line in text.splitlines() if line.startswith("hub_supervision_warnings_total"))
        return float(line.split()[-1])

    assert warnings(after) == warnings(before) + 1
    assert "hub_supervision_alerts_total" in after


async def test_one_evaluator_at_a_time_and_the_background_switch(hub, settings) -> None:
    if hub.engine.dialect.name == "postgresql":
        async with hub.sessions() as other:
            assert (await other.execute(select(func.pg_try_advisory_xact_lock(EVALUATION_LOCK_KEY)))).scalar()
            assert await evaluate(hub) is None  # another process holds it: this round is skipped
            await other.rollback()
    assert await evaluate(hub) is not None
    hub.settings = settings.model_copy(update={"supervision_interval": 0})
    await run_forever(hub)  # returns at once: switched off


async def test_hub_supervise_run_evaluates_with_a_progress_bar(hub, clerk, hub_command) -> None:
    await load_timing_catalog(hub)
    person = await applicant(clerk, "11010119800101123", "张三")
    await accepted_case(hub, clerk, person, ["zjj-sgxk"], date(2026, 11, 2))
    status, out, err = await hub_command("supervise", "run")
    assert status == 0, err
    assert "timing: 1 open cases, 2 open reviews" in out
    assert "entries evaluated up to seq" in out and "evaluating the log [" in err
    status, out, _ = await hub_command("supervise", "run")
    assert status == 0 and "access log: 0 entries evaluated" in out  # nothing new: nothing rescanned


LOOKUP = "query($id: String!) { applicant(idNumber: $id) { idNumber } }"
ALERTS = "query { supervisionAlerts { rule summary } }"


async def test_the_served_hub_raises_an_alert_by_itself_seconds_after_the_read(hub, client, clerk, auditor) -> None:
    person = await applicant(clerk, "11010119800101123", "张三")
    hub.settings = hub.settings.model_copy(
        update={"supervision_interval": 3600, "supervision_log_interval": 0.2, "audit_sequencer_interval": 0.1}
    )
    app = create_app(hub.settings, hub)
    try:
        async with app.router.lifespan_context(app):
            await asyncio.sleep(0.5)  # the evaluation at start: nothing read yet
            assert (await client.execute(ALERTS, token=auditor.token))["supervisionAlerts"] == []
            # The window looks the applicant up with no case of theirs at its centre.
            await client.execute(LOOKUP, {"id": person}, token=clerk.token)
            read_at = time.monotonic()

            async def raised() -> list[dict[str, str]]:
                return (await client.execute(ALERTS, token=auditor.token))["supervisionAlerts"]

            while not (alerts := await raised()):
                assert time.monotonic() - read_at < 10, "no alert within 10 s of the read"
                await asyncio.sleep(0.05)
    finally:
        gc.unfreeze()  # the app's start-up froze the heap for the process's lifetime
    # The read is made on the real clock: from 18:00 China time it is also outside working hours.
    alerts = [a for a in alerts if a["rule"] != "anomaly.off_hours"]
    assert [a["rule"] for a in alerts] == ["anomaly.no_relationship"] and person in alerts[0]["summary"]
