"""A refused token is refused the same way, for the same work, whatever it was, and always logged.

Revoked, rotated out, unknown or malformed: the caller gets the same 401 and the same message; the
hub does one look-up and one insert for each, so the time of the answer tells nothing; the log has
an `auth.token_refused` entry for each, naming the principal for a revoked or rotated-out token
(nobody for the others), and a prefix of the token's hash, never the token.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import event, select

from hub.access.principals import revoke_principal, rotate_principal
from storage.models import AccessEntry

VIEWER = "{ viewer { name } }"


async def _refusal(client, hub, token: str) -> tuple[int, dict, int]:
    """Status, body and the number of SQL statements the hub ran to refuse `token`."""
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(hub.engine.sync_engine, "before_cursor_execute", count)
    try:
        response = await client.post(VIEWER, headers={"Authorization": f"Bearer {token}", "X-Hub-Request": "1"})
    finally:
        event.remove(hub.engine.sync_engine, "before_cursor_execute", count)
    return response.status_code, response.json(), len(statements)


async def _principal_id(actor) -> int:
    ctx = await actor.context()
    await ctx.close()
    return ctx.caller.principal_id


async def test_revoked_rotated_unknown_and_malformed_tokens_are_refused_alike_and_logged(
    hub, client, tax_system, clerk
) -> None:
    tax_id, clerk_id = [await _principal_id(actor) for actor in (tax_system, clerk)]
    async with hub.sessions() as session:
        await revoke_principal(session, tax_id)
        await rotate_principal(session, clerk_id)
        await session.commit()
    unknown = "hub_" + "u" * 43
    malformed = "not-a-hub-token"
    tokens = {"revoked": tax_system.token, "rotated": clerk.token, "unknown": unknown, "malformed": malformed}

    answers = {kind: await _refusal(client, hub, token) for kind, token in tokens.items()}

    bodies = {(status, repr(body)) for status, body, _ in answers.values()}
    assert len(bodies) == 1 and next(iter(bodies))[0] == 401
    assert '"UNAUTHENTICATED"' in next(iter(bodies))[1].replace("'", '"')
    # The same work on every path: authenticate, look the hash up once, record the refusal.
    assert len({count for _, _, count in answers.values()}) == 1

    async with hub.sessions() as session:
        entries = list((await session.execute(select(AccessEntry).order_by(AccessEntry.id))).scalars())
    assert [(e.action, e.outcome) for e in entries] == [("auth.token_refused", "refused")] * 4
    assert [e.principal_id for e in entries] == [tax_id, clerk_id, None, None]
    assert [(e.department_code, e.role) for e in entries] == [
        ("sw", "department_system"),
        ("xzfw", "clerk"),
        ("", ""),
        ("", ""),
    ]
    assert [e.reason.split(": ", 1)[1] for e in entries] == [
        "the token was revoked",
        "the token was rotated out",
        "the token is unknown or malformed",
        "the token is unknown or malformed",
    ]
    for entry, token in zip(entries, tokens.values(), strict=True):
        assert entry.object_ref == "token:" + hashlib.sha256(token.encode()).hexdigest()[:12]
        assert entry.reason.startswith("UNAUTHENTICATED: ")
        assert entry.client_address == "198.51.100.7"
        stored = " ".join(str(getattr(entry, column.name)) for column in AccessEntry.__table__.columns)
        assert token not in stored


async def test_a_request_without_a_token_is_refused_with_nothing_to_log(hub, client) -> None:
    response = await client.post(VIEWER, headers={"X-Hub-Request": "1"})
    assert response.status_code == 401
    async with hub.sessions() as session:
        assert (await session.execute(select(AccessEntry.id))).first() is None


async def test_any_other_credential_is_refused_alike_and_logged_by_its_hash(hub, client) -> None:
    for header in ("Basic dXNlcjpwYXNz", "hub_without_a_scheme"):
        response = await client.post(VIEWER, headers={"Authorization": header, "X-Hub-Request": "1"})
        assert response.status_code == 401
        assert response.json()["errors"][0]["message"] == "unknown or revoked token"
    async with hub.sessions() as session:
        entries = list((await session.execute(select(AccessEntry).order_by(AccessEntry.id))).scalars())
    assert [(e.action, e.outcome, e.principal_id) for e in entries] == [("auth.token_refused", "refused", None)] * 2
    assert [e.object_ref for e in entries] == [
        "token:" + hashlib.sha256(b"dXNlcjpwYXNz").hexdigest()[:12],
        "token:" + hashlib.sha256(b"hub_without_a_scheme").hexdigest()[:12],
    ]
