"""The access log over GraphQL: search and statistics for auditors, checkpoints and RFC 9162
proofs, and "who read my data" for applicants (or a clerk on their behalf)."""

from __future__ import annotations

import base64
from datetime import datetime
from enum import Enum

import strawberry

from hub.audit import log
from schema import typed
from schema.context import Info
from schema.types.applicants import PageInfo


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


@strawberry.enum(
    description="What happened: allowed and done, denied by the policy, or refused (by authentication, the"
    " purpose grammar or the use case itself; the reason starts with the error code)."
)
class AccessOutcome(Enum):
    ALLOWED = "allowed"
    DENIED = "denied"
    REFUSED = "refused"


@strawberry.type(
    description="One access-log entry: who touched which applicant's data, for what, and the outcome. Names of fields and material types, never their values."
)
class AccessLogEntry:
    seq: int = strawberry.field(description="Sequence number: 1, 2, 3... without gaps.")
    recorded_at: datetime
    request_id: str
    client_address: str
    principal_id: int | None
    department_code: str
    department_name: str
    role: str
    action: str
    outcome: AccessOutcome
    applicant_id_number: str = strawberry.field(description="Empty when the access named no applicant.")
    object_ref: str = strawberry.field(description="What was touched: a material, a case, a search kind...")
    fields: list[str] = strawberry.field(description="Profile field names touched.")
    material_types: list[str] = strawberry.field(description="Material type codes touched.")
    purpose: str
    reason: str = strawberry.field(description="Why access was denied or refused; empty when allowed.")


def entry_of(view: log.EntryView) -> AccessLogEntry:
    return AccessLogEntry(
        seq=view.seq,
        recorded_at=view.recorded_at,
        request_id=view.request_id,
        client_address=view.client_address,
        principal_id=view.principal_id,
        department_code=view.department_code,
        department_name=view.department_name,
        role=view.role,
        action=view.action,
        outcome=AccessOutcome(view.outcome),
        applicant_id_number=view.applicant_ref,
        object_ref=view.object_ref,
        fields=list(view.fields),
        material_types=list(view.material_types),
        purpose=view.purpose,
        reason=view.reason,
    )


@strawberry.type
class AccessLogEntryEdge:
    cursor: str
    node: AccessLogEntry


@strawberry.type(description="A page of access-log entries, newest first (Relay cursor connection).")
class AccessLogEntryConnection:
    edges: list[AccessLogEntryEdge]
    page_info: PageInfo


@strawberry.input(description="Every given filter must match.")
class AccessLogFilter:
    applicant_id_number: str | None = None
    department_code: str | None = None
    principal_id: int | None = None
    purpose: str | None = None
    action: str | None = None
    outcome: AccessOutcome | None = None
    since: datetime | None = strawberry.field(default=None, description="Recorded at or after.")
    until: datetime | None = strawberry.field(default=None, description="Recorded before.")


@strawberry.type(description="A department's read of an applicant's data: who, why and when.")
class DataAccess:
    recorded_at: datetime
    department_code: str
    department_name: str
    purpose: str
    action: str
    fields: list[str]
    material_types: list[str]


@strawberry.type
class DataAccessEdge:
    cursor: str
    node: DataAccess


@strawberry.type(description="Who read an applicant's data, newest first.")
class DataAccessConnection:
    edges: list[DataAccessEdge]
    page_info: PageInfo


@strawberry.type(description="Entries by department, action and outcome.")
class AccessCount:
    department_code: str
    action: str
    outcome: AccessOutcome
    count: int


@strawberry.type(description="A signed checkpoint: C2SP tlog-checkpoint in a signed note (Ed25519).")
class Checkpoint:
    tree_size: int
    root_hash: str = strawberry.field(description="Base64 SHA-256 Merkle tree head (RFC 9162).")
    signed_at: datetime
    key_ids: list[str] = strawberry.field(description="The hub keyring ids of the signing keys.")
    note: str = strawberry.field(description="The signed note text, as transparency-log tools read it.")


def checkpoint_of(signed: log.SignedCheckpoint) -> Checkpoint:
    return Checkpoint(
        tree_size=signed.tree_size,
        root_hash=b64(signed.root_hash),
        signed_at=signed.signed_at,
        key_ids=list(signed.key_ids),
        note=signed.note,
    )


