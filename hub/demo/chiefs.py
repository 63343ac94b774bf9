"""The demo's chief representative (首席代表): 公安局's window clerk, authorised by 公安局's system to
accept and decide two everyday items on the spot for a year, through the same use case as the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from hub.access.auth import Caller, Role
from hub.access.context import Hub, RequestContext
from hub.authorisations.grants import authorise
from hub.calendar.workdays import local_date
from storage.models import Department, Principal

CHIEF_DEPARTMENT = "ga"
# 犬只登记 and 居住证办理: everyday items a window decides on the spot.
CHIEF_ITEMS = ("GA-001", "GA-003")
CHIEF_DAYS = 365


@dataclass(frozen=True, slots=True)
class DemoChief:
    clerk: str
    items: tuple[str, ...]
    until: date

    def __str__(self) -> str:
        return f"demo chief representative: {self.clerk}, authorised for {', '.join(self.items)} until {self.until}"


async def authorise_demo_chief(hub: Hub) -> DemoChief:
    """公安局's system authorises 公安局's window clerk; the grant is logged like any other."""
    async with hub.sessions() as session:
        rows = await session.execute(
            select(Principal, Department.code)
            .join(Department, Department.id == Principal.department_id)
            .where(Department.code == CHIEF_DEPARTMENT, Principal.revoked_at.is_(None))
            .order_by(Principal.id)
        )
        principals = {Role(p.role): Caller(p.id, p.name, Role(p.role), p.department_id, code) for p, code in rows}
    clerk, system = principals[Role.CLERK], principals[Role.DEPARTMENT_SYSTEM]
    ctx = RequestContext(hub, system, request_id="demo")
    try:
        until = local_date(hub.clock()) + timedelta(days=CHIEF_DAYS)
        granted = await authorise(ctx, clerk.principal_id, CHIEF_ITEMS, until)
    finally:
        await ctx.close()
    return DemoChief(granted.clerk.name, granted.item_codes, granted.row.valid_until)
