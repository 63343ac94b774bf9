"""A department's inbox: the accepted cases distributed to it, its own review first due first.

A department's reviewer reads the inbox under the purpose "inbox:<department code>", registered
here: it covers the applicants of the cases distributed to that department, their names only, and
the object "inbox". Opening one case is then a read under "case:<receipt>" (hub/cases/purpose.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from hub.access.actions import Action
from hub.access.context import RequestContext
from hub.access.guard import guard
from hub.access.policy import PurposeScope, register_purpose_resolver
from hub.cases.views import CaseView, DepartmentReview, load_case_views
from storage.repositories import cases as repo

KIND = "inbox"
INBOX_REF = "inbox"
MAX_INBOX = 200


@dataclass(frozen=True, slots=True)
class InboxEntry:
    case: CaseView
    review: DepartmentReview  # the caller's department's own review

    @property
    def due_on(self) -> date | None:
        return self.review.deadline.due_on if self.review.deadline else None

    @property
    def overdue(self) -> bool:
        return self.review.deadline is not None and self.review.deadline.overdue


def inbox_purpose(department_code: str) -> str:
    return f"{KIND}:{department_code}"


async def department_inbox(ctx: RequestContext) -> list[InboxEntry]:
    """The caller's department's open reviews, the earliest due first (unknown due dates last)."""
    cases = await repo.cases_under_review_by(ctx.session, ctx.caller.department_id, MAX_INBOX)
    views = await load_case_views(ctx, cases)
    await guard(
        ctx,
        Action.CASE_SEARCH,
        sorted({v.applicant.id_number for v in views}) or [""],
        fields=["name"],
        object_ref=INBOX_REF,
    )
    entries = []
    for view in views:
        own = next(r for r in view.reviews if r.department.id == ctx.caller.department_id)
        if not own.state.settled:
            entries.append(InboxEntry(view, own))
    return sorted(entries, key=lambda e: (e.due_on or date.max, e.case.receipt_number))


async def _inbox_scope(ctx: RequestContext, department_code: str) -> PurposeScope | None:
    if department_code != ctx.caller.department_code:
        return None
    cases = await repo.cases_under_review_by(ctx.session, ctx.caller.department_id, MAX_INBOX)
    applicants = await repo.applicants_by_ids(ctx.session, sorted({case.applicant_id for case in cases}))
    return PurposeScope(
        profile_fields=frozenset({"name"}),
        applicant_refs=frozenset(a.id_number for a in applicants.values()) | {""},
        object_refs=frozenset({INBOX_REF}),
    )


register_purpose_resolver(KIND, _inbox_scope)
