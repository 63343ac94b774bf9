"""The console's routes, mounted under /console by app/asgi.py."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from console import auditor, cases, clerk, reviewer, supervision
from console.login import login_endpoints, logout
from console.web import PREFIX, Page, Purpose, View, console_view
from hub.access.accounts import Kind
from hub.access.context import Hub

STATIC = Path(__file__).parent / "static"


async def home(page: Page) -> Response:
    if page.person.kind is Kind.AUDITOR:
        return page.redirect("/audit")
    if page.person.kind is Kind.REVIEWER:
        return page.redirect("/inbox")
    return page.render("home.html")


def console_mount(hub: Hub) -> Mount:
    def view(endpoint: View, path: str, methods: tuple[str, ...] = ("GET",), purpose: Purpose | None = None) -> Route:
        return Route(path, console_view(hub, endpoint, purpose=purpose), methods=list(methods))

    show_login, submit_login = login_endpoints(hub)

    async def login(request: Request) -> Response:
        return await (submit_login if request.method == "POST" else show_login)(request)

    return Mount(
        PREFIX,
        routes=[
            Route("/login", login, methods=["GET", "POST"]),
            view(logout, "/logout", ("POST",)),
            view(home, "/"),
            view(clerk.lookup, "/applicants"),
            view(clerk.applicant, "/applicants/{id_number}", purpose=clerk.visit_purpose),
            view(clerk.notice, "/applicants/{id_number}/notice", purpose=clerk.visit_purpose),
            view(clerk.open_new_case, "/cases", ("POST",)),
            view(cases.case, "/cases/{receipt}", purpose=cases.case_purpose),
            view(clerk.attach_on_file, "/cases/{receipt}/attach-on-file", ("POST",), purpose=cases.case_purpose),
            view(clerk.upload, "/cases/{receipt}/upload", ("POST",)),
            view(clerk.accept, "/cases/{receipt}/accept", ("POST",)),
            view(clerk.promise, "/cases/{receipt}/promise", ("POST",)),
            view(clerk.withdraw, "/cases/{receipt}/withdraw", ("POST",)),
            view(clerk.collect, "/cases/{receipt}/collect", ("POST",)),
            view(cases.receipt, "/cases/{receipt}/receipt", purpose=cases.case_purpose),
            view(reviewer.inbox, "/inbox", purpose=reviewer.purpose),
            view(reviewer.opinion, "/cases/{receipt}/opinion", ("POST",), purpose=cases.case_purpose),
            view(auditor.search, "/audit"),
            view(auditor.readers, "/audit/readers"),
            view(auditor.entry, "/audit/entries/{seq}"),
            view(supervision.cases, "/supervision/cases", purpose=supervision.purpose),
            view(supervision.ranking, "/supervision/ranking"),
            view(supervision.alerts, "/supervision/alerts"),
            view(supervision.alert, "/supervision/alerts/{alert_id}"),
            view(supervision.alert_step, "/supervision/alerts/{alert_id}", ("POST",)),
            view(supervision.complaints, "/supervision/complaints"),
            view(supervision.resolve, "/supervision/complaints/{receipt}/resolve", ("POST",)),
            view(supervision.complaint_form, "/complaints"),
            view(supervision.file, "/complaints", ("POST",)),
            Mount("/static", StaticFiles(directory=STATIC), name="console-static"),
        ],
    )
