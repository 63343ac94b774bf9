"""The service halls over GraphQL: the centres' tree (three-level halls), figures per centre, and an
applicant presenting their ID at a clerk's window."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from hub.halls import centres, visits
from hub.supervision import centres as centre_figures
from schema import typed
from schema.context import Info
from storage import models


@strawberry.enum(description="A service centre's level: city, county/district, township/street, village/community.")
class CentreLevel(Enum):
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


@strawberry.type(description="A service centre (政务服务中心) of the three-level halls, or a village station.")
class Centre:
    code: str
    name: str
    level: CentreLevel
    parent_code: str | None = strawberry.field(description="The centre above it; null for the top.")


def centre_of(row: models.Centre, by_id: dict[int, models.Centre] | None = None) -> Centre:
    parent = (by_id or {}).get(row.parent_id) if row.parent_id else None
    return Centre(
        code=row.code, name=row.name, level=CentreLevel(row.level), parent_code=parent.code if parent else None
    )


@strawberry.type(description="Cases counted for a centre: received at its windows, accepted, completed, on time.")
class CaseCounts:
    received: int
    accepted: int
    completed: int
    on_time: int = strawberry.field(description="Completed with no item past its promised limit (承诺时限).")


@strawberry.type(description="A centre's figures: its own windows', and with every centre below it.")
class CentreFigures:
    centre: Centre
    own: CaseCounts
    with_below: CaseCounts


def _counts(value: centre_figures.Counts) -> CaseCounts:
    return CaseCounts(
        received=value.received, accepted=value.accepted, completed=value.completed, on_time=value.on_time
    )


@strawberry.type(
    description="An applicant at a clerk's window: declare `purpose` to read their data until `expiresAt`."
)
class Visit:
    id: int
    id_number: str
    purpose: str = strawberry.field(description="`visit:<id>`, the X-Hub-Purpose the clerk's reads declare.")
    expires_at: datetime


@strawberry.type
class HallsQuery:
    @typed.field(description="The service centres, top first (three-level halls). No applicant data.")
    async def centres(self, info: Info) -> list[Centre]:
        rows = await centres.centres(info.context.hub.session)
        by_id = {row.id: row for row in rows}
        return [centre_of(row, by_id) for row in rows]

    @typed.field(
        description="Figures per service centre for a month (YYYY-MM) or all time, top first: for the "
        "supervision office (audit.statistics). Logged."
    )
    async def centre_figures(self, info: Info, month: str | None = None) -> list[CentreFigures]:
        rows = await centre_figures.figures_by_centre(info.context.hub, month)
        by_id = {row.centre.id: row.centre for row in rows}
        return [
            CentreFigures(centre=centre_of(row.centre, by_id), own=_counts(row.own), with_below=_counts(row.with_below))
            for row in rows
        ]


@strawberry.type
class HallsMutation:
    @typed.mutation(
        description="The applicant presents their ID at the window: the calling clerk may read their profile "
        "and materials under the returned purpose until it expires (HUB_VISIT_MINUTES). Logged."
    )
    async def open_visit(self, info: Info, id_number: str) -> Visit:
        opened = await visits.open_visit(info.context.hub, id_number)
        return Visit(id=opened.id, id_number=opened.id_number, purpose=opened.purpose, expires_at=opened.expires_at)
