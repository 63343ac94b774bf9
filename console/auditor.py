"""The auditor (电子监察): search the access log, see who read an applicant's data, and check an
entry's inclusion proof in the browser.

The proof page hands the browser the entry's canonical bytes, the audit path and the signed
checkpoint; static/verify.js recomputes the leaf and the root (SHA-256) and checks the checkpoint's
Ed25519 signature with WebCrypto against the verifier key the auditor trusts. The page trusts
nothing the server computed beyond the proof's hashes, and a proof edited in the page fails.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, time

from starlette.responses import Response

from console.people import named_principals
from console.web import Page
from hub.access.actions import Action, Outcome
from hub.audit.export import verifier_keys
from hub.audit.log import EntryQuery, access_history, inclusion_proof, search_entries
from hub.calendar.workdays import CHINA
from hub.errors import InvalidInput

PAGE_SIZE = 50


def _day(value: str, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise InvalidInput("a date is YYYY-MM-DD", field="date") from None
    return datetime.combine(day, time.max if end else time.min, tzinfo=CHINA).astimezone(UTC)


async def search(page: Page) -> Response:
    params = page.request.query_params
    query = EntryQuery(
        applicant=params.get("applicant", "").strip() or None,
        department=params.get("department", "").strip() or None,
        action=params.get("action") or None,
        outcome=params.get("outcome") or None,
        since=_day(params.get("since", "")),
        until=_day(params.get("until", ""), end=True),
    )
    found = await search_entries(page.ctx, query, first=PAGE_SIZE, after=params.get("after") or None)
    return page.render(
        "audit_search.html",
        entries=found.items,
        named=await named_principals(page.ctx.session, (e.principal_id for e in found.items)),
        has_next=found.has_next_page,
        query=params,
        actions=[a.value for a in Action],
        outcomes=[o.value for o in Outcome],
    )


async def readers(page: Page) -> Response:
    """Who read an applicant's data (allowed reads of applicant data by anyone)."""
    id_number = page.request.query_params.get("id", "").strip()
    if not id_number:
        raise InvalidInput("name the applicant", field="id")
    found = await access_history(page.ctx, id_number, first=PAGE_SIZE)
    named = await named_principals(page.ctx.session, (e.principal_id for e in found.items))
    return page.render("audit_readers.html", entries=found.items, named=named, id_number=id_number.upper())


async def entry(page: Page) -> Response:
    try:
        seq = int(page.request.path_params["seq"])
    except ValueError:
        raise InvalidInput("an entry's number is an integer", field="seq") from None
    proof = await inclusion_proof(page.ctx, seq)
    document = {
        "entry": base64.b64encode(proof.entry).decode("ascii"),
        "leafIndex": proof.leaf_index,
        "treeSize": proof.tree_size,
        "hashes": [base64.b64encode(h).decode("ascii") for h in proof.hashes],
        "checkpoint": proof.checkpoint.note,
    }
    return page.render(
        "audit_entry.html",
        seq=seq,
        proof_json=json.dumps(document, indent=2, ensure_ascii=False),
        published_keys=[key.text() for key in verifier_keys(page.ctx.hub)],
    )
