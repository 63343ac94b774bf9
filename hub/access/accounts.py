"""People's accounts for the console: passwords, logins that slow down and lock, server-side sessions.

A person is bound to a principal of an existing role (a clerk, a department's reviewer acting as
its department, an auditor, an administrator), so every console action passes the same policy and
lands in the same log as a GraphQL call, naming the person. The principal's bearer token is made
and thrown away: a person gets in only with their password.

Passwords are hashed with argon2id (RFC 9106, argon2-cffi's defaults). A session's id is 256 random
bits in an HttpOnly cookie; only its SHA-256 is stored, so a copy of the table opens no session.
Failed logins are logged against the account's principal; after `console_free_login_failures` each
failure doubles the wait before the next try, and `console_lockout_failures` locks the account
until an administrator resets its password. An unknown login name names nobody and is not logged.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.access.actions import Action, Outcome, PendingEntry
from hub.access.auth import Caller, Role, hash_token
from hub.access.context import Hub, RequestContext
from hub.access.principals import create_principal
from hub.errors import (
    AccountLocked,
    CsrfRejected,
    InvalidInput,
    LoginRefused,
    LoginThrottled,
    NotFound,
    SessionExpired,
)
from storage.models import ConsoleSession, ConsoleUser
from storage.models.base import utcnow
from storage.repositories import accounts as repo

MIN_PASSWORD_LENGTH = 10
LONGEST_WAIT = timedelta(minutes=15)
SESSION_BYTES = 32
_HASHER = PasswordHasher()  # argon2id with RFC 9106's low-memory profile


class Kind(StrEnum):
    """What a person does in the console, and the role their principal holds."""

    CLERK = "clerk"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"
    ADMIN = "admin"

    @property
    def role(self) -> Role:
        # A department's reviewer acts for the department, under the purpose of the case they review.
        return Role.DEPARTMENT_SYSTEM if self is Kind.REVIEWER else Role(self.value)


@dataclass(frozen=True, slots=True)
class Person:
    """The signed-in person behind a console request."""

    login: str
    kind: Kind
    caller: Caller
    department_name: str
    csrf_token: str

    def check_csrf(self, presented: str | None) -> None:
        if not presented or not hmac.compare_digest(presented, self.csrf_token):
            raise CsrfRejected("the form is stale or did not come from this console; reload the page")


@dataclass(frozen=True, slots=True)
class StartedSession:
    token: str  # the cookie's value, never stored
    person: Person


@dataclass(frozen=True, slots=True)
class UserInfo:
    login: str
    name: str
    kind: Kind
    department_code: str
    locked: bool
    disabled: bool


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password has at least {MIN_PASSWORD_LENGTH} characters", field="password")


async def create_user(
    session: AsyncSession,
    login: str,
    name: str,
    kind: Kind,
    department_code: str,
    password: str,
    *,
    centre_code: str | None = None,
) -> UserInfo:
    """An account and its principal (caller commits); a clerk's at a service centre (three-level halls)."""
    login = login.strip()
    if not login or len(login) > 64 or not login.isprintable() or " " in login:
        raise InvalidInput("a login name is 1 to 64 characters without spaces", field="login")
    check_password(password)
    if await repo.user_by_login(session, login) is not None:
        raise InvalidInput(f"the login name {login!r} is taken", field="login")
    issued = await create_principal(session, name, kind.role, department_code, centre_code=centre_code)
    await repo.add_user(
        session,
        ConsoleUser(
            login=login, principal_id=issued.principal_id, kind=kind.value, password_hash=_HASHER.hash(password)
        ),
    )
    return UserInfo(login, issued.name, kind, issued.department_code, locked=False, disabled=False)


async def reset_password(session: AsyncSession, login: str, password: str, now: datetime) -> None:
    """A new password; unlocks the account and ends its sessions (caller commits)."""
    check_password(password)
    user = await _user(session, login)
    user.password_hash = _HASHER.hash(password)
    user.password_changed_at = now
    user.failed_logins = 0
    user.next_try_at = None
    user.locked_at = None
    await repo.end_sessions_of(session, user.id, now)


async def disable_user(session: AsyncSession, login: str, now: datetime) -> None:
    """No more logins, and its sessions end now (caller commits). The principal stays for the log."""
    user = await _user(session, login)
    user.disabled_at = now
    await repo.end_sessions_of(session, user.id, now)


async def list_users(session: AsyncSession) -> list[UserInfo]:
    return [
        UserInfo(user.login, name, Kind(user.kind), code, user.locked_at is not None, user.disabled_at is not None)
        for user, name, code in await repo.list_users(session)
    ]


def wait_after(failures: int, free: int) -> timedelta:
    """The wait before the next try: none for the first `free` failures, then 1 s, 2 s, 4 s... capped."""
    if failures <= free:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - free - 1, 20)), LONGEST_WAIT)


