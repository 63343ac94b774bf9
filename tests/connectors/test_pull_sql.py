"""The public security bureau's population register is read straight from its database.

`hub connector pull-sql` runs a read-only query against the department's own database (MariaDB on
this machine, and a SQLite file), maps each row into profile fields through the same use case,
guard and log as the file feed, and keeps a watermark so a rerun reads only what changed and
duplicates nothing. MariaDB is required: the test fails, never skips, when it is unreachable.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from connectors.pull_sql import pull_sql
from hub.profiles.applicants import FeedResult
from storage.models import AccessEntry, Applicant, ProfileFieldValue
from tests.connectors.conftest import write

ZHANG = "11010519491231002X"
LI = "440304198506123412"
WANG = "110101199003071233"
PURPOSE = "feed:population-register"


async def pull(hub, police, url, table, reports=None):
    query = f"SELECT id_number, name, phone, address, updated_at FROM {table}"
    return await pull_sql(hub, url, query, "updated_at", police.token, PURPOSE, report=(reports or []).append)


async def counts(hub) -> tuple[int, int, int]:
    async with hub.sessions() as session:
        applicants = await session.scalar(select(func.count()).select_from(Applicant))
        values = await session.scalar(select(func.count()).select_from(ProfileFieldValue))
        writes = await session.scalar(
            select(func.count())
            .select_from(AccessEntry)
            .where(AccessEntry.action.in_(["profile.write", "applicant.register"]))
        )
    return applicants, values, writes


async def test_a_pull_registers_then_reruns_read_only_what_changed_and_duplicate_nothing(hub, police, source) -> None:
    url, table = source
    insert = f"INSERT INTO {table} (id_number, name, phone, address, updated_at) VALUES (:i, :n, :p, :a, :u)"
    await write(
        url,
        insert,
        [
            {"i": ZHANG, "n": "张三", "p": "13800000001", "a": "北京市西城区", "u": 100},
            {"i": LI, "n": "李四", "p": "13800000002", "a": None, "u": 200},
        ],
    )
    first = await pull(hub, police, url, table)
    assert first.records == 2 and first.outcomes[FeedResult.REGISTERED] == 2 and first.all_applied
    after_first = await counts(hub)
    assert after_first[0] == 2

    # Nothing changed: only the row at the watermark is read again, and it changes nothing.
    again = await pull(hub, police, url, table)
    assert again.records == 1 and again.outcomes[FeedResult.UNCHANGED] == 1
    assert (await counts(hub))[:2] == after_first[:2]

    # Li moves and Wang is added: the next run reads those two (and the boundary row) only.
    await write(
        url,
        f"UPDATE {table} SET address = :a, updated_at = :u WHERE id_number = :i",
        [{"a": "深圳市福田区", "u": 300, "i": LI}],
    )
    await write(url, insert, [{"i": WANG, "n": "王五", "p": None, "a": None, "u": 300}])
    third = await pull(hub, police, url, table)
    assert third.records == 2 and third.outcomes[FeedResult.REGISTERED] == 1 and third.outcomes[FeedResult.UPDATED] == 1
    applicants, values, writes = await counts(hub)
    assert applicants == 3 and values == after_first[1] + 2  # Li's address and Wang's name
    assert writes > after_first[2]  # every record passed guard and was logged


async def test_a_pull_runs_one_select_only(hub, police, source) -> None:
    url, table = source
    from hub.errors import InvalidInput

    for query in (f"DELETE FROM {table}", f"SELECT * FROM {table}; DROP TABLE {table}"):
        with pytest.raises(InvalidInput):
            await pull_sql(hub, url, query, "updated_at", police.token, PURPOSE, report=print)
    with pytest.raises(InvalidInput):
        await pull_sql(hub, url, f"SELECT * FROM {table}", "updated_at; --", police.token, PURPOSE, report=print)


async def test_the_command_pulls_with_the_url_and_token_from_the_environment(
    hub, police, source, hub_command, monkeypatch
) -> None:
    url, table = source
    await write(
        url,
        f"INSERT INTO {table} (id_number, name, phone, address, updated_at) VALUES (:i, :n, :p, :a, :u)",
        [{"i": ZHANG, "n": "张三", "p": "13800000001", "a": None, "u": 1}],
    )
    monkeypatch.setenv("HUB_PULL_SOURCE_URL", url)
    monkeypatch.setenv("HUB_CONNECTOR_TOKEN", police.token)
    query = f"SELECT id_number, name, phone, updated_at FROM {table}"
    status, out, err = await hub_command(
        "connector", "pull-sql", "--query", query, "--watermark-column", "updated_at", "--purpose", PURPOSE
    )
    assert status == 0, err
    assert out.startswith("1 records: 1 registered")
    status, out, _ = await hub_command("connector", "runs")
    assert status == 0 and "pull-sql (sql): 1 records, 1 registered, 0 refused" in out


async def test_a_row_with_a_document_issues_it_once_as_a_material_of_the_department(hub, police, source) -> None:
    import base64

    from hub.catalog.catalogue import load_catalog
    from storage.models import Material
    from tests.support.materials import pdf

    async with hub.sessions() as session:
        await load_catalog(
            session, "material_types:\n  - {code: hukou_extract, name: 户籍证明, issuing_department: gaj}\n", "x"
        )
        await session.commit()
    url, table = source
    await write(url, f"ALTER TABLE {table} ADD COLUMN document_id VARCHAR(32)", [{}])
    await write(url, f"ALTER TABLE {table} ADD COLUMN document_content TEXT", [{}])
    await write(url, f"ALTER TABLE {table} ADD COLUMN document_file_name VARCHAR(64)", [{}])
    await write(url, f"ALTER TABLE {table} ADD COLUMN document_content_type VARCHAR(64)", [{}])
    await write(
        url,
        f"INSERT INTO {table} (id_number, name, updated_at, document_id, document_content, document_file_name, "
        "document_content_type) VALUES (:i, :n, :u, :d, :c, :f, :t)",
        [
            {
                "i": ZHANG,
                "n": "张三",
                "u": 1,
                "d": "HJ-1",
                "c": base64.b64encode(pdf(1_000, seed=b"hj")).decode(),
                "f": "户籍证明.pdf",
                "t": "application/pdf",
            },
            {"i": LI, "n": "李四", "u": 2, "d": None, "c": None, "f": None, "t": None},
        ],
    )
    query = f"SELECT * FROM {table}"

    async def run():
        return await pull_sql(
            hub, url, query, "updated_at", police.token, PURPOSE, report=print, material_type="hukou_extract"
        )

    first = await run()
    assert first.records == 2 and first.all_applied and first.materials["issued"] == 1
    again = await run()  # the watermark row again, then a full reread below: no second material
    await write(url, f"UPDATE {table} SET updated_at = 5", [{}])
    third = await run()
    assert again.materials["issued"] == third.materials["issued"] == 0 and third.materials["same"] == 1
    async with hub.sessions() as session:
        materials = list(await session.scalars(select(Material)))
        uploads = await session.scalar(
            select(func.count()).select_from(AccessEntry).where(AccessEntry.action == "material.upload")
        )
    assert len(materials) == 1 and materials[0].title == "户籍证明" and uploads == 1


async def test_a_document_url_on_loopback_is_fetched_only_if_the_operator_allows_it(hub, police, source) -> None:
    from hub.catalog.catalogue import load_catalog
    from storage.models import Material
    from tests.support.department_api import start_department_api
    from tests.support.materials import pdf

    api, server, thread = start_department_api()
    try:
        api.documents["hj.pdf"] = pdf(1_000, seed=b"hj-url")
        async with hub.sessions() as session:
            await load_catalog(
                session, "material_types:\n  - {code: hukou_extract, name: 户籍证明, issuing_department: gaj}\n", "x"
            )
            await session.commit()
        url, table = source
        for column in (
            "document_id VARCHAR(32)",
            "document_url VARCHAR(200)",
            "document_file_name VARCHAR(64)",
            "document_content_type VARCHAR(64)",
        ):
            await write(url, f"ALTER TABLE {table} ADD COLUMN {column}", [{}])
        await write(
            url,
            f"INSERT INTO {table} (id_number, name, updated_at, document_id, document_url, document_file_name, "
            "document_content_type) VALUES (:i, :n, :u, :d, :l, :f, 'application/pdf')",
            [{"i": ZHANG, "n": "张三", "u": 1, "d": "HJ-2", "l": f"{api.url}/documents/hj.pdf", "f": "户籍证明.pdf"}],
        )

        async def run(reports):
            return await pull_sql(
                hub,
                url,
                f"SELECT * FROM {table}",
                "updated_at",
                police.token,
                PURPOSE,
                report=reports.append,
                material_type="hukou_extract",
            )

        reports: list[str] = []
        refused = await run(reports)  # the default allowlist is empty: no fetch from the hub's own network
        assert dict(refused.refused) == {"SOURCE_URL_NOT_ALLOWED": 1} and api.requests == []
        assert "HUB_CONNECTOR_ALLOWED_HOSTS" in reports[0]
        hub.settings = hub.settings.model_copy(update={"connector_allowed_hosts": ["127.0.0.1/32"]})
        allowed = await run([])
        assert allowed.all_applied and allowed.materials["issued"] == 1
        assert [path for path, _, _ in api.requests] == ["/documents/hj.pdf"]
        async with hub.sessions() as session:
            assert len(list(await session.scalars(select(Material)))) == 1
    finally:
        server.should_exit = server.force_exit = True
        thread.join(timeout=5)
