"""What an access is: its action, outcome and what it touches, as the policy and the log see it.

An action's value reads "<object>.<verb>" (docs/access-policy.md); the values are part of the
signed log's format (docs/audit-log.md) and never change meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Action(StrEnum):
    APPLICANT_REGISTER = "applicant.register"
    APPLICANT_LOOKUP = "applicant.lookup"
    APPLICANT_SEARCH = "applicant.search"
    # A clerk opening a visit: the applicant presented their ID at the window (docs/access-policy.md).
    APPLICANT_VISIT = "applicant.visit"
    PROFILE_READ = "profile.read"
    PROFILE_HISTORY = "profile.history"
    PROFILE_WRITE = "profile.write"
    MATERIAL_UPLOAD = "material.upload"
    MATERIAL_READ = "material.read"
    MATERIAL_DOWNLOAD = "material.download"
    MATERIAL_REVOKE = "material.revoke"
    MATERIAL_SUPERSEDE = "material.supersede"
    MATERIAL_CANCEL = "material.cancel"
    NOTICE_READ = "notice.read"
    CASE_OPEN = "case.open"
    CASE_READ = "case.read"
    CASE_ATTACH = "case.attach"
    CASE_ACCEPT = "case.accept"
    CASE_OPINION = "case.opinion"
    CASE_MINUTES = "case.minutes"
    CASE_PAUSE = "case.pause"
    CASE_COMPLETE = "case.complete"
    CASE_COLLECT = "case.collect"
    CASE_WITHDRAW = "case.withdraw"
    # The hub's own scheduled job closing a case nobody carried on (docs/cases.md).
    CASE_ABANDON = "case.abandon"
    CASE_SEARCH = "case.search"
    # 首席代表: a department authorising a clerk to decide listed items, withdrawing it, reading them.
    AUTHORISATION_GRANT = "authorisation.grant"
    AUTHORISATION_WITHDRAW = "authorisation.withdraw"
    AUTHORISATION_READ = "authorisation.read"
    AUDIT_SEARCH = "audit.search"
    AUDIT_STATISTICS = "audit.statistics"
    AUDIT_CHECKPOINT = "audit.checkpoint"
    AUDIT_PROOF = "audit.proof"
    AUDIT_EXPORT = "audit.export"
    AUDIT_ACCESS_HISTORY = "audit.access_history"
    # The steps of an access anomaly alert's life (docs/supervision.md): the supervision office asks
    # the alert's department to explain, confirms, dismisses or closes; the department explains.
    ALERT_REQUEST_EXPLANATION = "alert.request_explanation"
    ALERT_EXPLAIN = "alert.explain"
    ALERT_CONFIRM = "alert.confirm"
    ALERT_DISMISS = "alert.dismiss"
    ALERT_CLOSE = "alert.close"
    # The supervision office records how a 办不成事 complaint ended.
    COMPLAINT_RESOLVE = "complaint.resolve"
    # A department system's webhook endpoints (docs/webhooks.md): listed with their deliveries, or
    # registered, rotated, paused, resumed. No applicant data; logged for who sends events where.
    WEBHOOK_READ = "webhook.read"
    WEBHOOK_WRITE = "webhook.write"
    # A revoked token presented again: refused before any policy, logged against its principal.
    TOKEN_REFUSED = "auth.token_refused"
    # A declared purpose outside the grammar of hub/access/purposes.py: refused before any policy.
    PURPOSE_REFUSED = "auth.purpose_refused"
    # A request its principal's budget of query cost could not pay for (hub/access/budgets.py).
    RATE_LIMITED = "auth.rate_limited"
    # A person signing in to the console (docs/console.md), logged against their principal.
    LOGIN = "auth.login"
    LOGIN_FAILED = "auth.login_failed"
    LOGOUT = "auth.logout"


class Outcome(StrEnum):
    """What happened to an access (docs/audit-log.md): what the policy decided, then what the use case did."""

    # The policy allowed it and the use case did it.
    ALLOWED = "allowed"
    # The policy refused it.
    DENIED = "denied"
    # Refused before or after the policy, by authentication, the purpose grammar or the use case
    # itself (an opinion from a department outside the case, say); `reason` starts with the error code.
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class PendingEntry:
    recorded_at: datetime
    action: Action
    outcome: Outcome
    applicant_ref: str
    object_ref: str
    fields: tuple[str, ...]
    material_types: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class AccessRequest:
    """What one access touches: the policy decides on this, the log records it."""

    action: Action
    applicant_refs: tuple[str, ...]
    fields: tuple[str, ...] = ()
    material_types: tuple[str, ...] = ()
    object_ref: str = ""
