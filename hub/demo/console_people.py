"""The demo's people: a clerk, a department reviewer and an auditor who sign in to the console.

`make run` prints each person's password beside the demo tokens, so a newcomer can try the console
at once. A fresh password at every start signed everyone out of the browser tabs they had open and
made them look the password up again; so, like the tokens (hub/demo/tokens.py), the passwords are
kept in a file beside the tokens' (`demo-people.json`, mode 600) and printed again while they
still let the person in. A password reset, an account locked or disabled meanwhile gets a new one,
and `--rotate-demo-tokens` renews them all. Demo environment only: in production a password is
shown once and never written down.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.access.accounts import Kind, create_user, reset_password
from hub.errors import Forbidden
from hub.settings import Environment, Settings
from storage.models import ConsoleUser
from storage.repositories import centres as centres_repo
from storage.repositories.accounts import user_by_login


@dataclass(frozen=True, slots=True)
class DemoPerson:
    login: str
    name: str
    kind: Kind
    department_code: str
    centre_code: str | None = None  # a clerk's window is at a service centre


@dataclass(frozen=True, slots=True)
class DemoLogin:
    person: DemoPerson
    password: str


DEMO_PEOPLE = (
    DemoPerson("clerk", "王芳", Kind.CLERK, "xzfw", "jingmen"),
    DemoPerson("reviewer", "赵建平", Kind.REVIEWER, "zrzy"),
    DemoPerson("auditor", "李明", Kind.AUDITOR, "jcj"),
)


def people_file(settings: Settings) -> Path:
    """Beside the kept tokens, so one setting (`HUB_DEMO_TOKENS_FILE`) places both."""
    return settings.demo_tokens_file.with_name("demo-people.json")


async def reissue_demo_people(
    session: AsyncSession, settings: Settings, now: datetime, *, rotate: bool = False
) -> list[DemoLogin]:
    """Create the demo people, or keep their kept passwords while they work (caller commits).

    With `rotate`, or when the kept password no longer lets the person in, the person gets a new
    one. Write the file only once the caller has committed (`write_kept_passwords`).
    """
    if settings.environment is not Environment.DEMO:
        raise Forbidden("demo people are created only when HUB_ENVIRONMENT=demo", missing="environment")
    kept = {} if rotate else read_kept_passwords(people_file(settings))
    # The demo clerk's window is at the demo's city centre once `hub demo` has loaded the centres.
    centres = await centres_repo.centres_by_code(session)
    logins = []
    for person in DEMO_PEOPLE:
        user = await user_by_login(session, person.login)
        password = kept.get(person.login)
        if user is None:
            password = password or _new_password()
            await create_user(
                session,
                person.login,
                person.name,
                person.kind,
                person.department_code,
                password,
                centre_code=person.centre_code if person.centre_code in centres else None,
            )
        elif password is None or not _still_lets_in(user, password):
            password = _new_password()
            await reset_password(session, person.login, password, now)
        logins.append(DemoLogin(person, password))
    return logins


def _new_password() -> str:
    return secrets.token_urlsafe(9)


def _still_lets_in(user: ConsoleUser, password: str) -> bool:
    """The password matches and nothing (lock, disabling) stands between the person and a login."""
    if user.disabled_at is not None or user.locked_at is not None:
        return False
    try:
        return PasswordHasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def read_kept_passwords(path: Path) -> dict[str, str]:
    """Login name to password; nothing if the file is missing or unreadable."""
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): v for k, v in kept.items() if isinstance(v, str)} if isinstance(kept, dict) else {}


def write_kept_passwords(path: Path, logins: list[DemoLogin]) -> None:
    """Replace the file atomically, readable and writable by its owner only (mode 600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), 0o600)  # the mode of an existing partial file is not reset by open
        json.dump({login.person.login: login.password for login in logins}, file, indent=2)
    os.replace(partial, path)
