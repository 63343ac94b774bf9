"""Reading the access log: search, statistics, checkpoints, proofs, and "who read my data".

Each use case passes `guard` first (auditors may read the log; an applicant, or a clerk on their
behalf, may read who accessed that applicant) and integrates queued entries before answering, so
what it shows and proves is the log as of now.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from hub.access.actions import Action
from hub.access.auth import Role
from hub.access.context import RequestContext
from hub.access.guard import guard
from hub.access.policy import APPLICANT_DATA, READ_VERBS, split_action
from hub.audit.encoding import encode_row, split_names
from hub.audit.merkle import consistency_ranges, inclusion_ranges, leaf_hash
from hub.audit.proofs import stored_range_hashes
from hub.audit.sequencer import Sequencer
from hub.errors import InvalidInput, NotFound
from hub.identifiers import detect_kind
from storage.models import AuditCheckpoint
from storage.repositories import audit as repo

# The actions that disclose applicant data: what "who read my data" lists.
DISCLOSING_ACTIONS = tuple(
    a.value for a in Action if split_action(a.value)[0] in APPLICANT_DATA and split_action(a.value)[1] in READ_VERBS
)


@dataclass(frozen=True, slots=True)
class EntryView:
    seq: int
    recorded_at: datetime
    request_id: str
    client_address: str
    principal_id: int | None
    department_code: str
    department_name: str
    role: str
    action: str
    outcome: str
    applicant_ref: str
    object_ref: str
    fields: tuple[str, ...]
    material_types: tuple[str, ...]
    purpose: str
    reason: str


@dataclass(frozen=True, slots=True)
class EntryQuery:
    applicant: str | None = None
    department: str | None = None
    principal_id: int | None = None
    purpose: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class EntryPage:
    items: list[EntryView]
    has_next_page: bool


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    tree_size: int
    root_hash: bytes
    signed_at: datetime
    key_ids: tuple[str, ...]
    note: str


@dataclass(frozen=True, slots=True)
class InclusionProof:
    seq: int
    leaf_index: int
    tree_size: int
    entry: bytes
    leaf_hash: bytes
    hashes: list[bytes]
    checkpoint: SignedCheckpoint


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    old_size: int
    new_size: int
    hashes: list[bytes]
    old_checkpoint: SignedCheckpoint | None
    new_checkpoint: SignedCheckpoint


@dataclass(frozen=True, slots=True)
class CountRow:
    department_code: str
    action: str
    outcome: str
    count: int


def signed_checkpoint(row: AuditCheckpoint) -> SignedCheckpoint:
    return SignedCheckpoint(row.tree_size, bytes(row.root_hash), row.signed_at, tuple(row.key_ids.split(",")), row.note)


def _entry_view(row: Row[Any]) -> EntryView:
    return EntryView(
        row.seq,
        row.recorded_at,
        row.request_id,
        row.client_address,
        row.principal_id,
        row.department_code,
        row.department_name or "",
        row.role,
        row.action,
        row.outcome,
        row.applicant_ref,
        row.object_ref,
        split_names(row.fields),
        split_names(row.material_types),
        row.purpose,
        row.reason,
    )


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode("ascii")


def decode_cursor(cursor: str) -> int:
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii").partition(":")
        if kind != "seq":
            raise ValueError
        return int(value)
    except (ValueError, UnicodeError):
        raise InvalidInput("malformed pagination cursor", field="after") from None


def _check_page_size(ctx: RequestContext, first: int) -> None:
    limit = ctx.hub.settings.max_page_size
    if not 1 <= first <= limit:
        raise InvalidInput(f"first must be between 1 and {limit}", field="first")


async def integrate(ctx: RequestContext, *, force_checkpoint: bool = False) -> None:
    """Sequence what is queued, then start a fresh snapshot so this request sees it (SQLite
    keeps a reading transaction on the snapshot of its first read)."""
    await Sequencer(ctx.hub).integrate(force_checkpoint=force_checkpoint)
    await ctx.session.commit()


async def search_entries(
    ctx: RequestContext, query: EntryQuery, *, first: int = 20, after: str | None = None
) -> EntryPage:
    """Entries matching every given filter, newest first."""
    _check_page_size(ctx, first)
    applicant = detect_kind(query.applicant)[1] if query.applicant else None
    # The entry names which filters were used, not their values (an applicant's number is the ref).
    filters = [f.name for f in fields(query) if getattr(query, f.name) is not None]
    await guard(ctx, Action.AUDIT_SEARCH, [applicant or ""], object_ref="filter:" + "+".join(filters))
    await integrate(ctx)
    where = repo.EntryFilter(
        applicant_ref=applicant,
        department_code=query.department,
        principal_id=query.principal_id,
        purpose=query.purpose,
        actions=(query.action,) if query.action else (),
        outcome=query.outcome,
        since=query.since,
        until=query.until,
    )
    rows = await repo.search_entries(
        ctx.session, where, before_seq=decode_cursor(after) if after else None, limit=first + 1
    )
    return EntryPage([_entry_view(r) for r in rows[:first]], has_next_page=len(rows) > first)


async def access_history(
    ctx: RequestContext, id_number: str | None = None, *, first: int = 20, after: str | None = None
) -> EntryPage:
    """Who read an applicant's data: theirs for an applicant principal, anyone's for a clerk at
    the window (the applicant present) or an auditor. Lists allowed reads by others."""
    _check_page_size(ctx, first)
    caller = ctx.caller
    if id_number is None:
        if caller.role is not Role.APPLICANT:
            raise InvalidInput("name the applicant (idNumber)", field="idNumber")
        applicant = caller.applicant_ref
    else:
        applicant = detect_kind(id_number)[1]
    await guard(ctx, Action.AUDIT_ACCESS_HISTORY, [applicant])
    await integrate(ctx)
    where = repo.EntryFilter(
        applicant_ref=applicant,
        actions=DISCLOSING_ACTIONS,
        outcome="allowed",
        exclude_principal_id=caller.principal_id if caller.role is Role.APPLICANT else None,
    )
    rows = await repo.search_entries(
        ctx.session, where, before_seq=decode_cursor(after) if after else None, limit=first + 1
    )
    return EntryPage([_entry_view(r) for r in rows[:first]], has_next_page=len(rows) > first)


async def statistics(
    ctx: RequestContext, since: datetime | None = None, until: datetime | None = None
) -> list[CountRow]:
    """Entry counts by department, action and outcome: what supervision ranks departments by."""
    await guard(ctx, Action.AUDIT_STATISTICS)
    rows = await repo.statistics(ctx.session, since, until)
    return [CountRow(department, action, outcome, count) for department, action, outcome, count in rows]


async def latest_checkpoint(ctx: RequestContext) -> SignedCheckpoint:
    """The newest checkpoint, signing one first if the log grew since the last."""
    await guard(ctx, Action.AUDIT_CHECKPOINT)
    await integrate(ctx, force_checkpoint=True)
    row = await repo.latest_checkpoint(ctx.session)
    if row is None:
        raise NotFound("the access log is empty: no checkpoint yet", field="checkpoint")
    return signed_checkpoint(row)


async def _checkpoint(ctx: RequestContext, tree_size: int | None) -> AuditCheckpoint:
    row = await (
        repo.latest_checkpoint(ctx.session) if tree_size is None else repo.checkpoint_of_size(ctx.session, tree_size)
    )
    if row is None:
        raise NotFound(f"no checkpoint of tree size {tree_size}", field="treeSize")
    return row


async def _hashes(ctx: RequestContext, ranges: list[tuple[int, int]]) -> list[bytes]:
    return await stored_range_hashes(ctx.session, ranges)


async def inclusion_proof(ctx: RequestContext, seq: int, tree_size: int | None = None) -> InclusionProof:
    """RFC 9162 inclusion proof of entry `seq` in a checkpoint (the latest one by default)."""
    await guard(ctx, Action.AUDIT_PROOF, object_ref=f"entry:{seq}")
    await integrate(ctx, force_checkpoint=tree_size is None)
    checkpoint = await _checkpoint(ctx, tree_size)
    if not 1 <= seq <= checkpoint.tree_size:
        raise InvalidInput(f"entry {seq} is not in the checkpoint of size {checkpoint.tree_size}", field="seq")
    row = await repo.entry_by_seq(ctx.session, seq)
    if row is None:
        raise NotFound(f"entry {seq} is missing from the log", field="seq")
    entry = encode_row(row)
    hashes = await _hashes(ctx, inclusion_ranges(seq - 1, checkpoint.tree_size))
    return InclusionProof(
        seq, seq - 1, checkpoint.tree_size, entry, leaf_hash(entry), hashes, signed_checkpoint(checkpoint)
    )


async def consistency_proof(ctx: RequestContext, old_size: int, new_size: int | None = None) -> ConsistencyProof:
    """RFC 9162 consistency proof that the tree of `old_size` is a prefix of a newer checkpoint."""
    await guard(ctx, Action.AUDIT_PROOF, object_ref=f"consistency:{old_size}")
    await integrate(ctx, force_checkpoint=new_size is None)
    new = await _checkpoint(ctx, new_size)
    if not 0 <= old_size <= new.tree_size:
        raise InvalidInput(f"size {old_size} is not between 0 and {new.tree_size}", field="oldSize")
    hashes = await _hashes(ctx, consistency_ranges(old_size, new.tree_size))
    old = await repo.checkpoint_of_size(ctx.session, old_size)
    return ConsistencyProof(
        old_size, new.tree_size, hashes, signed_checkpoint(old) if old else None, signed_checkpoint(new)
    )
