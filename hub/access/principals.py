"""Principals and their tokens: create, list, rotate, revoke (CLI), authenticate (every request), and
act as a principal from a command (a token from a file or the environment, never an argument)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.access._caller_cache import CALLERS
from hub.access.auth import Caller, Role, hash_token, new_token, token_from_header
from hub.access.context import Hub, RequestContext
from hub.access.guard import declare_purpose, record_refused_token
from hub.errors import InvalidInput, NotFound, Unauthenticated
from storage.models.base import utcnow
from storage.repositories import centres as centres_repo
from storage.repositories import principals as repo

logger = logging.getLogger("hub.access")

# PostgreSQL: the channel on which a revocation or rotation tells every serving process to forget
# the principal's cached caller (hub/access/_caller_cache.py). Delivered only if the change commits.
REVOCATIONS_CHANNEL = "hub_principals"


@dataclass(frozen=True)
class IssuedToken:
    """A new principal's token: shown once, never retrievable again."""

    principal_id: int
    name: str
    role: Role
    department_code: str
    token: str


@dataclass(frozen=True)
class PrincipalInfo:
    id: int
    name: str
    role: str
    department_code: str
    token_prefix: str
    created_at: datetime
    revoked_at: datetime | None


async def create_principal(
    session: AsyncSession,
    name: str,
    role: Role,
    department_code: str,
    applicant_ref: str | None = None,
    *,
    centre_code: str | None = None,
) -> IssuedToken:
    """Add a principal with a fresh token (caller commits). Auditors belong to the supervision office;
    an applicant principal speaks for exactly one applicant (resident ID or credit code). A clerk's
    window is at a service centre: once centres are loaded, a clerk names its centre, and only a clerk does."""
    if (role is Role.APPLICANT) != bool(applicant_ref):
        raise InvalidInput("an applicant principal, and only one, names its applicant", field="applicant")
    if applicant_ref:
        from hub.identifiers import detect_kind

        applicant_ref = detect_kind(applicant_ref)[1]
    department = await repo.department_by_code(session, department_code)
    if department is None:
        raise NotFound(f"no department with code {department_code!r}", field="department")
    if role is Role.AUDITOR and not department.is_supervision:
        raise InvalidInput("auditors belong to the supervision office (电子监察)", field="department")
    if not name.strip():
        raise InvalidInput("a principal needs a name", field="name")
    centre_id = await _centre_of_new_principal(session, role, centre_code)
    token = new_token()
    principal = await repo.add_principal(
        session,
        name=name.strip(),
        role=role.value,
        department_id=department.id,
        token_hash=hash_token(token),
        token_prefix=token[:10],
        applicant_ref=applicant_ref,
        centre_id=centre_id,
    )
    return IssuedToken(principal.id, principal.name, role, department.code, token)


async def _centre_of_new_principal(session: AsyncSession, role: Role, centre_code: str | None) -> int | None:
    if role is not Role.CLERK:
        if centre_code:
            raise InvalidInput("only a clerk's window is at a service centre", field="centre")
        return None
    if not centre_code:
        if await centres_repo.centres(session):
            raise InvalidInput("a clerk's window is at a service centre: name it (--centre CODE)", field="centre")
        return None
    centre = await centres_repo.centre_by_code(session, centre_code.strip())
    if centre is None:
        raise NotFound(f"no service centre with code {centre_code.strip()!r}", field="centre")
    return centre.id


async def list_principals(session: AsyncSession) -> list[PrincipalInfo]:
    return [
        PrincipalInfo(p.id, p.name, p.role, code, p.token_prefix, p.created_at, p.revoked_at)
        for p, code in await repo.list_principals(session)
    ]


async def revoke_principal(session: AsyncSession, principal_id: int) -> None:
    if not await repo.revoke_principal(session, principal_id, utcnow()):
        raise NotFound(f"no active principal with id {principal_id}", field="id")
    await _forget_cached(session, principal_id)


async def rotate_principal(session: AsyncSession, principal_id: int) -> IssuedToken:
    """Replace an active principal's token (caller commits): the old one stops working at once."""
    token = new_token()
    principal = await repo.replace_token(session, principal_id, hash_token(token), token[:10])
    if principal is None:
        raise NotFound(f"no active principal with id {principal_id}", field="id")
    await _forget_cached(session, principal_id)
    department = (await repo.departments_by_ids(session, [principal.department_id]))[principal.department_id]
    return IssuedToken(principal.id, principal.name, Role(principal.role), department.code, token)


