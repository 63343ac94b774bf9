"""Three-level halls (Jingmen 三级平台, Dazhou 四进): the service centres' tree and routing on it.

Centres form a tree: a city centre, county/district centres under it, township/street centres under
those, village/community stations at the bottom. Every clerk's window is at a centre; a department may
sit at one (a county's 自然资源局 at the county centre) as the local office (`branch_of`) of a catalogue
department. The catalogue says for each item at which levels it is accepted and which level decides:
a case received at a township is decided by the department of the item's line at the township's
county (or city) ancestor, and the applicant may collect the result at any centre (就近办).

The tree holds no applicant data: the operator loads it (`hub centre load`), anyone authenticated reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.access.context import RequestContext
from hub.access.policy import caller_centre_id
from hub.catalog.catalogue import parse_operator_file
from hub.errors import InvalidCentres, NoDecidingDepartment, NotAcceptedAtThisLevel, NotFound
from storage.models import Case, Centre, CentreLevel, Department, ServiceItem
from storage.repositories import centres as repo
from storage.repositories import principals as departments_repo


class CentreSpec(BaseModel):
    """One centre of a centres file, with the centres below it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    level: CentreLevel
    # Codes of the departments that sit at this centre (a county's 人社局 at the county centre).
    departments: list[str] = []
    children: list[CentreSpec] = []


class CentresFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    centres: list[CentreSpec]


@dataclass(frozen=True, slots=True)
class LoadedCentres:
    added: int
    updated: int


def parse_centres(text: str, source_name: str) -> CentresFile:
    """A YAML (or JSON) tree of centres, validated whole, or `InvalidCentres`."""
    return parse_operator_file(text, source_name, CentresFile, InvalidCentres)


async def load_centres(session: AsyncSession, text: str, source_name: str) -> LoadedCentres:
    """Add or update every centre of the file (by code), and place the departments it lists there
    (load the catalogue first); all or nothing, the caller commits.

    Loading the same file twice changes nothing. A centre missing from the file is kept: clerks,
    departments and cases may refer to it."""
    tree = parse_centres(text, source_name)
    existing = await repo.centres_by_code(session)
    departments = {d.code: d for d in await departments_repo.list_departments(session)}
    seen: set[str] = set()
    added = updated = 0

    async def place(spec: CentreSpec, parent: Centre | None) -> None:
        nonlocal added, updated
        if spec.code in seen:
            raise InvalidCentres(f"{source_name}: centre {spec.code} appears twice", code=spec.code)
        seen.add(spec.code)
        _check_below(spec.code, spec.level, parent)
        centre = existing.get(spec.code)
        if centre is None:
            centre = Centre(code=spec.code)
            session.add(centre)
            existing[spec.code] = centre
            added += 1
        elif (centre.name, centre.level, centre.parent_id) != (spec.name, spec.level.value, parent and parent.id):
            updated += 1
        centre.name, centre.level, centre.parent_id = spec.name, spec.level.value, parent.id if parent else None
        await session.flush()
        for code in spec.departments:
            if code not in departments:
                raise InvalidCentres(f"{source_name}: centre {spec.code}: unknown department {code!r}", code=spec.code)
            departments[code].centre_id = centre.id
        for child in spec.children:
            await place(child, centre)

    for root in tree.centres:
        await place(root, None)
    return LoadedCentres(added, updated)


async def add_centre(session: AsyncSession, code: str, name: str, level: str, parent_code: str | None) -> Centre:
    """Add one centre under an existing one (none for a root); the caller commits."""
    try:
        spec = CentreSpec(code=code.strip(), name=name.strip(), level=CentreLevel(level))
    except (ValueError, ValidationError):
        raise InvalidCentres(
            f"a centre needs a code, a name and a level ({', '.join(CentreLevel)})", field="level"
        ) from None
    if await repo.centre_by_code(session, spec.code) is not None:
        raise InvalidCentres(f"centre {spec.code} exists already", field="code", code=spec.code)
    parent = await centre_by_code(session, parent_code, field="parent") if parent_code else None
    _check_below(spec.code, spec.level, parent)
    centre = Centre(code=spec.code, name=spec.name, level=spec.level.value, parent_id=parent.id if parent else None)
    session.add(centre)
    await session.flush()
    return centre


