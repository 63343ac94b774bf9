"""The demo's people: a clerk, a department reviewer and an auditor who sign in to the console.

`make run` gives each a fresh password at every start and prints it beside the demo tokens, so a
newcomer can try the console at once. Demo environment only, like the tokens.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hub.access.accounts import Kind, create_user, reset_password
from hub.errors import Forbidden
from hub.settings import Environment, Settings
from storage.repositories.accounts import user_by_login


@dataclass(frozen=True, slots=True)
class DemoPerson:
    login: str
    name: str
    kind: Kind
    department_code: str


@dataclass(frozen=True, slots=True)
class DemoLogin:
    person: DemoPerson
    password: str


DEMO_PEOPLE = (
    DemoPerson("clerk", "王芳", Kind.CLERK, "xzfw"),
    DemoPerson("reviewer", "赵建平", Kind.REVIEWER, "zrzy"),
    DemoPerson("auditor", "李明", Kind.AUDITOR, "jcj"),
)


async def reissue_demo_people(session: AsyncSession, settings: Settings, now: datetime) -> list[DemoLogin]:
    """Create the demo people, or give them new passwords; return the passwords (caller commits)."""
    if settings.environment is not Environment.DEMO:
        raise Forbidden("demo people are created only when HUB_ENVIRONMENT=demo", missing="environment")
    logins = []
    for person in DEMO_PEOPLE:
        password = secrets.token_urlsafe(9)
        if await user_by_login(session, person.login) is None:
            await create_user(session, person.login, person.name, person.kind, person.department_code, password)
        else:
            await reset_password(session, person.login, password, now)
        logins.append(DemoLogin(person, password))
    return logins
