"""The department reviewer: the inbox of cases distributed to the department, and its opinion."""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import Response

from console.web import Page
from hub.access.accounts import Person
from hub.cases.inbox import department_inbox, inbox_purpose
from hub.cases.reviews import OpinionInput, record_opinion
from hub.errors import InvalidInput
from storage.models.cases import Decision


def purpose(request: Request, person: Person) -> str:
    return inbox_purpose(person.caller.department_code)


async def inbox(page: Page) -> Response:
    return page.render("inbox.html", entries=await department_inbox(page.ctx))


async def opinion(page: Page) -> Response:
    receipt = page.request.path_params["receipt"]
    try:
        decision = Decision(page.field("decision"))
    except ValueError:
        raise InvalidInput("choose a decision", field="decision") from None
    fix_due = page.field("fix_due_on")
    try:
        fix_due_on = date.fromisoformat(fix_due) if fix_due else None
    except ValueError:
        raise InvalidInput("a date is YYYY-MM-DD", field="fix_due_on") from None
    await record_opinion(
        page.ctx, receipt, OpinionInput(decision, page.field("comments"), revision=False, fix_due_on=fix_due_on)
    )
    return page.redirect(f"/cases/{receipt}")
