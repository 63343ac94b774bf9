"""The operator schedules pulls and the workers run them: every N seconds, each run recorded, one
run at a time per schedule however many workers there are, on both hub databases.

`hub connector schedule add` stores the pull; `hub worker` (and `hub serve` on SQLite) runs it. The
sources are real: the police register in MariaDB or a SQLite file (pull-sql), and the regulator's
paged API on loopback (pull-rest), made slow to widen the window two workers could collide in.
"""

from __future__ import annotations

import asyncio
import gc
import json

import pytest
from sqlalchemy import func, select

from app.asgi import create_app
from connectors.schedules import PullOptions, add_schedule, run_due_schedules
from hub.access.auth import Role
from hub.services import build_hub
from storage.models import Applicant, ConnectorRun, ConnectorSchedule
from storage.models.base import utcnow
from storage.repositories import connectors as repo
from storage.repositories.principals import upsert_department
from tests.connectors.conftest import write
from tests.support import make_actor
from tests.support.department_api import start_department_api
from tests.webhooks.conftest import wait_for

ZHANG = "11010519491231002X"
LI = "440304198506123412"
PURPOSE = "feed:population-register"


async def registered(hub) -> int:
    async with hub.sessions() as session:
        return await session.scalar(select(func.count()).select_from(Applicant))


async def runs(hub, name: str) -> list[ConnectorRun]:
    async with hub.sessions() as session:
        return list(await session.scalars(select(ConnectorRun).where(ConnectorRun.name == name).order_by("id")))


async def test_the_operator_schedules_a_pull_sql_and_a_worker_runs_it_and_records_the_run(
    hub, police, source, tmp_path, hub_command, monkeypatch
) -> None:
    url, table = source
    insert = f"INSERT INTO {table} (id_number, name, phone, address, updated_at) VALUES (:i, :n, :p, :a, :u)"
    await write(url, insert, [{"i": ZHANG, "n": "张三", "p": "13800000001", "a": None, "u": 1}])
    token_file = tmp_path / "gaj.token"
    token_file.write_text(police.token + "\n")
    monkeypatch.setenv("GAJ_DATABASE_URL", url)  # the workers' environment holds the database URL
    query = f"SELECT id_number, name, phone, updated_at FROM {table}"
    status, out, err = await hub_command(
        "connector", "schedule", "add", "gaj-population", "--kind", "pull-sql", "--every", "3600",
        "--purpose", PURPOSE, "--token-file", str(token_file), "--url-variable", "GAJ_DATABASE_URL",
        "--query", query, "--watermark-column", "updated_at",
    )  # fmt: skip
    assert status == 0, err
    assert "gaj-population added: pull-sql every 3600 s" in out
    status, out, _ = await hub_command("connector", "schedule", "list")
    assert status == 0 and out.startswith("gaj-population (pull-sql) every 3600 s") and "idle" in out
    assert police.token not in out and url not in out  # where they are read from, never what

    status, out, err = await hub_command("worker", "--once")
    assert status == 0, err
    assert "ran 1 scheduled connector pulls" in out
    assert await registered(hub) == 1
    # Not due again for an hour: a second pass runs nothing.
    await write(url, insert, [{"i": LI, "n": "李四", "p": None, "a": None, "u": 2}])
    status, out, _ = await hub_command("worker", "--once")
    assert "ran 0 scheduled connector pulls" in out and await registered(hub) == 1

    status, out, _ = await hub_command("connector", "runs", "--name", "gaj-population")
    assert status == 0 and "gaj-population (sql): 1 records, 1 registered, 0 refused" in out
    status, _, _ = await hub_command("connector", "schedule", "remove", "gaj-population")
    assert status == 0
    status, out, _ = await hub_command("connector", "schedule", "list")
    assert out.strip() == "no connector schedules"
    status, _, err = await hub_command("connector", "schedule", "remove", "gaj-population")
    assert status == 2 and "NOT_FOUND" in err


async def test_a_schedule_is_refused_before_it_is_stored_when_it_could_not_run(hub, police, tmp_path) -> None:
    from hub.errors import InvalidInput, SourceUrlNotAllowed

    token_file = tmp_path / "gaj.token"
    token_file.write_text(police.token)
    sql = PullOptions(query="SELECT * FROM t", watermark_column="updated_at")
    cases = [
        ("a", "pull-sql", "HUB_PULL_SOURCE_URL", sql, str(token_file), 5, "every"),
        ("a", "pull-sql", "HUB_PULL_SOURCE_URL", sql, str(tmp_path / "missing.token"), 60, "token"),
        ("a", "pull-sql", "mysql://root:secret@db/x", sql, str(token_file), 60, "source"),
        ("a", "pull-sql", "HUB_PULL_SOURCE_URL", PullOptions(query="DELETE FROM t", watermark_column="u"), str(token_file), 60, "query"),
        ("a", "pull-ftp", "x", sql, str(token_file), 60, "kind"),
    ]  # fmt: skip
    async with hub.sessions() as session:
        for name, kind, source_, options, token, every, field in cases:
            with pytest.raises(InvalidInput) as refused:
                await add_schedule(session, hub.settings, name, kind, source_, options, PURPOSE, token, every)
            assert refused.value.details["field"] == field, refused.value.message
        # A pull-rest source must be on the operator's allowlist, as every URL a pull fetches.
        with pytest.raises(SourceUrlNotAllowed):
            await add_schedule(
                session,
                hub.settings,
                "b",
                "pull-rest",
                "http://10.0.0.8/x",
                PullOptions(),
                PURPOSE,
                str(token_file),
                60,
            )
        assert await repo.all_schedules(session) == []


