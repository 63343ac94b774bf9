"""Answer a compiled document: its plan decided by the policy, one statement, the database's JSON.

(A compiled one-time notice is answered by hub/compiled/notice.py; `answer` sends it there.)

The resolvers, for the same document, guard each part as they reach it; here the whole plan is
decided first, with the same policy (`hub.access.guard.allows_all`). When every part is allowed
and the applicant exists, one statement reads the answer as JSON text, the plan's entries are
recorded as the guard records them and committed (a read waits for its entries to be durable,
as every read does), and the text goes out as the response without being parsed.

Anything else (a denial, an identifier that is not one, an unknown applicant, a variable of the
wrong type, an argument out of range) returns None before anything is recorded: the request is
served by the resolvers, whose errors and entries are then exactly theirs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.access.actions import AccessRequest, Action
from hub.access.auth import Role
from hub.access.context import RequestContext
from hub.access.guard import allows_all, record_allowed
from hub.compiled import notice
from hub.compiled.compiler import CompiledDocument
from hub.documents.materials import today
from hub.errors import HubError
from hub.identifiers import detect_kind
from hub.metrics import COMPILED_READS
from storage.repositories import compiled as repo

DEFAULT_CASES = 20  # Applicant.cases(last:) in schema/types/applicants.py


def _strings(value: Any) -> tuple[str, ...] | None:
    """A list of strings as given, None for null; anything else is not for this path."""
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ValueError


async def answer(
    ctx: RequestContext, document: CompiledDocument | notice.CompiledNotice, variables: Mapping[str, Any]
) -> bytes | None:
    """The response body (`{"data":{...}}`) for `document`, or None: let the resolvers serve it."""
    if isinstance(document, notice.CompiledNotice):
        body = await notice.answer(ctx, document, variables)
    else:
        body = await _answer(ctx, document, variables)
    COMPILED_READS.labels(path="resolvers" if body is None else "compiled").inc()
    if body is None:
        # The resolvers start afresh, as if this had not run: their purpose look-ups and reads
        # are their own (what the plan's decision memoised would change the order their fields
        # finish in, and with it which of a failed query's fields get to record an entry).
        ctx.cache.clear()
        ctx.session.expunge_all()
    return body


async def _answer(ctx: RequestContext, document: CompiledDocument, variables: Mapping[str, Any]) -> bytes | None:
    given = (document.id_number, document.profile, document.materials, document.cases)
    if any(argument is not None and argument.missing(variables) for argument in given):
        return None
    try:
        id_number = document.id_number.value(variables)
        if not isinstance(id_number, str):
            return None
        _, canonical = detect_kind(id_number)
        fields = _strings(document.profile.value(variables)) if document.profile is not None else None
        types = _strings(document.materials.value(variables)) if document.materials is not None else None
    except (HubError, ValueError):
        return None
    last = DEFAULT_CASES
    if document.cases is not None and document.cases.given:
        last = document.cases.value(variables)
        if isinstance(last, bool) or not isinstance(last, int) or not 1 <= last <= ctx.hub.settings.max_page_size:
            return None
    refs = (canonical,)
    plan = [AccessRequest(Action.APPLICANT_LOOKUP, refs)]
    if document.profile is not None:
        wanted = tuple(sorted(set(fields))) if fields else ("*",)
        plan.append(AccessRequest(Action.PROFILE_READ, refs, fields=wanted))
    if document.materials is not None:
        codes = tuple(sorted(set(types))) if types is not None else ("*",)
        plan.append(AccessRequest(Action.MATERIAL_READ, refs, material_types=codes, object_ref="materials"))
    if document.cases is not None:
        plan.append(AccessRequest(Action.CASE_SEARCH, refs, object_ref="cases"))
    if not await allows_all(ctx, plan):
        return None
    caller = ctx.caller
    text = await repo.applicant_json(
        ctx.session,
        document.shape,
        id_number=canonical,
        today=today(),
        cases_limit=last,
        # `fields: []` means every field, as in the resolvers (hub/profiles/applicants.py).
        profile_fields=sorted(set(fields)) if fields else None,
        material_types=sorted(set(types)) if types is not None else None,
        department_id=None if caller.role is Role.CLERK else caller.department_id,
    )
    if text is None:
        return None
    record_allowed(ctx, plan)
    ctx.read_only = True
    await ctx.commit()
    return b'{"data":{"' + document.response_key.encode("ascii") + b'":' + text.encode("utf-8") + b"}}"
