"""Signing in and out. The login form has its own CSRF token (a cookie and a hidden field that must
match), since there is no session yet to hold one."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console.errors import message_for
from console.i18n import gettext
from console.web import PREFIX, SESSION_COOKIE, Page, client_address, render, set_session_cookie
from hub.access.accounts import log_in, log_out
from hub.access.context import Hub
from hub.errors import CsrfRejected, HubError, LoginThrottled

LOGIN_COOKIE = "hub_console_login"
Endpoint = Callable[[Request], Awaitable[Response]]


def _safe_next(target: str | None) -> str:
    """Only a path inside the console: never an open redirect."""
    if target and target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX + "/"


def _form(request: Request, status: int = 200, error: str = "", login: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    notice = ""
    if request.query_params.get("reason") == "SESSION_EXPIRED":
        notice = gettext("Your session has ended. Please sign in again.")
    response = render(
        request,
        "login.html",
        status,
        csrf=token,
        error=error,
        notice=notice,
        login=login,
        next=_safe_next(request.query_params.get("next")),
    )
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https", path=PREFIX
    )
    return response


def login_endpoints(hub: Hub) -> tuple[Endpoint, Endpoint]:
    async def show(request: Request) -> Response:
        return _form(request)

    async def submit(request: Request) -> Response:
        form = await request.form()
        login, password = str(form.get("login", "")), str(form.get("password", ""))
        presented, expected = str(form.get("csrf", "")), request.cookies.get(LOGIN_COOKIE, "")
        if not presented or not hmac.compare_digest(presented, expected):
            return _form(request, 403, message_for(CsrfRejected("login form without its token")), login)
        try:
            started = await log_in(hub, login, password, client_address=client_address(request))
        except LoginThrottled as error:
            message = gettext("Too many failed logins: try again in %(seconds)s seconds.") % {
                "seconds": error.details.get("retry_after", 1)
            }
            return _form(request, 429, message + f" ({error.code})", login)
        except HubError as error:
            return _form(request, 401, message_for(error), login)
        response = RedirectResponse(_safe_next(str(form.get("next", ""))), status_code=303)
        set_session_cookie(request, response, started.token)
        response.delete_cookie(LOGIN_COOKIE, path=PREFIX)
        return response

    return show, submit


async def logout(page: Page) -> Response:
    await log_out(page.ctx.hub, page.request.cookies.get(SESSION_COOKIE), client_address=page.ctx.client_address)
    response = page.redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response
