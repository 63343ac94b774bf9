"""Chief representatives (首席代表) over GraphQL: a department authorises a clerk to decide listed items."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from hub.authorisations import grants
from hub.calendar.workdays import local_date
from schema import typed
from schema.context import Info
from schema.types.catalog import Department, department_of


@strawberry.type(description="A principal named by an authorisation: the clerk, who granted it, who withdrew it.")
class AuthorisationPrincipal:
    principal_id: int
    name: str


@strawberry.type(
    description="授权到位: a department's authorisation of a clerk (首席代表) to accept and decide `items` on the "
    "spot, from `validFrom` until `until` (China dates, both included), unless withdrawn."
)
class Authorisation:
    id: int
    department: Department
    clerk: AuthorisationPrincipal
    items: list[str] = strawberry.field(description="Service item codes.")
    valid_from: date
    until: date
    granted_by: str = strawberry.field(description="The name of the principal who granted it.")
    granted_by_principal: AuthorisationPrincipal
    granted_at: datetime
    withdrawn_at: datetime | None
    withdrawn_by: AuthorisationPrincipal | None
    withdraw_reason: str | None
    in_force: bool = strawberry.field(description="Not withdrawn, and today (China date) within its dates.")


def authorisation_of(view: grants.AuthorisationView, today: date) -> Authorisation:
    row = view.row
    return Authorisation(
        id=row.id,
        department=department_of(view.department),
        clerk=AuthorisationPrincipal(principal_id=view.clerk.id, name=view.clerk.name),
        items=list(view.item_codes),
        valid_from=row.valid_from,
        until=row.valid_until,
        granted_by=view.granted_by.name,
        granted_by_principal=AuthorisationPrincipal(principal_id=view.granted_by.id, name=view.granted_by.name),
        granted_at=row.granted_at,
        withdrawn_at=row.withdrawn_at,
        withdrawn_by=AuthorisationPrincipal(principal_id=view.withdrawn_by.id, name=view.withdrawn_by.name)
        if view.withdrawn_by
        else None,
        withdraw_reason=row.withdraw_reason,
        in_force=view.in_force_on(today),
    )


def today_of(info: Info) -> date:
    return local_date(info.context.hub.hub.clock())


@strawberry.type
class AuthorisationQuery:
    @typed.field(
        description="Authorisations of a department or of a clerk, newest first: a clerk reads their own, a "
        "department its own (the default for each), administrators and the supervision office any. Logged."
    )
    async def authorisations(
        self, info: Info, department: str | None = None, clerk: int | None = None
    ) -> list[Authorisation]:
        views = await grants.authorisations(info.context.hub, department_code=department, clerk_id=clerk)
        return [authorisation_of(v, today_of(info)) for v in views]


@strawberry.type
class AuthorisationMutation:
    @typed.mutation(
        description="首席代表: the clerk's department (its system, or an administrator) authorises the clerk "
        "(a principal id) to accept and decide these items on the spot until a date. Logged."
    )
    async def authorise_chief_representative(
        self, info: Info, clerk: int, items: list[str], until: date, valid_from: date | None = None
    ) -> Authorisation:
        view = await grants.authorise(info.context.hub, clerk, items, until, valid_from=valid_from)
        return authorisation_of(view, today_of(info))

    @typed.mutation(description="The department withdraws an authorisation, saying why; decisions under it stay.")
    async def withdraw_authorisation(self, info: Info, id: int, reason: str) -> Authorisation:
        view = await grants.withdraw(info.context.hub, id, reason)
        return authorisation_of(view, today_of(info))
