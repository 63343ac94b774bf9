"""The service catalogue over GraphQL: departments, material types, service items, legal bases."""

from __future__ import annotations

import strawberry

from hub.catalog import catalogue as catalog
from schema import typed
from schema.context import Info
from schema.types.halls import CentreLevel
from schema.types.plain import plain_of
from storage import models


@strawberry.type(description="A department (部门) taking part in the hub.")
class Department:
    code: str
    name: str
    is_supervision: bool


def department_of(row: models.Department) -> Department:
    return Department(code=row.code, name=row.name, is_supervision=row.is_supervision)


async def _departments_by_ids(info: Info, ids: list[int]) -> list[Department | None]:
    async def batch(keys: list[int]) -> list[Department | None]:
        rows = await catalog.departments_by_ids(info.context.hub.session, keys)
        return [department_of(rows[key]) if key in rows else None for key in keys]

    return await info.context.loader("department", batch).load_many(ids)


@strawberry.type(description="A kind of material (材料), e.g. 居民身份证 or 营业执照.")
class MaterialType:
    # Plain fields, filled by `material_type_of`: a notice or a case lists dozens of them.
    code: str
    name: str
    valid_days: int | None = strawberry.field(
        description="Days a material of this type stays valid; null if it does not expire."
    )
    row: strawberry.Private[models.MaterialType]

    @strawberry.field
    async def issuing_department(self, info: Info) -> Department | None:
        if self.row.issuing_department_id is None:
            return None
        return (await _departments_by_ids(info, [self.row.issuing_department_id]))[0]


def material_type_of(row: models.MaterialType) -> MaterialType:
    return MaterialType(code=row.code, name=row.name, valid_days=row.valid_days, row=row)


@strawberry.type(description="A required material of a service item; key (要件) ones cannot be waived.")
class RequiredMaterial:
    material_type: MaterialType
    is_key: bool


@strawberry.type(description="A service item (事项) of the current catalogue version.")
class ServiceItem:
    # Plain fields, filled by `service_item_of` (schema/types/plain.py).
    code: str
    name: str
    statutory_days: int = strawberry.field(description="法定时限, in working days.")
    promised_days: int = strawberry.field(description="承诺时限, in working days.")
    stage: str | None = strawberry.field(description="Construction stage: 立项用地, 规划许可, 施工许可 or 竣工验收.")
    silence_is_consent: bool = strawberry.field(description="超时默许: no answer by the deadline counts as approval.")
    guide: str = strawberry.field(description="服务指南.")
    catalog_version: int
    row: strawberry.Private[models.ServiceItem]

    @typed.field(description="Three-level halls: the centre levels where the item may be accepted.")
    def accept_levels(self) -> list[CentreLevel]:
        return [CentreLevel(level) for level in self.row.accept_levels.split(",") if level]

    @typed.field(description="Three-level halls: the level whose department decides; null: the departments listed.")
    def decide_level(self) -> CentreLevel | None:
        return CentreLevel(self.row.decide_level) if self.row.decide_level else None

    @strawberry.field
    async def lead_department(self, info: Info) -> Department:
        department = (await _departments_by_ids(info, [self.row.lead_department_id]))[0]
        assert department is not None  # a foreign key guarantees it
        return department

    @strawberry.field
    async def departments(self, info: Info) -> list[Department]:
        async def batch(item_ids: list[int]) -> list[list[Department]]:
            rows = await catalog.departments_of_items(info.context.hub.session, item_ids)
            return [[department_of(d) for d in rows.get(item_id, [])] for item_id in item_ids]

        return await info.context.loader("item-departments", batch).load(self.row.id)

    @strawberry.field
    async def materials(self, info: Info) -> list[RequiredMaterial]:
        async def batch(item_ids: list[int]) -> list[list[RequiredMaterial]]:
            rows = await catalog.materials_of_items(info.context.hub.session, item_ids)
            return [
                [RequiredMaterial(material_type=material_type_of(t), is_key=key) for t, key in rows.get(i, [])]
                for i in item_ids
            ]

        return await info.context.loader("item-materials", batch).load(self.row.id)


def service_item_of(row: models.ServiceItem) -> ServiceItem:
    return plain_of(ServiceItem, row, catalog_version=row.catalog_version_id, row=row)


@strawberry.type(description="A declared legal basis for reading applicant data outside a case.")
class LegalBasis:
    row: strawberry.Private[models.LegalBasis]

    @strawberry.field
    def code(self) -> str:
        return self.row.code

    @strawberry.field
    def description(self) -> str:
        return self.row.description

    @strawberry.field
    def profile_fields(self) -> list[str]:
        return [f for f in self.row.profile_fields.split(",") if f]

    @strawberry.field
    def material_types(self) -> list[str]:
        return [f for f in self.row.material_type_codes.split(",") if f]

    @strawberry.field
    async def department(self, info: Info) -> Department:
        department = (await _departments_by_ids(info, [self.row.department_id]))[0]
        assert department is not None
        return department


@strawberry.type
class CatalogQuery:
    @typed.field(description="Service items of the current catalogue version.")
    async def service_items(
        self, info: Info, codes: list[str] | None = None, stage: str | None = None
    ) -> list[ServiceItem]:
        rows = await catalog.current_service_items(info.context.hub.session, codes=codes, stage=stage)
        return [service_item_of(row) for row in rows]

    @strawberry.field
    async def material_types(self, info: Info) -> list[MaterialType]:
        return [material_type_of(row) for row in await catalog.material_types(info.context.hub.session)]

    @strawberry.field
    async def legal_bases(self, info: Info) -> list[LegalBasis]:
        return [LegalBasis(row=row) for row in await catalog.legal_bases(info.context.hub.session)]

    @strawberry.field
    async def departments(self, info: Info) -> list[Department]:
        rows = await catalog.departments(info.context.hub.session)
        return [department_of(row) for row in rows]