def _check_below(code: str, level: CentreLevel, parent: Centre | None) -> None:
    if parent is None:
        if level is not CentreLevel.CITY and level is not CentreLevel.COUNTY:
            raise InvalidCentres(f"centre {code}: a {level.value} centre sits under another centre", code=code)
        return
    if CentreLevel(parent.level).rank >= level.rank:
        raise InvalidCentres(
            f"centre {code}: a {level.value} centre cannot sit under a {parent.level} one ({parent.code})", code=code
        )


async def centres(session: AsyncSession) -> list[Centre]:
    return await repo.centres(session)


async def centre_by_code(session: AsyncSession, code: str, *, field: str = "centre") -> Centre:
    centre = await repo.centre_by_code(session, code.strip())
    if centre is None:
        raise NotFound(f"no service centre with code {code.strip()!r}", field=field)
    return centre


def path_to_root(centre: Centre, by_id: dict[int, Centre]) -> list[Centre]:
    """The centre, its parent, and so on up to the root."""
    path = [centre]
    while path[-1].parent_id is not None:
        path.append(by_id[path[-1].parent_id])
    return path


def subtree_ids(centre: Centre, all_centres: Sequence[Centre]) -> set[int]:
    """The centre and every centre below it."""
    by_id = {c.id: c for c in all_centres}
    return {c.id for c in all_centres if centre in path_to_root(c, by_id)}


# Levels and routing ------------------------------------------------------------------------------


def accept_levels(item: ServiceItem) -> tuple[CentreLevel, ...]:
    return tuple(CentreLevel(level) for level in item.accept_levels.split(",") if level)


def check_accepted_at(centre: Centre | None, items: Sequence[ServiceItem]) -> None:
    """Refuse items that the catalogue does not let this centre's level accept (no centre: no check)."""
    if centre is None:
        return
    refused = [item.code for item in items if CentreLevel(centre.level) not in accept_levels(item)]
    if refused:
        raise NotAcceptedAtThisLevel(
            f"{', '.join(refused)} not accepted at a {centre.level} centre ({centre.name})",
            field="items",
            codes=refused,
            centre=centre.code,
            level=centre.level,
        )


@dataclass(frozen=True, slots=True)
class Route:
    """Which department reviews a catalogue department's part of a case, and at which centre."""

    department_id: int
    centre_id: int | None
    routed_from_department_id: int | None


async def deciding_routes(
    session: AsyncSession, accepted_at: Centre | None, item: ServiceItem, departments: Sequence[Department]
) -> list[Route]:
    """The departments deciding `item` for a case accepted at `accepted_at`.

    Without a centre or a `decide_level`, the catalogue's departments themselves. Otherwise the
    deciding centre is the ancestor of the accepting centre at `decide_level` (the accepting centre
    itself if it sits higher), and each catalogue department is replaced by the department of its
    line (itself or a `branch_of` it) sitting there. A catalogue department that sits at no centre
    serves every level."""
    if accepted_at is None or item.decide_level is None:
        return [Route(d.id, None, None) for d in departments]
    by_id = {c.id: c for c in await repo.centres(session)}
    wanted = CentreLevel(item.decide_level)
    path = path_to_root(accepted_at, by_id)
    deciding = next((c for c in path if CentreLevel(c.level) is wanted), None) or next(
        c for c in path if CentreLevel(c.level).rank <= wanted.rank or c.parent_id is None
    )
    sitting = await repo.departments_at(session, deciding.id)
    routes = []
    for department in departments:
        local = next((d for d in sitting if department.id in (d.id, d.branch_of_id)), None)
        if local is not None:
            routes.append(Route(local.id, deciding.id, department.id if local.id != department.id else None))
        elif department.centre_id is None:
            routes.append(Route(department.id, None, None))
        else:
            raise NoDecidingDepartment(
                f"no department of {department.name} ({department.code}) sits at {deciding.name}, "
                f"which decides {item.code}",
                department=department.code,
                centre=deciding.code,
                item=item.code,
            )
    return routes


# The centres of a request's caller and of a case -------------------------------------------------


async def caller_centre(ctx: RequestContext) -> Centre | None:
    """The centre of the caller's window; None for a department system, or a clerk at no centre."""
    centre_id = await caller_centre_id(ctx)
    return None if centre_id is None else await ctx.session.get(Centre, centre_id)


async def centre_of_case(ctx: RequestContext, case: Case) -> Centre | None:
    return None if case.centre_id is None else await ctx.session.get(Centre, case.centre_id)
