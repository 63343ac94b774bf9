"""Who a principal is, for the auditor's tables: a person's name and department, not only an id.

An id tells the supervision office nothing at a glance; the name and department of the principal
that acted do. Principals are not applicant data, so this read is not an access to log. A page
names few principals, so they are looked up one by one, once each.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repositories.accounts import principal_of


@dataclass(frozen=True, slots=True)
class Named:
    name: str
    department_name: str


async def named_principals(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, Named]:
    named = {}
    for principal_id in sorted({i for i in ids if i is not None}):
        row = await principal_of(session, principal_id)
        if row is not None:
            named[principal_id] = Named(row.name, row.department_name)
    return named
