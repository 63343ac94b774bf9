"""The supervision office (电子监察): cases by timing state, each department's month and the
monthly ranking (排行榜) with a chart, access alerts with their evidence and their life, and
办不成事 complaints.

Every page calls the same `hub.supervision` use cases as GraphQL, so the policy decides who may
see them (the office's auditors; anyone else is refused and the attempt logged). Case reads are
declared under `supervision:<ref>`, the inspection the auditor works on, named in the filter form
and recorded in every entry. The chart is SVG drawn on the server (`hub.supervision.report`).
"""

from __future__ import annotations

from datetime import date
from typing import TypeVar

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from console.i18n import gettext
from console.people import named_principals
from console.web import Page
from hub.access.accounts import Kind, Person
from hub.access.actions import Action
from hub.access.guard import guard
from hub.calendar.workdays import local_date
from hub.errors import Forbidden, InvalidInput
from hub.supervision.alerts import AlertStatus, advance, alert_view, evidence, list_alerts
from hub.supervision.cases import CaseFilter, monthly_ranking, supervised_cases
from hub.supervision.complaints import (
    Cause,
    ComplaintStatus,
    Complexity,
    NewComplaint,
    Resolution,
    file_complaint,
    list_complaints,
    resolve_complaint,
)
from hub.supervision.report import bar_chart
from hub.supervision.timing import TimingState

DEFAULT_REF = "console"


def purpose(request: Request, person: Person) -> str:
    """`supervision:<ref>`: the inspection named in the form, or the console's own reference."""
    ref = request.query_params.get("ref", "").strip() or DEFAULT_REF
    return f"supervision:{ref}"


E = TypeVar("E", TimingState, AlertStatus, ComplaintStatus)


def _choice(kind: type[E], value: str, field: str) -> E | None:
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise InvalidInput(f"unknown {field}", field=field) from None


def _date(value: str, field: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise InvalidInput("a date is YYYY-MM-DD", field=field) from None


async def _office_only(page: Page, object_ref: str) -> None:
    """The office's pages are the office's (the policy keeps its `supervision:…` objects for
    auditors). Anyone else is refused here through `guard` under an audit right they lack, so the
    refusal is logged before the page reads anything."""
    if page.person.kind is not Kind.AUDITOR:
        await guard(page.ctx, Action.AUDIT_SEARCH, object_ref=object_ref)
        raise Forbidden("the supervision office's pages are for its auditors", missing="right")


async def cases(page: Page) -> Response:
    await _office_only(page, "supervision:cases")
    params = page.request.query_params
    where = CaseFilter(
        state=_choice(TimingState, params.get("state", ""), "state"),
        department=params.get("department", "").strip() or None,
        item=params.get("item", "").strip() or None,
        accepted_from=_date(params.get("from", ""), "from"),
        accepted_to=_date(params.get("to", ""), "to"),
    )
    listed = await supervised_cases(page.ctx, where, first=200)
    return page.render(
        "supervision_cases.html",
        cases=listed,
        query=params,
        ref=params.get("ref", "") or DEFAULT_REF,
        states=list(TimingState),
    )


async def ranking(page: Page) -> Response:
    month = page.request.query_params.get("month", "").strip() or f"{local_date(page.ctx.hub.clock()):%Y-%m}"
    ranked = await monthly_ranking(page.ctx, month)
    chart = bar_chart(
        month + " " + gettext("On-time rate"), [(r.month.department.name, r.month.on_time_rate) for r in ranked]
    )
    return page.render(
        "supervision_ranking.html", month=month, ranked=ranked, chart=Markup(chart)
    )  # bar_chart escapes its texts


async def alerts(page: Page) -> Response:
    status = _choice(AlertStatus, page.request.query_params.get("status", ""), "status")
    return page.render(
        "supervision_alerts.html",
        alerts=await list_alerts(page.ctx, status=status),
        chosen=status.value if status else "",
        statuses=list(AlertStatus),
    )


def _alert_id(page: Page) -> int:
    try:
        return int(page.request.path_params["alert_id"])
    except ValueError:
        raise InvalidInput("an alert's number is an integer", field="alertId") from None


async def alert(page: Page) -> Response:
    alert_id = _alert_id(page)
    view = await alert_view(page.ctx, alert_id)
    proven = await evidence(page.ctx, alert_id)
    steps = [s for s in AlertStatus if s is not AlertStatus.OPEN and s is not AlertStatus.EXPLAINED]
    named = await named_principals(page.ctx.session, [view.alert.principal_id, *(e.principal_id for e in view.events)])
    return page.render("supervision_alert.html", view=view, evidence=proven, steps=steps, named=named)


async def alert_step(page: Page) -> Response:
    alert_id = _alert_id(page)
    to = _choice(AlertStatus, page.field("to"), "to")
    if to is None:
        raise InvalidInput("choose the next step", field="to")
    await advance(page.ctx, alert_id, to, page.field("note"))
    return page.redirect(f"/supervision/alerts/{alert_id}")


async def complaints(page: Page) -> Response:
    status = _choice(ComplaintStatus, page.request.query_params.get("status", ""), "status")
    return page.render(
        "supervision_complaints.html",
        complaints=await list_complaints(page.ctx, status=status),
        chosen=status.value if status else "",
        resolutions=list(Resolution),
    )


async def resolve(page: Page) -> Response:
    try:
        resolution = Resolution(page.field("resolution"))
    except ValueError:
        raise InvalidInput("choose how the complaint ended", field="resolution") from None
    await resolve_complaint(page.ctx, page.request.path_params["receipt"], resolution, page.field("note"))
    return page.redirect("/supervision/complaints")


async def complaint_form(page: Page) -> Response:
    """The window files a complaint for the applicant in front of it."""
    return page.render("complaint_form.html", causes=list(Cause), complexities=list(Complexity), filed=None)


async def file(page: Page) -> Response:
    try:
        cause = Cause(page.field("cause"))
        complexity = Complexity(page.field("complexity") or Complexity.ORDINARY.value)
    except ValueError:
        raise InvalidInput("choose the cause", field="cause") from None
    filed = await file_complaint(
        page.ctx,
        NewComplaint(
            applicant_id_number=page.field("applicant"),
            department=page.field("department"),
            centre=page.person.caller.department_code,
            what_happened=page.field("what_happened"),
            cause=cause,
            item_code=page.field("item"),
            complexity=complexity,
        ),
    )
    return page.render("complaint_form.html", causes=list(Cause), complexities=list(Complexity), filed=filed)
