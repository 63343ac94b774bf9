"""People's accounts from a terminal (`hub user ...`), how they are stored, and the demo's people."""

from __future__ import annotations

import stat

import pytest
from sqlalchemy import select

from hub.access.accounts import log_in, person_of_session, reset_password, wait_after
from hub.demo.console_people import DEMO_PEOPLE, DemoLogin, people_file, reissue_demo_people, write_kept_passwords
from hub.errors import AccountLocked, Forbidden, LoginRefused, SessionExpired
from hub.settings import Environment, get_settings
from storage.models import ConsoleSession, ConsoleUser, Principal
from storage.models.base import utcnow
from storage.repositories.accounts import user_by_login


async def test_an_administrator_creates_resets_and_disables_an_account(hub, hub_command):
    status, out, _ = await hub_command(
        "user", "create", "--login", "chen", "--name", "陈审查", "--kind", "reviewer", "--department", "sw"
    )
    assert status == 0, out
    password = out.strip().splitlines()[-1].rsplit(" ", 1)[1]
    started = await log_in(hub, "chen", password)
    async with hub.sessions() as session:
        user = (await session.execute(select(ConsoleUser))).scalar_one()
        principal = await session.get(Principal, user.principal_id)
        stored = (await session.execute(select(ConsoleSession))).scalar_one()
    # The person is a principal of the department's role; the log names them.
    assert principal is not None and (principal.name, principal.role) == ("陈审查", "department_system")
    assert user.password_hash.startswith("$argon2id$") and password not in user.password_hash
    assert stored.id_hash != started.token and len(stored.id_hash) == 64  # only the SHA-256 at rest

    status, out, _ = await hub_command("user", "reset-password", "chen")
    assert status == 0 and "Password" in out
    new_password = out.strip().splitlines()[-1].rsplit(" ", 1)[1]
    async with hub.sessions() as session:
        with pytest.raises(SessionExpired):  # a reset ends the sessions
            await person_of_session(session, hub, started.token)
    with pytest.raises(LoginRefused):
        await log_in(hub, "chen", password)
    await log_in(hub, "chen", new_password)

    status, _, _ = await hub_command("user", "disable", "chen")
    assert status == 0
    with pytest.raises(LoginRefused):
        await log_in(hub, "chen", new_password)
    status, listing, _ = await hub_command("user", "list")
    assert "chen" in listing and "disabled" in listing

    status, _, err = await hub_command(
        "user", "create", "--login", "chen", "--name", "另一人", "--kind", "clerk", "--department", "xzfw"
    )
    assert status == 2 and "BAD_USER_INPUT" in err


async def test_a_locked_account_opens_only_with_a_password_reset(hub, hub_command):
    await hub_command("user", "create", "--login", "wu", "--name", "吴窗口", "--kind", "clerk", "--department", "xzfw")
    moment = utcnow()
    hub.clock = lambda: moment
    for _ in range(hub.settings.console_lockout_failures):
        moment = moment + wait_after(hub.settings.console_lockout_failures, hub.settings.console_free_login_failures)
        with pytest.raises((LoginRefused, AccountLocked)):
            await log_in(hub, "wu", "not the password")
    with pytest.raises(AccountLocked):
        await log_in(hub, "wu", "still not it")
    status, out, _ = await hub_command("user", "reset-password", "wu")
    assert status == 0
    await log_in(hub, "wu", out.strip().splitlines()[-1].rsplit(" ", 1)[1])


def test_waits_grow_after_the_free_failures_and_are_capped():
    assert [wait_after(n, 2).total_seconds() for n in range(1, 7)] == [0, 0, 1, 2, 4, 8]
    assert wait_after(60, 2).total_seconds() == 15 * 60


async def test_the_demo_people_keep_their_passwords_across_restarts_in_the_demo_only(hub, tmp_path):
    settings = hub.settings.model_copy(update={"demo_tokens_file": tmp_path / "var" / "demo-tokens.json"})
    kept = people_file(settings)

    async def restart(rotate: bool = False) -> list[DemoLogin]:
        async with hub.sessions() as session:
            logins = await reissue_demo_people(session, settings, utcnow(), rotate=rotate)
            await session.commit()
        write_kept_passwords(kept, logins)
        return logins

    first = await restart()
    assert [login.person for login in first] == list(DEMO_PEOPLE)
    assert kept.parent == tmp_path / "var" and stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert await restart() == first  # the same passwords: open tabs and notes stay good
    started = await log_in(hub, "reviewer", first[1].password)

    # A password reset meanwhile, or a locked account, gets a new password; the others are kept.
    async with hub.sessions() as session:
        await reset_password(session, "clerk", "someone-elses-password", utcnow())
        (await user_by_login(session, "auditor")).locked_at = utcnow()
        await session.commit()
    second = await restart()
    assert second[1] == first[1] and second[0] != first[0] and second[2] != first[2]
    await log_in(hub, "clerk", second[0].password)
    await log_in(hub, "auditor", second[2].password)
    async with hub.sessions() as session:
        await person_of_session(session, hub, started.token)  # the kept reviewer stays signed in

    rotated = await restart(rotate=True)
    assert all(a.password != b.password for a, b in zip(second, rotated, strict=True))
    with pytest.raises(LoginRefused):
        await log_in(hub, "reviewer", first[1].password)
    await log_in(hub, "reviewer", rotated[1].password)

    production = settings.model_copy(update={"environment": Environment.PRODUCTION})
    async with hub.sessions() as session:
        with pytest.raises(Forbidden):
            await reissue_demo_people(session, production, utcnow())


async def test_make_run_prints_the_kept_demo_passwords(hub_command, monkeypatch, tmp_path):
    import uvicorn

    monkeypatch.setenv("HUB_DEMO_TOKENS_FILE", str(tmp_path / "var" / "demo-tokens.json"))
    get_settings.cache_clear()
    monkeypatch.setattr(uvicorn, "run", lambda *_, **__: None)
    await hub_command("demo", "--applicants", "3", "--cases", "0")

    def passwords(out: str) -> dict[str, str]:
        logins = {person.login for person in DEMO_PEOPLE}
        rows = [line.split() for line in out.splitlines() if line.startswith("  ") and len(line.split()) == 5]
        return {row[3]: row[4] for row in rows if row[3] in logins}

    _, first, _ = await hub_command("serve", "--port", "0", "--print-demo-tokens")
    assert len(passwords(first)) == len(DEMO_PEOPLE) and "demo-people.json" in first
    _, again, _ = await hub_command("serve", "--port", "0", "--print-demo-tokens")
    assert passwords(again) == passwords(first)
    _, rotated, _ = await hub_command("serve", "--port", "0", "--rotate-demo-tokens")
    assert set(passwords(rotated).values()).isdisjoint(passwords(first).values())