@strawberry.type(description="RFC 9162 inclusion proof of one entry in a checkpoint.")
class InclusionProof:
    seq: int
    leaf_index: int = strawberry.field(description="seq - 1.")
    tree_size: int
    entry: str = strawberry.field(description="The entry's canonical bytes (docs/audit-log.md).")
    leaf_hash: str = strawberry.field(description="Base64 SHA-256(0x00 || entry).")
    hashes: list[str] = strawberry.field(description="Base64 audit path, leaf first.")
    checkpoint: Checkpoint


@strawberry.type(description="RFC 9162 consistency proof: the older tree is a prefix of the newer.")
class ConsistencyProof:
    old_size: int
    new_size: int
    hashes: list[str] = strawberry.field(description="Base64 proof hashes, deepest first.")
    old_checkpoint: Checkpoint | None
    new_checkpoint: Checkpoint


@strawberry.type
class AuditQuery:
    @typed.field(description="Auditors: search the access log.")
    async def access_log(
        self, info: Info, filter: AccessLogFilter | None = None, first: int = 20, after: str | None = None
    ) -> AccessLogEntryConnection:
        given = filter or AccessLogFilter()
        query = log.EntryQuery(
            applicant=given.applicant_id_number,
            department=given.department_code,
            principal_id=given.principal_id,
            purpose=given.purpose,
            action=given.action,
            outcome=given.outcome.value if given.outcome else None,
            since=given.since,
            until=given.until,
        )
        page = await log.search_entries(info.context.hub, query, first=first, after=after)
        edges = [AccessLogEntryEdge(cursor=log.encode_cursor(v.seq), node=entry_of(v)) for v in page.items]
        return AccessLogEntryConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=edges[-1].cursor if edges else None),
        )

    @typed.field(description="Auditors: entry counts by department, action and outcome.")
    async def access_statistics(
        self, info: Info, since: datetime | None = None, until: datetime | None = None
    ) -> list[AccessCount]:
        rows = await log.statistics(info.context.hub, since, until)
        return [
            AccessCount(
                department_code=r.department_code, action=r.action, outcome=AccessOutcome(r.outcome), count=r.count
            )
            for r in rows
        ]

    @typed.field(description="Auditors: the latest signed checkpoint (signing one now if the log grew).")
    async def latest_checkpoint(self, info: Info) -> Checkpoint:
        return checkpoint_of(await log.latest_checkpoint(info.context.hub))

    @typed.field(
        description="Auditors: inclusion proof of entry `seq` in the checkpoint of `treeSize` (default: latest)."
    )
    async def inclusion_proof(self, info: Info, seq: int, tree_size: int | None = None) -> InclusionProof:
        proof = await log.inclusion_proof(info.context.hub, seq, tree_size)
        return InclusionProof(
            seq=proof.seq,
            leaf_index=proof.leaf_index,
            tree_size=proof.tree_size,
            entry=proof.entry.decode("utf-8"),
            leaf_hash=b64(proof.leaf_hash),
            hashes=[b64(h) for h in proof.hashes],
            checkpoint=checkpoint_of(proof.checkpoint),
        )

    @typed.field(
        description="Auditors: consistency proof from tree size `oldSize` to the checkpoint of `newSize` (default: latest)."
    )
    async def consistency_proof(self, info: Info, old_size: int, new_size: int | None = None) -> ConsistencyProof:
        proof = await log.consistency_proof(info.context.hub, old_size, new_size)
        return ConsistencyProof(
            old_size=proof.old_size,
            new_size=proof.new_size,
            hashes=[b64(h) for h in proof.hashes],
            old_checkpoint=checkpoint_of(proof.old_checkpoint) if proof.old_checkpoint else None,
            new_checkpoint=checkpoint_of(proof.new_checkpoint),
        )

    @typed.field(
        description="Who read an applicant's data: an applicant asks about themselves (no idNumber); "
        "a clerk at the window asks on the applicant's behalf (idNumber)."
    )
    async def who_read_my_data(
        self, info: Info, id_number: str | None = None, first: int = 20, after: str | None = None
    ) -> DataAccessConnection:
        page = await log.access_history(info.context.hub, id_number, first=first, after=after)
        edges = [
            DataAccessEdge(
                cursor=log.encode_cursor(v.seq),
                node=DataAccess(
                    recorded_at=v.recorded_at,
                    department_code=v.department_code,
                    department_name=v.department_name,
                    purpose=v.purpose,
                    action=v.action,
                    fields=list(v.fields),
                    material_types=list(v.material_types),
                ),
            )
            for v in page.items
        ]
        return DataAccessConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=edges[-1].cursor if edges else None),
        )
