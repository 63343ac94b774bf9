"""An administrator loads the service catalogue from a file; every principal reads it over GraphQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from hub.catalog.catalogue import load_catalog_file
from hub.demo.load import CATALOG_FILE as DEMO_CATALOG
from hub.errors import CatalogError
from hub.services import in_session
from storage.models import CatalogVersion, Department, MaterialType, ServiceItem

SMALL = {
    "departments": [{"code": "xzfw", "name": "行政服务中心"}, {"code": "ga", "name": "公安局"}],
    "material_types": [
        {"code": "id-card", "name": "居民身份证", "issuing_department": "ga", "valid_days": 3650},
        {"code": "dog-vaccination", "name": "犬只狂犬病免疫证明", "valid_days": 365},
    ],
    "service_items": [
        {
            "code": "GA-001",
            "name": "犬只登记",
            "lead_department": "ga",
            "departments": ["xzfw"],
            "statutory_days": 20,
            "promised_days": 5,
            "materials": [{"type": "id-card"}, {"type": "dog-vaccination", "key": False}],
        }
    ],
    "legal_bases": [
        {
            "code": "household-identity",
            "department": "ga",
            "description": "《居民身份证法》",
            "profile_fields": ["name"],
        }
    ],
}

ITEMS = """
query($stage: String) {
  serviceItems(stage: $stage) {
    code name statutoryDays promisedDays stage catalogVersion
    leadDepartment { code } departments { code }
    materials { isKey materialType { code validDays issuingDepartment { code } } }
  }
}"""


def _write(tmp_path: Path, data: dict, name: str = "catalog.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


async def _load(hub, path: Path):
    """Load as `hub catalog load` does: one transaction, committed only if the whole file is good."""
    return await in_session(hub.settings, lambda session: load_catalog_file(session, path))


async def _counts(hub) -> tuple[int, int, int, int]:
    async with hub.sessions() as session:
        return tuple(
            [
                (await session.execute(select(func.count()).select_from(model))).scalar_one()
                for model in (CatalogVersion, ServiceItem, MaterialType, Department)
            ]
        )


async def test_the_demo_catalogue_loads_and_reads_back_by_stage(hub, client, clerk) -> None:
    summary = await _load(hub, DEMO_CATALOG)
    assert summary.service_items >= 30 and summary.material_types >= 30

    for stage in ("立项用地", "规划许可", "施工许可", "竣工验收"):
        items = (await client.execute(ITEMS, {"stage": stage}, token=clerk.token))["serviceItems"]
        assert items and all(item["stage"] == stage for item in items)
    permit = next(
        item
        for item in (await client.execute(ITEMS, {"stage": "施工许可"}, token=clerk.token))["serviceItems"]
        if item["code"] == "SG-001"
    )
    assert (permit["statutoryDays"], permit["promisedDays"]) == (45, 15)
    assert permit["leadDepartment"]["code"] == "zjj"
    assert {"zjj", "zrzy", "xf", "rfb"} <= {d["code"] for d in permit["departments"]}
    keys = {m["materialType"]["code"]: m["isKey"] for m in permit["materials"]}
    assert keys["planning-permit"] is True and keys["fire-design-opinion"] is False
    planning = next(m["materialType"] for m in permit["materials"] if m["materialType"]["code"] == "planning-permit")
    assert planning["issuingDepartment"]["code"] == "zrzy" and planning["validDays"] == 730


async def test_loading_again_makes_a_new_version_and_updates_material_types_in_place(
    hub, client, clerk, tmp_path
) -> None:
    first = await _load(hub, _write(tmp_path, SMALL))
    changed = yaml.safe_load(yaml.safe_dump(SMALL))
    changed["service_items"][0]["promised_days"] = 3
    changed["material_types"][1]["valid_days"] = 180
    second = await _load(hub, _write(tmp_path, changed, "catalog-v2.yaml"))
    assert second.version_id > first.version_id

    items = (await client.execute(ITEMS, token=clerk.token))["serviceItems"]
    assert [(i["code"], i["promisedDays"], i["catalogVersion"]) for i in items] == [("GA-001", 3, second.version_id)]
    vaccination = next(m for m in items[0]["materials"] if m["materialType"]["code"] == "dog-vaccination")
    assert vaccination["materialType"]["validDays"] == 180 and vaccination["isKey"] is False
    versions, service_items, material_types, _ = await _counts(hub)
    assert (versions, service_items, material_types) == (2, 2, 2)  # old items kept for cases opened under v1


def _broken(**change) -> dict:
    data = yaml.safe_load(yaml.safe_dump(SMALL))
    for path, value in change.items():
        section, field = path.split("__")
        data[section][-1][field] = value
    return data


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        (_broken(service_items__lead_department="nowhere"), "unknown department"),
        (_broken(service_items__materials=[{"type": "no-such-type"}]), "unknown material type"),
        (_broken(service_items__promised_days=30), "promised_days cannot exceed statutory_days"),
        (_broken(service_items__stage="拆迁"), "stage must be one of"),
        (_broken(service_items__statutory_days=0), "greater than 0"),
        (_broken(material_types__colour="red"), "Extra inputs"),
        (_broken(legal_bases__material_types=["no-such-type"]), "unknown material type"),
        ({**SMALL, "service_items": SMALL["service_items"] * 2}, "appears twice"),
    ],
)
async def test_an_invalid_catalogue_is_refused_and_nothing_is_written(hub, tmp_path, data, complaint) -> None:
    await _load(hub, _write(tmp_path, SMALL))
    before = await _counts(hub)
    # A department only the bad file declares must not survive the refusal either.
    data = {**data, "departments": [*data["departments"], {"code": "new", "name": "新部门"}]}
    with pytest.raises(CatalogError) as refused:
        await _load(hub, _write(tmp_path, data, "bad.yaml"))
    assert refused.value.code == "INVALID_CATALOG"
    assert complaint in refused.value.message
    assert await _counts(hub) == before


async def test_a_file_that_is_not_yaml_or_is_missing_is_refused(hub, tmp_path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("service_items: [ {code: A", encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid YAML"):
        await _load(hub, broken)
    with pytest.raises(CatalogError, match="cannot read"):
        await _load(hub, tmp_path / "missing.yaml")
    assert await _counts(hub) == (0, 0, 0, 7)