async def _forget_cached(session: AsyncSession, principal_id: int) -> None:
    """Drop the principal's cached callers here now, and in every process once the change commits
    (PostgreSQL; elsewhere the cache's lifetime bounds how long another process still accepts it)."""
    CALLERS.drop_principal(principal_id)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_notify(:channel, :id)"), {"channel": REVOCATIONS_CHANNEL, "id": str(principal_id)}
        )


async def authenticate(session: AsyncSession, authorization: str | None, *, cache_seconds: float = 0.0) -> Caller:
    """The caller behind an Authorization header. Any token presented that is not an active one
    (revoked, rotated out, unknown, malformed) is looked up all the same and refused with one message.

    With `cache_seconds`, a token that authenticated less than that long ago is not looked up again
    (hub/access/_caller_cache.py says how soon a revocation bites); refused tokens are never cached."""
    try:
        token = token_from_header(authorization)
    except Unauthenticated:
        if not authorization:
            raise
        token = authorization  # matches nothing, but costs the look-up any other token costs
    token_hash = hash_token(token)
    if cache_seconds > 0:
        cached = CALLERS.get(token_hash, cache_seconds)
        if cached is not None:
            return cached
    row = await repo.principal_by_token_hash(session, token_hash)
    if row is None:
        raise Unauthenticated("unknown or revoked token")
    caller = Caller(row.id, row.name, Role(row.role), row.department_id, row.department_code, row.applicant_ref or "")
    if cache_seconds > 0:
        CALLERS.put(token_hash, caller)
    return caller


async def listen_for_revocations(hub: Hub) -> None:
    """PostgreSQL: forget a principal's cached callers as soon as another process revokes or rotates
    it. Runs for the life of a serving process; while it is not listening (starting, reconnecting)
    the cache is emptied, so no notification missed meanwhile can keep a revoked caller alive."""
    if hub.settings.is_sqlite or hub.settings.principal_cache_seconds <= 0:
        return

    def heard(_connection: object, _pid: int, _channel: str, payload: str) -> None:
        if payload.isdigit():
            CALLERS.drop_principal(int(payload))

    while True:
        try:
            async with hub.engine.connect() as connection:
                raw = (await connection.get_raw_connection()).driver_connection
                await raw.add_listener(REVOCATIONS_CHANNEL, heard)  # type: ignore[union-attr]
                CALLERS.clear()  # anything cached before we listened may have been revoked since
                try:
                    while not raw.is_closed():  # type: ignore[union-attr]
                        await asyncio.sleep(1.0)
                finally:
                    CALLERS.clear()
                    if not raw.is_closed():  # type: ignore[union-attr]
                        await raw.remove_listener(REVOCATIONS_CHANNEL, heard)  # type: ignore[union-attr]
        except asyncio.CancelledError:
            raise
        except Exception:  # the database away: retry; the cache stays empty meanwhile
            logger.warning("cannot listen for token revocations; retrying", exc_info=True)
            CALLERS.clear()
            await asyncio.sleep(1.0)


def principal_token(token_file: str | None, variable: str) -> str:
    """A principal's token for a command, from a file or the environment variable `variable`: never
    from the command line, where other users of the machine and the shell history would see it."""
    if token_file:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise InvalidInput(f"cannot read the token file {token_file}: {error.strerror}", field="token") from None
    else:
        token = os.environ.get(variable, "").strip()
    if not token:
        raise InvalidInput(f"no token: give --token-file PATH or set {variable}", field="token")
    return token


@asynccontextmanager
async def principal_context(hub: Hub, token: str, purpose: str | None = None) -> AsyncIterator[RequestContext]:
    """A request context for a command acting as the principal holding `token`, as a request over
    HTTP would have: a refused token or purpose is logged, the policy and the log apply."""
    authorization = f"Bearer {token}"
    async with hub.sessions() as session:
        try:
            caller = await authenticate(session, authorization)
        except Unauthenticated:
            await record_refused_token(hub, authorization)
            raise
        ctx = RequestContext(hub, caller, session=session)
        await declare_purpose(ctx, purpose)
        yield ctx
