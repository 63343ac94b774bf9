"""The service catalogue (事项目录): load it from a YAML or JSON file, read it back.

A load is all or nothing: the file is validated as a whole (pydantic), every reference is checked,
and only then is a new catalogue version written in one transaction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from hub.errors import CatalogError, InvalidInput
from storage.models import (
    CatalogVersion,
    CentreLevel,
    Department,
    LegalBasis,
    MaterialType,
    ServiceItem,
    ServiceItemDepartment,
    ServiceItemMaterial,
)
from storage.repositories import catalog as repo
from storage.repositories import principals as departments_repo

STAGES = ("立项用地", "规划许可", "施工许可", "竣工验收")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DepartmentSpec(_Strict):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    supervision: bool = False
    # Three-level halls: the catalogue department this one is the local office of (a county's 人社局
    # of the city's); where each sits is said by the centres file (`hub centre load`).
    branch_of: str | None = None


class MaterialTypeSpec(_Strict):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    issuing_department: str | None = None
    valid_days: int | None = Field(default=None, gt=0)


class RequiredMaterialSpec(_Strict):
    type: str
    key: bool = True


class ServiceItemSpec(_Strict):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    lead_department: str
    departments: list[str] = []
    statutory_days: int = Field(gt=0)
    promised_days: int = Field(gt=0)
    stage: str | None = None
    silence_is_consent: bool = False
    guide: str = ""
    materials: list[RequiredMaterialSpec] = []
    # Material types whose holder's right the item ends (the seller's certificate on a transfer).
    cancels: list[str] = []
    # Three-level halls: the centre levels where the item may be accepted (every level unless said),
    # and the level whose department decides it (unsaid: the departments named here, wherever accepted).
    accept_levels: list[CentreLevel] = Field(default=list(CentreLevel), min_length=1)
    decide_level: CentreLevel | None = None

    @model_validator(mode="after")
    def _limits_and_stage(self) -> ServiceItemSpec:
        if self.promised_days > self.statutory_days:
            raise ValueError("promised_days cannot exceed statutory_days")
        if self.stage is not None and self.stage not in STAGES:
            raise ValueError(f"stage must be one of {', '.join(STAGES)}")
        return self


class LegalBasisSpec(_Strict):
    code: str = Field(min_length=1, max_length=64)
    department: str
    description: str = Field(min_length=1)
    profile_fields: list[str] = []
    material_types: list[str] = []


class CatalogFile(_Strict):
    departments: list[DepartmentSpec] = []
    material_types: list[MaterialTypeSpec] = []
    service_items: list[ServiceItemSpec] = []
    legal_bases: list[LegalBasisSpec] = []


@dataclass(frozen=True)
class LoadSummary:
    version_id: int
    departments: int
    material_types: int
    service_items: int
    legal_bases: int


def parse_catalog(text: str, source_name: str) -> CatalogFile:
    """Parse YAML (a superset of JSON) into a validated catalogue, or raise CatalogError."""
    return parse_operator_file(text, source_name, CatalogFile, CatalogError)


FileModel = TypeVar("FileModel", bound=BaseModel)


def parse_operator_file(text: str, source_name: str, model: type[FileModel], error: type[InvalidInput]) -> FileModel:
    """A file an operator loads (the catalogue, the service centres): YAML, or JSON by its name,
    validated whole by `model`; anything else raises `error` naming the first problem's place."""
    try:
        data = yaml.safe_load(text) if not source_name.endswith(".json") else json.loads(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise error(f"{source_name}: not valid YAML/JSON: {exc}") from None
    try:
        return model.model_validate(data or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise error(f"{source_name}: {where}: {first['msg']}", errors=exc.error_count()) from None


async def load_catalog(session: AsyncSession, text: str, source_name: str) -> LoadSummary:
    """Validate and write a catalogue file as a new catalogue version (caller commits)."""
    catalog = parse_catalog(text, source_name)
    departments = {d.code: d for d in await departments_repo.list_departments(session)}
    for spec in catalog.departments:
        departments[spec.code] = await departments_repo.upsert_department(
            session, spec.code, spec.name, is_supervision=spec.supervision
        )
    for spec in catalog.departments:
        if spec.branch_of is not None and (spec.branch_of not in departments or spec.branch_of == spec.code):
            raise CatalogError(f"{source_name}: department {spec.code}: unknown branch_of {spec.branch_of!r}")
        departments[spec.code].branch_of_id = departments[spec.branch_of].id if spec.branch_of else None

    def department_id(code: str, where: str) -> int:
        if code not in departments:
            raise CatalogError(f"{source_name}: {where}: unknown department {code!r}")
        return departments[code].id

    material_types = await repo.material_types_by_code(session)
    for type_spec in catalog.material_types:
        issuer = (
            department_id(type_spec.issuing_department, f"material type {type_spec.code}")
            if type_spec.issuing_department
            else None
        )
        existing = material_types.get(type_spec.code)
        if existing is None:
            existing = MaterialType(code=type_spec.code)
            session.add(existing)
            material_types[type_spec.code] = existing
        existing.name, existing.issuing_department_id = type_spec.name, issuer
        existing.valid_days = type_spec.valid_days
    await session.flush()

    version = CatalogVersion(source_name=source_name, source_sha256=hashlib.sha256(text.encode()).hexdigest())
    session.add(version)
    await session.flush()
    seen_codes: set[str] = set()
    for item_spec in catalog.service_items:
        if item_spec.code in seen_codes:
            raise CatalogError(f"{source_name}: service item {item_spec.code} appears twice")
        seen_codes.add(item_spec.code)
        lead = department_id(item_spec.lead_department, f"service item {item_spec.code}")
        unknown_cancels = [code for code in item_spec.cancels if code not in material_types]
        if unknown_cancels:
            raise CatalogError(
                f"{source_name}: service item {item_spec.code}: cancels unknown material type {unknown_cancels[0]!r}"
            )
        item = ServiceItem(
            catalog_version_id=version.id,
            code=item_spec.code,
            name=item_spec.name,
            lead_department_id=lead,
            statutory_days=item_spec.statutory_days,
            promised_days=item_spec.promised_days,
            stage=item_spec.stage,
            silence_is_consent=item_spec.silence_is_consent,
            guide=item_spec.guide,
            cancels=",".join(item_spec.cancels),
            accept_levels=",".join(level.value for level in CentreLevel if level in item_spec.accept_levels),
            decide_level=item_spec.decide_level.value if item_spec.decide_level else None,
        )
        session.add(item)
        await session.flush()
        participants = {lead} | {
            department_id(code, f"service item {item_spec.code}") for code in item_spec.departments
        }
        session.add_all(ServiceItemDepartment(service_item_id=item.id, department_id=d) for d in participants)
        required: dict[int, bool] = {}
        for material in item_spec.materials:
            if material.type not in material_types:
                raise CatalogError(
                    f"{source_name}: service item {item_spec.code}: unknown material type {material.type!r}"
                )
            required[material_types[material.type].id] = material.key
        session.add_all(
            ServiceItemMaterial(service_item_id=item.id, material_type_id=type_id, is_key=is_key)
            for type_id, is_key in required.items()
        )

    existing_bases = {basis.code: basis for basis in await repo.legal_bases(session)}
    for basis_spec in catalog.legal_bases:
        for code in basis_spec.material_types:
            if code not in material_types:
                raise CatalogError(f"{source_name}: legal basis {basis_spec.code}: unknown material type {code!r}")
        basis = existing_bases.get(basis_spec.code) or LegalBasis(code=basis_spec.code)
        basis.description = basis_spec.description
        basis.department_id = department_id(basis_spec.department, f"legal basis {basis_spec.code}")
        basis.profile_fields = ",".join(basis_spec.profile_fields)
        basis.material_type_codes = ",".join(basis_spec.material_types)
        session.add(basis)
    await session.flush()
    return LoadSummary(
        version.id,
        len(catalog.departments),
        len(catalog.material_types),
        len(catalog.service_items),
        len(catalog.legal_bases),
    )


async def load_catalog_file(session: AsyncSession, path: Path) -> LoadSummary:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"cannot read {path}: {exc.strerror}") from None
    return await load_catalog(session, text, path.name)


# Reading the catalogue. It holds no applicant data, so any authenticated principal may read it.


async def current_service_items(
    session: AsyncSession, *, codes: list[str] | None = None, stage: str | None = None
) -> list[ServiceItem]:
    version_id = await repo.current_version_id(session)
    if version_id is None:
        return []
    return await repo.service_items(session, version_id, codes=codes, stage=stage)


async def material_types(session: AsyncSession) -> list[MaterialType]:
    return await repo.material_types(session)


async def legal_bases(session: AsyncSession) -> list[LegalBasis]:
    return await repo.legal_bases(session)


async def departments(session: AsyncSession) -> list[Department]:
    return await departments_repo.list_departments(session)


async def departments_by_ids(session: AsyncSession, ids: list[int]) -> dict[int, Department]:
    return await departments_repo.departments_by_ids(session, ids)


async def departments_of_items(session: AsyncSession, item_ids: list[int]) -> dict[int, list[Department]]:
    """Participating departments per service item id, in one query."""
    return await repo.departments_of_items(session, item_ids)


async def materials_of_items(session: AsyncSession, item_ids: list[int]) -> dict[int, list[tuple[MaterialType, bool]]]:
    """Required material types (with the key flag) per service item id, in one query."""
    return await repo.materials_of_items(session, item_ids)
