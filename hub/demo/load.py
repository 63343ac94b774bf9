"""`hub demo`: the demo catalogue, demo principals and generated applicants, in one transaction.

This is an operator's bulk load through the CLI, not a request: it writes applicants and profile
values with multi-row inserts and does not pass through `hub.access.guard`, so it leaves no access
entries (there is no caller to record). Everything a principal later does with these applicants
goes through the guard and the log as usual.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from hub.access.auth import Role
from hub.access.principals import create_principal
from hub.catalog.catalogue import load_catalog
from hub.demo.people import DemoApplicant, generate_applicants
from hub.errors import Conflict, InvalidInput
from hub.halls.centres import load_centres
from storage.repositories import applicants as applicants_repo
from storage.repositories import catalog as catalog_repo
from storage.repositories import principals as principals_repo

CATALOG_FILE = Path(__file__).parent / "data" / "demo-catalog.yaml"
CENTRES_FILE = Path(__file__).parent / "data" / "demo-centres.yaml"
# Where a clerk's window is when its department sits at no centre of its own: the city centre.
CITY_CENTRE = "jingmen"


@dataclass(frozen=True, slots=True)
class DemoPrincipal:
    name: str
    role: Role
    department_code: str
    centre_code: str | None = None  # a clerk's only


# Every department of the demo catalogue has its own system and a clerk at its window, so every
# story (a bank's mortgage, a utility's connection) can be played; the supervision office has the
# auditor instead. Systems not named here are called after their department.
DEPARTMENT_SYSTEMS = {
    "xzfw": "一体化政务服务平台",
    "fgj": "投资项目在线审批监管平台",
    "zrzy": "自然资源和规划业务系统",
    "zjj": "工程建设项目审批系统",
    "xf": "消防监督管理系统",
    "rfb": "人防工程管理系统",
    "szgc": "市政设施审批系统",
    "bdc": "不动产登记系统",
    "sw": "税收征管系统",
    "scjg": "市场主体登记系统",
    "ga": "人口信息管理系统",
    "mz": "民政业务系统",
    "rsj": "社会保险经办系统",
    "sthj": "环境影响评价审批系统",
    "sl": "水利审批系统",
    "yh": "个人住房贷款系统",
    "gd": "供电营销系统",
    "gs": "供水营业收费系统",
    "rq": "燃气营业收费系统",
    "tx": "通信业务受理系统",
}
# The integrated window of the service centre (综合窗口) records what the centre says of applicants.
CENTRE_CLERK = DemoPrincipal("王芳（综合窗口）", Role.CLERK, "xzfw", CITY_CENTRE)


def _catalogue_departments() -> list[tuple[str, str]]:
    """(code, name) of the demo catalogue's departments, supervision office excluded."""
    departments = yaml.safe_load(CATALOG_FILE.read_text(encoding="utf-8"))["departments"]
    return [(d["code"], d["name"]) for d in departments if not d.get("supervision")]


def _centres_of_departments() -> dict[str, str]:
    """Department code to the code of the demo centre it sits at."""
    placed: dict[str, str] = {}
    pending = list(yaml.safe_load(CENTRES_FILE.read_text(encoding="utf-8"))["centres"])
    while pending:
        centre = pending.pop()
        placed |= dict.fromkeys(centre.get("departments", []), centre["code"])
        pending.extend(centre.get("children", []))
    return placed


DEMO_PRINCIPALS = (
    CENTRE_CLERK,
    *(
        DemoPrincipal(f"{name}窗口", Role.CLERK, code, _centres_of_departments().get(code, CITY_CENTRE))
        for code, name in _catalogue_departments()
        if code != "xzfw"
    ),
    *(
        DemoPrincipal(DEPARTMENT_SYSTEMS.get(code, f"{name}业务系统"), Role.DEPARTMENT_SYSTEM, code)
        for code, name in _catalogue_departments()
    ),
    DemoPrincipal("李明（电子监察）", Role.AUDITOR, "jcj"),
    DemoPrincipal("系统管理员", Role.ADMIN, "xzfw"),
)


@dataclass(frozen=True, slots=True)
class DemoSummary:
    loaded: bool
    service_items: int = 0
    material_types: int = 0
    departments: int = 0
    principals: int = 0
    applicants: int = 0
    profile_values: int = 0

    def __str__(self) -> str:
        if not self.loaded:
            return "demo data is already there; nothing loaded"
        return (
            f"demo loaded: {self.departments} departments, {self.service_items} service items, "
            f"{self.material_types} material types, {self.principals} principals, {self.applicants} applicants "
            f"with {self.profile_values} profile values. `hub serve --print-demo-tokens` prints their tokens."
        )


async def load_demo(session: AsyncSession, *, applicants: int, seed: int, if_empty: bool) -> DemoSummary:
    """Load the demo into an empty database (caller commits); refuse, or skip with `if_empty`, otherwise."""
    if await _has_data(session):
        if if_empty:
            return DemoSummary(loaded=False)
        raise Conflict("the database already holds data; the demo loads only into an empty one")
    if applicants < 0:
        raise InvalidInput("the number of applicants cannot be negative", field="applicants")
    catalog = await load_catalog(session, CATALOG_FILE.read_text(encoding="utf-8"), CATALOG_FILE.name)
    await load_centres(session, CENTRES_FILE.read_text(encoding="utf-8"), CENTRES_FILE.name)
    issued = [
        await create_principal(session, p.name, p.role, p.department_code, centre_code=p.centre_code)
        for p in DEMO_PRINCIPALS
    ]
    # Each department's values are recorded by its system; the service centre's by its clerk.
    recorders = {i.department_code: i.principal_id for i in issued if i.role is Role.DEPARTMENT_SYSTEM}
    recorders |= {i.department_code: i.principal_id for i in issued if i.name == CENTRE_CLERK.name}
    generated = generate_applicants(applicants, seed)
    values = await _insert_applicants(session, generated, recorders)
    return DemoSummary(
        True,
        catalog.service_items,
        catalog.material_types,
        catalog.departments,
        len(DEMO_PRINCIPALS),
        len(generated),
        values,
    )


async def _has_data(session: AsyncSession) -> bool:
    return (
        await applicants_repo.has_applicants(session)
        or await catalog_repo.current_version_id(session) is not None
        or bool(await principals_repo.list_principals(session))
    )


async def _insert_applicants(session: AsyncSession, generated: list[DemoApplicant], recorders: dict[str, int]) -> int:
    """Bulk insert applicants, then their field values, each with its recording principal."""
    departments = {d.code: d.id for d in await principals_repo.list_departments(session)}
    ids = await applicants_repo.insert_applicants(
        session,
        [
            {
                "kind": a.kind.value,
                "id_number": a.id_number,
                "name": a.name,
                "created_at": a.created_at,
                "created_by_department_id": departments[a.created_by],
            }
            for a in generated
        ],
    )
    rows = [
        {
            "applicant_id": applicant_id,
            "field": v.field,
            "value": v.value,
            "source_department_id": departments[v.department_code],
            "recorded_by_principal_id": recorders[v.department_code],
            "recorded_at": v.recorded_at,
            "verified": v.verified,
            "is_current": v.is_current,
        }
        for applicant_id, applicant in zip(ids, generated, strict=True)
        for v in applicant.values
    ]
    await applicants_repo.insert_field_values(session, rows)
    return len(rows)
