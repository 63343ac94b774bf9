"""The market regulator's register and its e-licences are read from its paged JSON API.

`hub connector pull-rest` reads a real HTTP server on loopback (tests/support/department_api.py):
pages, `?since=` and an ETag answered 304, a 503 retried, documents by URL and inline base64
issued as materials of a configured type by the department, and a rerun that changes nothing. On
both hub databases.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from connectors.pull_rest import RestSource, pull_rest
from hub.access.auth import Role
from hub.catalog.catalogue import load_catalog
from hub.errors import SourceUnavailable, SourceUrlNotAllowed
from hub.profiles.applicants import FeedResult
from storage.models import AccessEntry, Applicant, ConnectorRun, Material, MaterialVersion
from storage.repositories.principals import upsert_department
from tests.support import Actor, make_actor
from tests.support.department_api import DepartmentApi, start_department_api
from tests.support.materials import pdf

PURPOSE = "feed:enterprise-register"
# The department's API listens on loopback, which a pull may reach only if the operator allows it.
LOOPBACK_ALLOWED = {"connector_allowed_hosts": ["127.0.0.1/32"]}
DAZHOU = "91110000600037341L"
ZHANG = "11010519491231002X"
LI = "440304198506123412"
CATALOG = """
material_types:
  - {code: business_licence, name: 营业执照, issuing_department: scjg, valid_days: 3650}
