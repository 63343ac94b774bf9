"""Who may do what with applicant data. Deny unless a rule below allows.

The rules are plain functions of the caller, the action, the declared purpose and the fields
touched, so they can be read in one sitting and tested without a server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hub.auth import Role

if TYPE_CHECKING:
    from hub.access import AccessRequest
    from hub.context import RequestContext


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)


ALLOW = Decision(True)


def deny(reason: str, **details: Any) -> Decision:
    return Decision(False, reason, details)


Rule = Callable[["RequestContext", "AccessRequest"], Awaitable[Decision]]


async def _clerk(ctx: RequestContext, request: AccessRequest) -> Decision:
    # Window clerks accept applications and find prior submissions for whoever stands at the
    # window: they register, look up, search, read and record profile data.
    return ALLOW


async def _department_system(ctx: RequestContext, request: AccessRequest) -> Decision:
    if ctx.purpose is None:
        return deny(
            "a department system must declare the purpose of its access",
            missing="purpose",
        )
    return ALLOW


async def _no_applicant_data(ctx: RequestContext, request: AccessRequest) -> Decision:
    return deny(
        f"the {ctx.caller.role.value} role has no access to applicant data",
        missing="role",
    )


RULES: dict[Role, Rule] = {
    Role.CLERK: _clerk,
    Role.DEPARTMENT_SYSTEM: _department_system,
    Role.AUDITOR: _no_applicant_data,
    Role.ADMIN: _no_applicant_data,
}


async def decide(ctx: RequestContext, request: AccessRequest) -> Decision:
    rule = RULES.get(ctx.caller.role)
    if rule is None:
        return deny("no rule allows this role", missing="role")
    return await rule(ctx, request)
