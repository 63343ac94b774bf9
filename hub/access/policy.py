"""Who may do what with applicant data. Deny unless a rule below allows (docs/access-policy.md).

The rules are plain functions of the caller, the action, the declared purpose and what the access
touches, so they can be read in one sitting and tested without a server. An action's value reads
"<object>.<verb>": the object says whose data it is, the verb whether it reads or writes.

Purpose binding: a department system reads applicant data only for a declared purpose
"<kind>:<ref>" that a registered resolver turns into a scope (profile fields, material types,
and optionally applicants and objects). "basis" (a legal basis from the catalogue) is registered
here; other parts of the hub register their kinds ("case") with `register_purpose_resolver`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hub.access.auth import Role
from hub.access.purposes import is_purpose_kind, parse_purpose
from storage.repositories import cases as cases_repo
from storage.repositories import catalog as catalog_repo
from storage.repositories import centres as centres_repo

if TYPE_CHECKING:
    from hub.access.actions import AccessRequest
    from hub.access.context import RequestContext


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)


ALLOW = Decision(True)


def deny(reason: str, **details: Any) -> Decision:
    return Decision(False, reason, details)


# What actions touch -----------------------------------------------------------------------------

# Objects holding applicant data (the part of an action's value before the dot).
APPLICANT_DATA = frozenset({"applicant", "profile", "material", "notice", "case"})
# The access log itself: who read whose data.
LOG = "audit"
READ_VERBS = frozenset({"lookup", "search", "read", "history", "download"})
WRITE_VERBS = frozenset(
    {
        "register",
        "write",
        "upload",
        "revoke",
        "supersede",
        "open",
        "attach",
        "accept",
        "opinion",
        "minutes",
        "pause",
        "complete",
        "collect",
        "withdraw",
        "cancel",
    }
)
# Writes whose answer shows what is already on file (a material's title, type and earlier versions):
# a department system needs a purpose covering them, as for a read.
DISCLOSING_WRITES = frozenset({"material.supersede", "material.revoke"})
# A department system's own webhook endpoints (docs/webhooks.md): no applicant data, no purpose.
WEBHOOK_ACTIONS = frozenset({"webhook.read", "webhook.write"})
# What the hub's own scheduled jobs do, and nothing else.
SYSTEM_ACTIONS = frozenset({"case.abandon"})
# What a clerk reads only for the applicant at the window: profile values and materials, and the
# one-time notice about an applicant, which names the materials on file (without one, it names none).
WINDOW_READS = frozenset({"profile.read", "profile.history", "material.read", "material.download", "notice.read"})
# The purposes that put an applicant at a clerk's window: a visit, or a case at the clerk's window.
WINDOW_PURPOSE_KINDS = ("case", "visit")
# A clerk opens a visit when the applicant presents their ID; no other role does.
VISIT_OPEN = "applicant.visit"
# "Who read my data": the applicant, a clerk at the window on their behalf, or an auditor.
ACCESS_HISTORY = "audit.access_history"
# 首席代表: a department (its system) or an administrator grants and withdraws a clerk's authorisation
# to decide; the use case holds a department to its own clerks and items (hub/authorisations).
AUTHORISATION_GRANTS = frozenset({"authorisation.grant", "authorisation.withdraw"})
# Reading authorisations: a clerk their own, a department its own, the office and administrators all.
AUTHORISATION_READ = "authorisation.read"
# What an applicant principal may do, and only about themselves.
APPLICANT_SELF_SERVICE = frozenset({ACCESS_HISTORY, "applicant.lookup", "profile.read"})
# The supervision office's own objects ("supervision:cases", "supervision:sample:<month>"): its
# lists of every case are the office's alone, though a clerk may search cases for the window.
SUPERVISION_OBJECT = "supervision:"
# The steps of an alert's life (docs/supervision.md): the office decides, the alert's department
# explains (the use case checks that the caller's department is the alert's).
ALERT_DECISIONS = frozenset({"alert.request_explanation", "alert.confirm", "alert.dismiss", "alert.close"})
ALERT_EXPLAIN = "alert.explain"
# What the supervision office does besides reading the log and cases: decide on alerts, resolve
# 办不成事 complaints.
OFFICE_STEPS = ALERT_DECISIONS | {"complaint.resolve"}


def split_action(action: str) -> tuple[str, str]:
    obj, _, verb = action.partition(".")
    return obj, verb


# Purposes ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PurposeScope:
    """What a declared purpose lets a department read. None means "not restricted by this"."""

    profile_fields: frozenset[str] = frozenset()
    material_types: frozenset[str] = frozenset()
    applicant_refs: frozenset[str] | None = None
    object_refs: frozenset[str] | None = None


PurposeResolver = Callable[["RequestContext", str], Awaitable[PurposeScope | None]]
_RESOLVERS: dict[str, PurposeResolver] = {}


def register_purpose_resolver(kind: str, resolver: PurposeResolver) -> None:
    """Make purposes "<kind>:<ref>" resolvable. The resolver returns the scope the caller's
    department gets for `ref`, or None if the purpose does not exist or is not the department's."""
    if not is_purpose_kind(kind):
        raise ValueError(f"a purpose kind is a lowercase word (hub/access/purposes.py; got {kind!r})")
    _RESOLVERS[kind] = resolver