"""


@pytest.fixture
def api() -> Iterator[DepartmentApi]:
    api, server, thread = start_department_api()
    yield api
    server.should_exit = server.force_exit = True
    thread.join(timeout=5)


@pytest.fixture
async def regulator(hub) -> Actor:
    hub.settings = hub.settings.model_copy(update=LOOPBACK_ALLOWED)
    async with hub.sessions() as session:
        await upsert_department(session, "scjg", "市场监督管理局")
        await load_catalog(session, CATALOG, "licences.yaml")
        await session.commit()
    return await make_actor(hub, Role.DEPARTMENT_SYSTEM, "scjg", "电子证照库")


def source(api: DepartmentApi, **manners) -> RestSource:
    return RestSource(url=f"{api.url}/records", material_type="business_licence", backoff=0.05, rate=50, **manners)


async def pull(hub, regulator, api, reports=None, **manners):
    return await pull_rest(
        hub, source(api, **manners), regulator.token, PURPOSE, report=(reports if reports is not None else []).append
    )


async def counts(hub) -> tuple[int, int, int, int]:
    async with hub.sessions() as session:
        applicants = await session.scalar(select(func.count()).select_from(Applicant))
        materials = await session.scalar(select(func.count()).select_from(Material))
        versions = await session.scalar(select(func.count()).select_from(MaterialVersion))
        entries = await session.scalar(select(func.count()).select_from(AccessEntry))
    return applicants, materials, versions, entries


def register(api: DepartmentApi) -> None:
    licence = pdf(2_000, seed=b"dazhou")
    api.documents["dazhou.pdf"] = licence
    api.records = [
        {
            "idNumber": DAZHOU,
            "name": "大州建设有限公司",
            "fields": {"legal_representative": "李四"},
            "verified": True,
            "updatedAt": "2026-11-01T08:00:00Z",
            "document": {
                "id": "BL-0001",
                "url": f"{api.url}/documents/dazhou.pdf",
                "fileName": "营业执照.pdf",
                "contentType": "application/pdf",
                "issuedOn": "2026-11-01",
            },
        },
        {"idNumber": ZHANG, "name": "张三", "verified": True, "updatedAt": "2026-11-02T08:00:00Z"},
        {
            "idNumber": LI,
            "name": "李四",
            "verified": True,
            "updatedAt": "2026-11-03T08:00:00Z",
            "document": {
                "id": "BL-0002",
                "content": base64.b64encode(pdf(1_500, seed=b"li")).decode(),
                "fileName": "个体工商户营业执照.pdf",
                "contentType": "application/pdf",
            },
        },
        {"idNumber": "110105194912310021", "name": "错号", "updatedAt": "2026-11-03T09:00:00Z"},
    ]


async def test_a_paged_pull_registers_issues_licences_and_a_rerun_changes_nothing(hub, regulator, api) -> None:
    register(api)
    reports: list[str] = []
    first = await pull(hub, regulator, api, reports)
    assert first.records == 4 and first.outcomes[FeedResult.REGISTERED] == 3
    assert first.materials["issued"] == 2 and dict(first.refused) == {"INVALID_RESIDENT_ID": 1}
    assert len(reports) == 1 and reports[0].startswith("record 4: INVALID_RESIDENT_ID 110105**********21")
    assert [status for path, _, status in api.requests if path == "/records"] == [200, 200]  # two pages
    after = await counts(hub)
    assert after[:3] == (3, 2, 2)
    async with hub.sessions() as session:
        licences = list(await session.scalars(select(Material).order_by(Material.id)))
        actions = set(await session.scalars(select(AccessEntry.action)))
    assert {m.title for m in licences} == {"营业执照"} and all(m.issuing_department_id for m in licences)
    assert {"applicant.register", "material.upload"} <= actions  # through the guard, logged

    # Nothing changed at the source: its ETag answers 304 and the run reads nothing.
    api.requests.clear()
    again = await pull(hub, regulator, api)
    assert again.records == 0 and again.all_applied
    assert [(path, status) for path, _, status in api.requests] == [("/records", 304)]
    assert await counts(hub) == after  # not even an access entry

    # A new record after a 503: retried, read from the watermark on (the boundary record again).
    api.fail_next = 1
    api.records.append({"idNumber": "110101199003071233", "name": "王五", "updatedAt": "2026-11-04T08:00:00Z"})
    api.requests.clear()
    third = await pull(hub, regulator, api)
    assert [status for *_, status in api.requests if _[0] == "/records"] == [503, 200]
    assert all("since=2026-11-03T09" in query for _, query, _ in api.requests)
    assert third.records == 2 and third.outcomes[FeedResult.REGISTERED] == 1
    assert (await counts(hub))[:3] == (4, 2, 2)


async def test_a_rerun_after_the_etag_changed_issues_no_second_licence(hub, regulator, api) -> None:
    register(api)
    await pull(hub, regulator, api)
    before = await counts(hub)
    # The same records again (the source's ETag changed, say by a field it does not send): a full read.
    api.records[0]["verified"] = True
    api.records[0]["updatedAt"] = "2026-11-05T00:00:00Z"
    api.records[2]["updatedAt"] = "2026-11-05T00:00:00Z"
    rerun = await pull(hub, regulator, api)
    assert rerun.materials["same"] == 2 and rerun.materials["issued"] == 0
    assert rerun.outcomes[FeedResult.UNCHANGED] == 2
    assert (await counts(hub))[:3] == before[:3]

    # New content under the same licence number would be a new version of the same material, never
    # a second one; superseding discloses, so a bare feed purpose is refused it (and it is logged).
    api.documents["dazhou.pdf"] = pdf(2_100, seed=b"dazhou-renewed")
    api.records[0]["updatedAt"] = "2026-11-06T00:00:00Z"
    reports: list[str] = []
    renewed = await pull(hub, regulator, api, reports)
    assert dict(renewed.refused) == {"FORBIDDEN": 1} and renewed.materials["reissued"] == 0
    assert "purpose feed:enterprise-register is unknown" in reports[0]
    assert (await counts(hub))[:3] == before[:3]


async def test_a_source_that_keeps_failing_stops_the_run_and_keeps_the_watermark(hub, regulator, api) -> None:
    register(api)
    api.fail_next = 10
    with pytest.raises(SourceUnavailable):
        await pull(hub, regulator, api, retries=2)
    assert [status for *_, status in api.requests] == [503, 503, 503]
    assert (await counts(hub))[:2] == (0, 0)


async def test_the_command_records_its_run_for_the_operator(hub, regulator, api, hub_command, monkeypatch) -> None:
    register(api)
    monkeypatch.setenv("HUB_CONNECTOR_TOKEN", regulator.token)
    monkeypatch.setenv("HUB_CONNECTOR_ALLOWED_HOSTS", '["127.0.0.1/32"]')
    args = ("connector", "pull-rest", f"{api.url}/records", "--purpose", PURPOSE, "--name", "scjg-licences")
    status, out, err = await hub_command(*args, "--material-type", "business_licence", "--rate", "50")
    assert status == 1, err  # one record refused
    assert out.startswith("4 records: 3 registered, 0 updated, 0 unchanged, 1 refused (INVALID_RESIDENT_ID 1)")
    assert "materials: 2 issued" in out
    api.fail_next = 10
    status, _, err = await hub_command(*args, "--retries", "0")
    assert status == 2 and "SOURCE_UNAVAILABLE" in err
    async with hub.sessions() as session:
        runs = list(await session.scalars(select(ConnectorRun).order_by(ConnectorRun.id)))
    assert [run.name for run in runs] == ["scjg-licences", "scjg-licences"]
    assert json.loads(runs[0].refusals) == {"INVALID_RESIDENT_ID": 1} and runs[0].records == 4
    assert json.loads(runs[0].outcomes)["material issued"] == 2 and runs[1].error.startswith("SOURCE_UNAVAILABLE")
    status, out, _ = await hub_command("connector", "runs", "--name", "scjg-licences")
    lines = out.splitlines()
    assert status == 0 and len(lines) == 2
    assert "stopped: SOURCE_UNAVAILABLE" in lines[0] and "4 records" in lines[1] and "1 refused" in lines[1]


async def test_a_pull_fetches_only_where_the_operator_allows_as_webhooks_are_sent(hub, regulator, api) -> None:
    register(api)
    # A source pointing the hub at an address of its own network: the same name checks as webhooks.
    port = api.url.rsplit(":", 1)[1]
    api.records[0]["document"]["url"] = f"http://localhost:{port}/documents/dazhou.pdf"
    reports: list[str] = []
    summary = await pull(hub, regulator, api, reports)
    assert dict(summary.refused) == {"INVALID_RESIDENT_ID": 1, "SOURCE_URL_NOT_ALLOWED": 1}
    assert any("SOURCE_URL_NOT_ALLOWED" in line and "localhost" in line for line in reports)
    assert summary.materials["issued"] == 1  # the inline licence; the refused URL was never fetched
    assert not any(path.startswith("/documents/") for path, _, _ in api.requests)

    # With the loopback network off the operator's allowlist, nothing at all is fetched.
    hub.settings = hub.settings.model_copy(update={"connector_allowed_hosts": []})
    api.requests.clear()
    with pytest.raises(SourceUrlNotAllowed):
        await pull(hub, regulator, api)
    assert api.requests == []
    # A host allowed by name that resolves to loopback is refused where the socket would be opened.
    hub.settings = hub.settings.model_copy(update={"connector_allowed_hosts": ["localhost"]})
    with pytest.raises(SourceUrlNotAllowed, match="may not reach"):
        await pull_rest(hub, RestSource(url=f"http://localhost:{port}/records"), regulator.token, PURPOSE, report=print)
    assert api.requests == []