@pytest.fixture
async def regulator_api(hub, tmp_path):
    """The regulator's slow paged API (two pages, 0.4 s each), scheduled as a pull-rest."""
    api, server, thread = start_department_api()
    api.page_seconds = 0.4
    api.records = [
        {"idNumber": ZHANG, "name": "张三", "updatedAt": "2026-11-01T00:00:00Z"},
        {"idNumber": LI, "name": "李四", "updatedAt": "2026-11-02T00:00:00Z"},
        {"idNumber": "110101199003071233", "name": "王五", "updatedAt": "2026-11-03T00:00:00Z"},
    ]
    hub.settings = hub.settings.model_copy(
        update={"connector_allowed_hosts": ["127.0.0.1/32"], "connector_schedule_lease_seconds": 0.6}
    )
    async with hub.sessions() as session:
        await upsert_department(session, "scjg", "市场监督管理局")
        await session.commit()
    regulator = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "scjg", "电子证照库")
    token_file = tmp_path / "scjg.token"
    token_file.write_text(regulator.token)
    async with hub.sessions() as session:
        await add_schedule(
            session, hub.settings, "scjg", "pull-rest", f"{api.url}/records", PullOptions(rate=50),
            "feed:enterprise-register", str(token_file), 600,
        )  # fmt: skip
        await session.commit()
    yield api
    server.should_exit = server.force_exit = True
    thread.join(timeout=5)


async def test_two_workers_never_run_one_schedule_at_the_same_time(hub, regulator_api) -> None:
    # Two workers as two `hub worker` processes: each its own engine. The run (two slow pages) lasts
    # longer than the lease, so only the renewals keep the second worker out while it runs.
    hubs = [build_hub(hub.settings), build_hub(hub.settings)]
    stop = asyncio.Event()
    tries = [0, 0]

    async def worker(n: int) -> int:
        ran = 0
        while not stop.is_set():
            ran += await run_due_schedules(hubs[n], f"worker-{n}")
            tries[n] += 1
            await asyncio.sleep(0.05)
        return ran

    try:
        working = [asyncio.create_task(worker(n)) for n in (0, 1)]
        await wait_for(lambda: runs(hub, "scjg"), timeout=20)
        await asyncio.sleep(0.3)  # a second run, had either worker started one, would show meanwhile
        stop.set()
        ran = await asyncio.gather(*working)
    finally:
        for h in hubs:
            await h.close()
    assert sorted(ran) == [0, 1], ran
    assert tries[ran.index(0)] > 10, tries  # the other worker kept trying while the run went on
    recorded = await runs(hub, "scjg")
    assert len(recorded) == 1 and recorded[0].records == 3 and recorded[0].error is None
    assert [path for path, _, _ in regulator_api.requests] == ["/records", "/records"]  # one run's two pages
    async with hub.sessions() as session:
        schedule = await repo.schedule_by_name(session, "scjg")
    assert schedule.lease_owner is None and schedule.next_run_at > utcnow()


async def test_a_schedule_held_by_a_dead_worker_runs_once_its_lease_expires(hub, regulator_api) -> None:
    async with hub.sessions() as session:
        schedule = await repo.schedule_by_name(session, "scjg")
        now = utcnow()
        from datetime import timedelta

        assert await repo.take_schedule(session, schedule.id, "killed", now, now + timedelta(seconds=0.5))
        await session.commit()
    assert await run_due_schedules(hub, "survivor") == 0  # leased: nobody else runs it meanwhile
    await asyncio.sleep(0.6)
    assert await run_due_schedules(hub, "survivor") == 1
    assert len(await runs(hub, "scjg")) == 1


async def test_a_worker_stopped_while_it_gives_the_lease_back_still_gives_it_back(
    hub, regulator_api, monkeypatch
) -> None:
    # A process shutting down cancels its worker at any await, here while the finished run hands the
    # lease back: the hand-back completes before the worker stops, so the schedule is free at once
    # instead of after the lease expires (a `hub serve` stopped right after a run, seen in CI).
    giving_back, go_on = asyncio.Event(), asyncio.Event()
    release = repo.release_schedule

    async def slow_release(*args):
        giving_back.set()
        await go_on.wait()
        return await release(*args)

    monkeypatch.setattr(repo, "release_schedule", slow_release)
    working = asyncio.create_task(run_due_schedules(hub, "stopping"))
    await asyncio.wait_for(giving_back.wait(), timeout=20)
    working.cancel()
    await asyncio.sleep(0)
    go_on.set()
    with pytest.raises(asyncio.CancelledError):
        await working
    assert len(await runs(hub, "scjg")) == 1
    async with hub.sessions() as session:
        schedule = await repo.schedule_by_name(session, "scjg")
    assert schedule.lease_owner is None and schedule.next_run_at > utcnow()


async def test_hub_serve_runs_the_schedules_itself_on_sqlite(hub, regulator_api) -> None:
    hub.settings = hub.settings.model_copy(update={"connector_schedule_poll_seconds": 0.1})
    app = create_app(hub.settings, hub)
    try:
        async with app.router.lifespan_context(app):
            if hub.settings.is_sqlite:
                await wait_for(lambda: runs(hub, "scjg"), timeout=20)
            else:  # on PostgreSQL the `hub worker` processes run them
                await asyncio.sleep(1.0)
                assert await runs(hub, "scjg") == []
    finally:
        gc.unfreeze()  # the app's start-up froze the heap for the process's lifetime
    if hub.settings.is_sqlite:
        recorded = await runs(hub, "scjg")
        assert len(recorded) == 1 and json.loads(recorded[0].outcomes) == {"registered": 3}
    async with hub.sessions() as session:
        assert (await session.scalar(select(ConnectorSchedule.lease_owner))) is None
