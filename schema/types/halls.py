"""The service halls over GraphQL: an applicant presenting their ID at a clerk's window."""

from __future__ import annotations

from datetime import datetime

import strawberry

from hub.halls import visits
from schema import typed
from schema.context import Info


@strawberry.type(
    description="An applicant at a clerk's window: declare `purpose` to read their data until `expiresAt`."
)
class Visit:
    id: int
    id_number: str
    purpose: str = strawberry.field(description="`visit:<id>`, the X-Hub-Purpose the clerk's reads declare.")
    expires_at: datetime


@strawberry.type
class HallsMutation:
    @typed.mutation(
        description="The applicant presents their ID at the window: the calling clerk may read their profile "
        "and materials under the returned purpose until it expires (HUB_VISIT_MINUTES). Logged."
    )
    async def open_visit(self, info: Info, id_number: str) -> Visit:
        opened = await visits.open_visit(info.context.hub, id_number)
        return Visit(id=opened.id, id_number=opened.id_number, purpose=opened.purpose, expires_at=opened.expires_at)