async def log_in(hub: Hub, login: str, password: str, *, client_address: str = "") -> StartedSession:
    """Check a password and start a session; every attempt on a known account is logged."""
    settings = hub.settings
    now = hub.clock()
    async with hub.sessions() as session:
        user = await repo.user_by_login(session, login.strip(), for_update=True)
        if user is None:
            _HASHER.hash(password)  # about as slow as a wrong password, so names cannot be probed by time
            raise LoginRefused("wrong login name or password")
        ctx = await _context(hub, session, user, client_address)
        refusal = _refusal(user, now)
        if refusal is None and not _verify(user, password):
            user.failed_logins += 1
            user.next_try_at = now + wait_after(user.failed_logins, settings.console_free_login_failures)
            if user.failed_logins >= settings.console_lockout_failures:
                user.locked_at = now
                refusal = AccountLocked("too many failed logins: the account is locked until its password is reset")
            else:
                refusal = LoginRefused("wrong login name or password")
        if refusal is not None:
            _record(ctx, Action.LOGIN_FAILED, Outcome.DENIED, f"{refusal.code}: {refusal.message}")
            await ctx.commit()
            raise refusal
        user.failed_logins = 0
        user.next_try_at = None
        token = secrets.token_urlsafe(SESSION_BYTES)
        csrf = secrets.token_urlsafe(SESSION_BYTES)
        await repo.add_session(
            session,
            ConsoleSession(
                id_hash=hash_token(token), user_id=user.id, csrf_token=csrf, created_at=now, last_seen_at=now
            ),
        )
        _record(ctx, Action.LOGIN, Outcome.ALLOWED, "")
        await ctx.commit()
        person = await _person(session, user, csrf)
    return StartedSession(token, person)


async def person_of_session(session: AsyncSession, hub: Hub, token: str | None) -> Person:
    """The person signed in with this cookie, if the session is still alive; touches its last use."""
    if not token:
        raise SessionExpired("please sign in")
    found = await repo.session_with_user(session, hash_token(token))
    if found is None:
        raise SessionExpired("please sign in")
    row, user = found
    now = hub.clock()
    settings = hub.settings
    idle = now - row.last_seen_at > timedelta(minutes=settings.console_idle_minutes)
    too_old = now - row.created_at > timedelta(hours=settings.console_session_hours)
    if idle or too_old or user.disabled_at is not None or user.locked_at is not None:
        row.ended_at = now
        await session.commit()
        raise SessionExpired("your session has ended; please sign in again")
    row.last_seen_at = now
    person = await _person(session, user, row.csrf_token)
    await session.commit()
    return person


async def log_out(hub: Hub, token: str | None, *, client_address: str = "") -> None:
    if not token:
        return
    async with hub.sessions() as session:
        found = await repo.session_with_user(session, hash_token(token))
        if found is None:
            return
        row, user = found
        row.ended_at = hub.clock()
        ctx = await _context(hub, session, user, client_address)
        _record(ctx, Action.LOGOUT, Outcome.ALLOWED, "")
        await ctx.commit()


def _refusal(user: ConsoleUser, now: datetime) -> LoginRefused | LoginThrottled | AccountLocked | None:
    if user.disabled_at is not None:
        return LoginRefused("this account is disabled")
    if user.locked_at is not None:
        return AccountLocked("too many failed logins: the account is locked until its password is reset")
    if user.next_try_at is not None and now < user.next_try_at:
        seconds = max(1, int((user.next_try_at - now).total_seconds() + 0.999))
        return LoginThrottled(f"too many failed logins: try again in {seconds} s", retry_after=seconds)
    return None


def _verify(user: ConsoleUser, password: str) -> bool:
    try:
        _HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    return True


async def _user(session: AsyncSession, login: str) -> ConsoleUser:
    user = await repo.user_by_login(session, login.strip(), for_update=True)
    if user is None:
        raise NotFound(f"no console user {login!r}", field="login")
    return user


async def _caller_row(session: AsyncSession, user: ConsoleUser) -> tuple[Caller, str]:
    row = await repo.principal_of(session, user.principal_id)
    if row is None or row.revoked_at is not None:
        raise LoginRefused("this account is disabled")
    caller = Caller(row.id, row.name, Role(row.role), row.department_id, row.department_code)
    return caller, row.department_name


async def _person(session: AsyncSession, user: ConsoleUser, csrf: str) -> Person:
    caller, department_name = await _caller_row(session, user)
    return Person(user.login, Kind(user.kind), caller, department_name, csrf)


async def _context(hub: Hub, session: AsyncSession, user: ConsoleUser, client_address: str) -> RequestContext:
    caller, _ = await _caller_row(session, user)
    return RequestContext(hub, caller, session=session, client_address=client_address)


def _record(ctx: RequestContext, action: Action, outcome: Outcome, reason: str) -> None:
    ctx.access.record(PendingEntry(utcnow(), action, outcome, "", "", (), (), reason))
