"""What every console page shares: the session cookie, CSRF checks, rendering, and errors as pages.

A view is `async def view(page: Page) -> Response`. `console_view` signs the person in from the
cookie (or sends them to the login page), checks the CSRF token of every POST, gives the view a
`RequestContext` acting as the person's principal, and turns a refusal into a page in Chinese
(the access entries of a refused attempt are still committed, as over GraphQL).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from console.errors import message_for, status_for
from console.i18n import translations
from hub.access.accounts import Person, person_of_session
from hub.access.context import Hub, RequestContext
from hub.calendar.workdays import CHINA
from hub.errors import HubError, SessionExpired

logger = logging.getLogger("hub.console")

SESSION_COOKIE = "hub_console"
PREFIX = "/console"
TEMPLATES = Path(__file__).parent / "templates"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.install_gettext_translations(translations(), newstyle=True)  # type: ignore[attr-defined]


def china_time(moment: datetime, pattern: str) -> str:
    """Times are stored in UTC; people read them in China's time."""
    return moment.astimezone(CHINA).strftime(pattern)


environment.filters["china"] = china_time


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    body = environment.get_template(template).render(request=request, prefix=PREFIX, **values)
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


# Pages are never framed, never cached, and load scripts and styles from the console only.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=PREFIX,
    )


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


@dataclass
class Page:
    """One console request: the person, their request context, the form of a POST."""

    request: Request
    person: Person
    ctx: RequestContext
    form: FormData | None

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        return render(self.request, template, status, person=self.person, **values)

    def field(self, name: str) -> str:
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else ""

    def redirect(self, path: str) -> RedirectResponse:
        return RedirectResponse(PREFIX + path, status_code=303)


View = Callable[[Page], Awaitable[Response]]
# The purpose a page's reads are declared under (a reviewer's "case:<receipt>"), or None.
Purpose = Callable[[Request, Person], str | None]


def console_view(hub: Hub, view: View, *, purpose: Purpose | None = None) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        session = hub.sessions()
        try:
            try:
                person = await person_of_session(session, hub, request.cookies.get(SESSION_COOKIE))
            except SessionExpired as expired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                if request.method != "GET":
                    target = PREFIX + "/"
                response = RedirectResponse(
                    f"{PREFIX}/login?next={quote(target)}&reason={quote(expired.code)}", status_code=303
                )
                response.delete_cookie(SESSION_COOKIE, path=PREFIX)
                return response
            form = None
            if request.method == "POST":
                form = await request.form(max_files=20, max_fields=200)
                csrf = form.get("csrf")
                try:
                    person.check_csrf(csrf if isinstance(csrf, str) else None)
                except HubError as refused:
                    return render(request, "error.html", 403, person=person, message=message_for(refused))
            ctx = RequestContext(
                hub,
                person.caller,
                session=session,
                purpose=purpose(request, person) if purpose else None,
                client_address=client_address(request),
            )
            page = Page(request, person, ctx, form)
            try:
                answer = await view(page)
                await ctx.commit()
                return answer
            except HubError as error:
                await ctx.rollback_keeping_log()
                return render(request, "error.html", status_for(error), person=person, message=message_for(error))
        finally:
            await session.close()
            await request.close()

    return endpoint
