"""Demo materials and cases, so a clerk's first query shows an applicant's whole story.

Unlike the bulk load of applicants (hub/demo/load.py), these go through the same use cases as the API,
acting as the demo clerk and the departments' systems: the store encrypts and deduplicates the
files, the cases get real receipt numbers and review tasks, and the access log records it all.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from hub.access.auth import Caller, Role
from hub.access.context import Hub, RequestContext
from hub.cases.completion import complete_case
from hub.cases.intake import accept_case, attach_existing, open_case, promise_material
from hub.cases.reviews import OpinionInput, record_opinion
from hub.documents.materials import FileUpload, NewMaterial, upload_material
from storage.models import Applicant, Department, Principal
from storage.models.cases import Decision

WINDOWS = ("综合窗口 1", "综合窗口 3", "综合窗口 5", "企业开办专窗")

# What each demo story hands in: service item, then (material type, file title) per key material.
PERSON_STORY = (
    "SB-001",
    [("id-card", "居民身份证（正反面）"), ("employee-file", "职工人事档案"), ("retirement-form", "职工退休审批表")],
    "photo",
)
ENTERPRISE_STORY = (
    "QY-002",
    [
        ("business-licence", "营业执照（副本）"),
        ("articles", "公司章程修正案"),
        ("legal-rep-proof", "法定代表人身份证明"),
    ],
    None,
)


@dataclass(frozen=True)
class DemoCasesSummary:
    materials: int
    cases: int
    completed: int

    def __str__(self) -> str:
        return f"demo cases: {self.cases} cases ({self.completed} completed) with {self.materials} materials"


def demo_pdf(*lines: str) -> bytes:
    """A small, valid one-page PDF whose text names the applicant and the document."""
    text = " ".join(line.encode("unicode_escape").decode("ascii") for line in lines).replace("(", "[").replace(")", "]")
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# Three-level halls: the first person's retirement papers are handed in at a township window (龙泉街道),
# decided by the county's 人社局 (decide_level: county), and collected at the village station (就近办).
TOWNSHIP_WINDOW = "lq-bmfw"
COLLECT_AT = "xiangshan"


async def _callers(hub: Hub) -> tuple[Caller, Caller, dict[str, Caller]]:
    """The demo clerk, the township's clerk, and each department's system, as callers of the use cases."""
    async with hub.sessions() as session:
        rows = await session.execute(
            select(Principal, Department.code)
            .join(Department, Department.id == Principal.department_id)
            .where(Principal.revoked_at.is_(None), Principal.role.in_([Role.CLERK.value, Role.DEPARTMENT_SYSTEM.value]))
            .order_by(Principal.id)
        )
        callers = [Caller(p.id, p.name, Role(p.role), p.department_id, code) for p, code in rows]
    clerk = next(c for c in callers if c.role is Role.CLERK)
    township = next(c for c in callers if c.role is Role.CLERK and c.department_code == TOWNSHIP_WINDOW)
    return clerk, township, {c.department_code: c for c in callers if c.role is Role.DEPARTMENT_SYSTEM}


async def _as(hub: Hub, caller: Caller, purpose: str | None = None) -> RequestContext:
    return RequestContext(hub, caller, purpose=purpose, request_id="demo")


async def load_demo_cases(hub: Hub, *, applicants: int = 30, seed: int = 20261123) -> DemoCasesSummary:
    """Materials and a case for the first demo applicants: accepted, reviewed, some completed."""
    chooser = random.Random(seed)
    clerk, township, systems = await _callers(hub)
    async with hub.sessions() as session:
        people = list((await session.execute(select(Applicant).order_by(Applicant.id).limit(applicants))).scalars())
    at_township = next((p.id for p in people if p.kind == "person"), None)
    materials = cases = completed = 0
    for applicant in people:
        item, handed_in, promised = PERSON_STORY if applicant.kind == "person" else ENTERPRISE_STORY
        near = applicant.id == at_township
        ctx = await _as(hub, township if near else clerk)
        try:
            version_ids = []
            for type_code, title in handed_in:
                pdf = demo_pdf(applicant.id_number, type_code, title)
                # One commit per file: the store reserves each blob in a transaction of its own.
                detail = await upload_material(
                    ctx,
                    NewMaterial(
                        applicant.id_number, type_code, title=title, issued_on=date.today() - timedelta(days=30)
                    ),
                    FileUpload.of_bytes(pdf, f"{title}.pdf", "application/pdf"),
                )
                version_ids.append(detail.current_version.id)
                materials += 1
            window = "综合窗口 1" if near else chooser.choice(WINDOWS)
            view = await open_case(ctx, applicant.id_number, [item], window, collect_at=COLLECT_AT if near else None)
            receipt = view.receipt_number
            for version_id in version_ids:
                await attach_existing(ctx, receipt, version_id)
            if promised:
                await promise_material(ctx, receipt, promised, date.today() + timedelta(days=7))
            view = await accept_case(ctx, receipt)
            cases += 1
        finally:
            await ctx.close()
        if near:
            # Decided at the county while the township waits for the promised photo.
            await _approve(hub, systems, view.departments, receipt)
        if promised or chooser.random() < 0.5:
            continue  # left open: a promise to keep, or departments still reviewing
        await _approve(hub, systems, view.departments, receipt)
        ctx = await _as(hub, clerk)
        try:
            await complete_case(ctx, receipt)
            completed += 1
        finally:
            await ctx.close()
    return DemoCasesSummary(materials, cases, completed)


async def _approve(hub: Hub, systems: dict[str, Caller], departments: Sequence[Department], receipt: str) -> None:
    for department in departments:
        review_ctx = await _as(hub, systems[department.code], purpose=f"case:{receipt}")
        try:
            await record_opinion(review_ctx, receipt, OpinionInput(Decision.APPROVE, "材料齐全，同意。"))
        finally:
            await review_ctx.close()