def purpose_kinds() -> tuple[str, ...]:
    return tuple(sorted(_RESOLVERS))


async def resolve_purpose(ctx: RequestContext) -> PurposeScope | None:
    """The scope of the request's declared purpose, resolved once per request."""
    purpose = ctx.purpose
    if purpose is None:
        return None
    key = ("purpose-scope", purpose)
    if key not in ctx.cache:
        # Canonical already (RequestContext refuses anything else): no stripping, one spelling.
        kind, ref = parse_purpose(purpose)
        resolver = _RESOLVERS.get(kind)
        ctx.cache[key] = None if resolver is None else await resolver(ctx, ref)
    cached: PurposeScope | None = ctx.cache[key]
    return cached


async def _legal_basis(ctx: RequestContext, code: str) -> PurposeScope | None:
    """ "basis:<code>": a legal basis of the catalogue, declared for the caller's department."""
    basis = await catalog_repo.legal_basis_by_code(ctx.session, code)
    if basis is None or basis.department_id != ctx.caller.department_id:
        return None
    return PurposeScope(
        profile_fields=frozenset(f for f in basis.profile_fields.split(",") if f),
        material_types=frozenset(m for m in basis.material_type_codes.split(",") if m),
    )


register_purpose_resolver("basis", _legal_basis)


def _outside_scope(scope: PurposeScope, request: AccessRequest, purpose: str) -> Decision | None:
    """The denial if the request touches anything the purpose does not cover."""
    if scope.applicant_refs is not None:
        others = sorted(set(request.applicant_refs) - scope.applicant_refs)
        if others:
            return deny(f"purpose {purpose} does not cover this applicant", missing="applicant", purpose=purpose)
    if scope.object_refs is not None and request.object_ref and request.object_ref not in scope.object_refs:
        return deny(f"purpose {purpose} does not cover {request.object_ref}", missing="object", purpose=purpose)
    fields = sorted(set(request.fields) - scope.profile_fields)
    if fields:
        return deny(
            f"purpose {purpose} does not cover profile fields {', '.join(fields)}"
            + ("; name the fields you need" if "*" in fields else ""),
            missing="field",
            purpose=purpose,
            fields=fields,
            allowed=sorted(scope.profile_fields),
        )
    materials = sorted(set(request.material_types) - scope.material_types)
    if materials:
        return deny(
            f"purpose {purpose} does not cover material types {', '.join(materials)}",
            missing="materialType",
            purpose=purpose,
            materialTypes=materials,
            allowed=sorted(scope.material_types),
        )
    return None


# Rules by role ----------------------------------------------------------------------------------

Rule = Callable[["RequestContext", "AccessRequest"], Awaitable[Decision]]


def _no_right(ctx: RequestContext, request: AccessRequest, why: str = "") -> Decision:
    return deny(
        f"the {ctx.caller.role.value} role may not {request.action.value}" + (f": {why}" if why else ""),
        missing="right",
        right=request.action.value,
    )


async def _clerk(ctx: RequestContext, request: AccessRequest) -> Decision:
    # Window clerks accept applications and find prior submissions for whoever stands at the
    # window; they may also show an applicant, in person, who read their data. Profile values and
    # materials only for the applicant at the window: within a visit or a case of the clerk's window.
    obj, verb = split_action(request.action.value)
    if request.action.value == ALERT_EXPLAIN:
        return ALLOW
    if request.action.value in WINDOW_READS:
        return await _at_the_window(ctx, request)
    if obj == "case" and request.object_ref.startswith("case:") and request.object_ref != "case:new":
        refused = await _case_of_another_centre(ctx, request.object_ref.removeprefix("case:"), verb)
        if refused is not None:
            return refused
    if obj in APPLICANT_DATA and verb in READ_VERBS | WRITE_VERBS:
        return ALLOW
    if request.action.value in (ACCESS_HISTORY, VISIT_OPEN, AUTHORISATION_READ):
        return ALLOW
    return _no_right(ctx, request)


async def _at_the_window(ctx: RequestContext, request: AccessRequest) -> Decision:
    """A clerk's read of profile values or materials, under `visit:<id>` or `case:<receipt>`."""
    scope = None
    if ctx.purpose is not None and parse_purpose(ctx.purpose)[0] in WINDOW_PURPOSE_KINDS:
        scope = await resolve_purpose(ctx)
    if scope is None:
        return deny(
            "a clerk reads profile values and materials only for the applicant at the window: "
            "open a visit (openVisit) or declare a case of your window",
            missing="purpose",
            kinds=list(WINDOW_PURPOSE_KINDS),
            **({"purpose": ctx.purpose} if ctx.purpose else {}),
        )
    return _outside_scope(scope, request, ctx.purpose or "") or ALLOW


