"""Prior submissions: everything an applicant has handed in, findable by ID number months later.

The retirement papers handed in on 6 July must still be found on 12 August: every case with its
materials, dates, the window that received it, its status and departments, newest first, searchable
and paginated. Also the reuse figure: how many materials came from the store instead of the counter.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from hub.access.actions import Action
from hub.access.auth import Role
from hub.access.context import RequestContext
from hub.access.guard import guard
from hub.calendar.workdays import CHINA
from hub.cases.views import CaseView, ItemView, Reuse, load_case_views, load_item_views
from hub.errors import InvalidInput
from hub.profiles.applicants import ApplicantRecord, find_applicant
from storage.models import Department, ServiceItem
from storage.models.cases import AttachmentOrigin, Case, CaseStatus
from storage.repositories import cases as repo

MAX_SEARCH_TEXT = 100


@dataclass(frozen=True, slots=True)
class SubmissionSearch:
    text: str | None = None
    status: CaseStatus | None = None
    opened_from: date | None = None  # China dates, inclusive
    opened_to: date | None = None


@dataclass(frozen=True, slots=True)
class SubmissionPage:
    cases: list[CaseView]
    has_next_page: bool

    @staticmethod
    def cursor_of(view: CaseView) -> str:
        raw = json.dumps([view.case.opened_at.isoformat(), view.case.id]).encode("ascii")
        return base64.urlsafe_b64encode(raw).decode("ascii")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        opened_at, case_id = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        if not isinstance(case_id, int):
            raise ValueError
        moment = datetime.fromisoformat(opened_at)
        if moment.tzinfo is None:
            raise ValueError
    except (ValueError, TypeError, UnicodeError):
        raise InvalidInput("malformed pagination cursor", field="after") from None
    return moment, case_id


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=CHINA)


async def prior_submissions(
    ctx: RequestContext,
    applicant_id_number: str,
    search: SubmissionSearch = SubmissionSearch(),
    *,
    first: int = 20,
    after: str | None = None,
) -> SubmissionPage:
    """An applicant's cases, newest first, found by ID number."""
    applicant = await find_applicant(ctx, applicant_id_number)
    return (await submissions_of(ctx, [applicant], search, first=first, after=after))[0]


async def submissions_of(
    ctx: RequestContext,
    applicants: Sequence[ApplicantRecord],
    search: SubmissionSearch = SubmissionSearch(),
    *,
    first: int = 20,
    after: str | None = None,
) -> list[SubmissionPage]:
    """A page of cases per applicant, for any number of applicants in a fixed number of queries.

    A department sees only the cases it takes part in (and the policy lets it search none).
    """
    limit = ctx.hub.settings.max_page_size
    if not 1 <= first <= limit:
        raise InvalidInput(f"first must be between 1 and {limit}", field="first")
    text = (search.text or "").strip() or None
    if text is not None and len(text) > MAX_SEARCH_TEXT:
        raise InvalidInput(f"search text longer than {MAX_SEARCH_TEXT} characters", field="text")
    rows = await repo.cases_of_applicants(
        ctx.session,
        [a.id for a in applicants],
        status=search.status.value if search.status else None,
        text=text,
        opened_from=_start_of(search.opened_from) if search.opened_from else None,
        opened_before=_start_of(search.opened_to + timedelta(days=1)) if search.opened_to else None,
        department_id=None if ctx.caller.role is Role.CLERK else ctx.caller.department_id,
        after=_decode_cursor(after) if after else None,
        limit=first + 1,
    )
    per_applicant: dict[int, list[Case]] = {a.id: [] for a in applicants}
    for row in rows:
        per_applicant[row.applicant_id].append(row)
    shown = [row for a in applicants for row in per_applicant[a.id][:first]]
    views = {view.case.id: view for view in await load_case_views(ctx, shown)}
    await guard(
        ctx,
        Action.CASE_SEARCH,
        [a.id_number for a in applicants],
        material_types=sorted({m.requirement.material_type.code for v in views.values() for m in v.materials}),
        object_ref="submissions",
    )
    return [
        SubmissionPage(
            [views[row.id] for row in per_applicant[a.id][:first]], has_next_page=len(per_applicant[a.id]) > first
        )
        for a in applicants
    ]


async def overall_reuse(ctx: RequestContext) -> Reuse:
    """Across every case: materials reused from the store versus handed in anew (no applicant data)."""
    counts = await repo.reuse_counts(ctx.session)
    return Reuse(
        counts.get(AttachmentOrigin.REUSED.value, 0),
        counts.get(AttachmentOrigin.UPLOADED.value, 0),
        counts.get(AttachmentOrigin.PROMISED.value, 0),
    )


@dataclass(frozen=True, slots=True)
class CaseListing:
    """A case as a list of an applicant's cases shows it: the row, before any detail is loaded."""

    case: Case
    applicant: ApplicantRecord


async def recent_cases(
    ctx: RequestContext, applicants: Sequence[ApplicantRecord], *, status: CaseStatus | None = None, limit: int = 20
) -> list[list[CaseListing]]:
    """The latest cases of several applicants at once (the DataLoader's batch function).

    One query: the list shows receipt numbers, status and dates. Items and the rest of a case are
    loaded only if the caller asks for them (`case_items`, `case_details`), batched over the list.
    """
    if not 1 <= limit <= ctx.hub.settings.max_page_size:
        raise InvalidInput(f"last must be between 1 and {ctx.hub.settings.max_page_size}", field="last")
    rows = await repo.latest_cases_of_applicants(
        ctx.session,
        [a.id for a in applicants],
        status=status.value if status else None,
        department_id=None if ctx.caller.role is Role.CLERK else ctx.caller.department_id,
        limit=limit,
    )
    await guard(ctx, Action.CASE_SEARCH, [a.id_number for a in applicants], object_ref="cases")
    by_id = {a.id: a for a in applicants}
    per_applicant: dict[int, list[CaseListing]] = {a.id: [] for a in applicants}
    for row in rows:
        per_applicant[row.applicant_id].append(CaseListing(row, by_id[row.applicant_id]))
    return [per_applicant[a.id] for a in applicants]


async def case_items(ctx: RequestContext, listed: Sequence[CaseListing]) -> list[tuple[ItemView, ...]]:
    """The items and deadlines of listed cases (already guarded by the listing)."""
    return await load_item_views(ctx, [entry.case for entry in listed])


async def untimed_case_items(
    ctx: RequestContext, listed: Sequence[CaseListing]
) -> list[tuple[tuple[ServiceItem, tuple[Department, ...]], ...]]:
    """The items of listed cases with their departments, for a reader who asks for no acceptance and
    no deadline: one query, without the calendar, opinions, pauses and hand-in times that time
    them (already guarded by the listing)."""
    items = await repo.items_with_departments_of_cases(ctx.session, [entry.case.id for entry in listed])
    return [tuple((item, tuple(departments)) for item, departments in items.get(entry.case.id, [])) for entry in listed]


async def case_details(ctx: RequestContext, listed: Sequence[CaseListing]) -> list[CaseView]:
    """Whole views of listed cases; logged with the material types they show."""
    views = await load_case_views(ctx, [entry.case for entry in listed])
    await guard(
        ctx,
        Action.CASE_SEARCH,
        sorted({entry.applicant.id_number for entry in listed}),
        material_types=sorted({m.requirement.material_type.code for v in views for m in v.materials}),
        object_ref="cases",
    )
    return views