async def caller_centre_id(ctx: RequestContext) -> int | None:
    """The service centre of the caller's window (three-level halls); None for a caller at none."""
    key = ("caller-centre", ctx.caller.principal_id)
    if key not in ctx.cache:
        ctx.cache[key] = await centres_repo.centre_of_principal(ctx.session, ctx.caller.principal_id)
    centre_id: int | None = ctx.cache[key]
    return centre_id


# What a clerk at another centre does with a case: read it and hand over its results (就近办).
COLLECTING_VERBS = frozenset({"read", "collect"})


async def _case_of_another_centre(ctx: RequestContext, receipt_number: str, verb: str) -> Decision | None:
    """Three-level halls: a case received at a centre is acted on by a clerk of that centre, by a clerk
    of a department it is routed to, and (read, collect) by a clerk of the centre chosen for collection."""
    case = await cases_repo.case_by_receipt(ctx.session, receipt_number)
    if case is None or case.centre_id is None:
        return None  # unknown (the use case says NOT_FOUND) or received outside any centre
    centre_id = await caller_centre_id(ctx)
    if centre_id == case.centre_id or (verb in COLLECTING_VERBS and centre_id == case.collect_centre_id):
        return None
    if await cases_repo.case_ids_with_department(
        ctx.session, [case.id], ctx.caller.department_id, through_review_tasks=True
    ):
        return None
    return deny(
        f"case {receipt_number} was received at another service centre and is not routed to your department",
        missing="centre",
    )


async def _department_system(ctx: RequestContext, request: AccessRequest) -> Decision:
    if request.action.value in AUTHORISATION_GRANTS or request.action.value == AUTHORISATION_READ:
        return ALLOW
    if request.action.value in WEBHOOK_ACTIONS:
        return ALLOW  # its own department's endpoints: the use case looks up no other
    obj, verb = split_action(request.action.value)
    if request.action.value == ALERT_EXPLAIN:
        return ALLOW
    if obj not in APPLICANT_DATA or verb not in READ_VERBS | WRITE_VERBS:
        return _no_right(ctx, request)
    if ctx.purpose is None:
        return deny(
            "a department system must declare the purpose of its access (X-Hub-Purpose)",
            missing="purpose",
            kinds=list(purpose_kinds()),
        )
    if verb in WRITE_VERBS and request.action.value not in DISCLOSING_WRITES:
        # Supplying data discloses nothing: a declared purpose is recorded, no scope is needed.
        return ALLOW
    scope = await resolve_purpose(ctx)
    if scope is None:
        return deny(
            f"purpose {ctx.purpose} is unknown or not declared for department {ctx.caller.department_code}",
            missing="purpose",
            purpose=ctx.purpose,
            kinds=list(purpose_kinds()),
        )
    return _outside_scope(scope, request, ctx.purpose) or ALLOW


async def _auditor(ctx: RequestContext, request: AccessRequest) -> Decision:
    obj, verb = split_action(request.action.value)
    if obj == LOG or request.action.value == AUTHORISATION_READ or request.action.value in OFFICE_STEPS:
        return ALLOW
    if obj == "case" and verb in READ_VERBS and ctx.purpose is not None:
        # 电子监察: a case's course (states, times, decisions) under a purpose whose scope, from
        # hub/supervision/purpose.py, covers no profile field and no material type.
        scope = await resolve_purpose(ctx)
        if scope is not None:
            return _outside_scope(scope, request, ctx.purpose) or ALLOW
    return _no_right(ctx, request, "auditors see the access log and statistics, never content or profile values")


async def _admin(ctx: RequestContext, request: AccessRequest) -> Decision:
    if request.action.value in AUTHORISATION_GRANTS or request.action.value == AUTHORISATION_READ:
        return ALLOW
    return _no_right(ctx, request, "administrators manage the catalogue and principals, not applicant data")


async def _applicant(ctx: RequestContext, request: AccessRequest) -> Decision:
    if request.action.value not in APPLICANT_SELF_SERVICE:
        return _no_right(ctx, request)
    own = ctx.caller.applicant_ref
    if not own or any(ref != own for ref in request.applicant_refs):
        return deny("an applicant sees only their own data", missing="applicant")
    return ALLOW


async def _system(ctx: RequestContext, request: AccessRequest) -> Decision:
    if request.action.value in SYSTEM_ACTIONS:
        return ALLOW
    return _no_right(ctx, request, "the hub's scheduled jobs only close abandoned cases")


RULES: dict[Role, Rule] = {
    Role.CLERK: _clerk,
    Role.DEPARTMENT_SYSTEM: _department_system,
    Role.AUDITOR: _auditor,
    Role.ADMIN: _admin,
    Role.APPLICANT: _applicant,
    Role.SYSTEM: _system,
}


async def decide(ctx: RequestContext, request: AccessRequest) -> Decision:
    rule = RULES.get(ctx.caller.role)
    if rule is None:
        return deny("no rule allows this role", missing="right")
    if request.object_ref.startswith(SUPERVISION_OBJECT) and ctx.caller.role is not Role.AUDITOR:
        return _no_right(ctx, request, "the supervision office's lists are for its auditors")
    return await rule(ctx, request)
