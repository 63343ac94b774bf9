"""The demo's first applicants come with materials and cases, so a clerk's first query tells a story."""

from __future__ import annotations

from sqlalchemy import select

from hub.demo.cases import demo_pdf, load_demo_cases
from hub.demo.load import load_demo
from hub.demo.tokens import demo_tokens
from hub.documents._filetypes import PDF, detect
from storage.models import Applicant
from tests.support import OPEN_VISIT

CLERK_QUERY = """
query($id: String!) {
  applicant(idNumber: $id) {
    name
    materials { typeCode status currentVersion { fileName contentType } }
    cases { receiptNumber status window items { item { code } } reuse { reused uploaded } }
  }
}"""


async def test_demo_cases_are_made_through_the_use_cases_and_read_back_by_a_clerk(hub, client) -> None:
    async with hub.sessions() as session:
        await load_demo(session, applicants=8, seed=5, if_empty=False)
        await session.commit()
    summary = await load_demo_cases(hub, applicants=4, seed=5)
    assert summary.cases == 4 and summary.materials >= 12
    async with hub.sessions() as session:
        tokens = {
            (i.role.value, i.department_code): i.token for i in await demo_tokens(session, hub.settings, rotate=True)
        }
        await session.commit()
    async with hub.sessions() as session:
        first_applicant = (await session.execute(select(Applicant).order_by(Applicant.id).limit(1))).scalar_one()
    clerk = tokens["clerk", "xzfw"]
    visit = (await client.execute(OPEN_VISIT, {"id": first_applicant.id_number}, token=clerk))["openVisit"]["purpose"]
    data = await client.execute(CLERK_QUERY, {"id": first_applicant.id_number}, token=clerk, purpose=visit)
    applicant = data["applicant"]
    assert len(applicant["materials"]) >= 3
    assert all(m["status"] == "VALID" and m["currentVersion"]["contentType"] == PDF for m in applicant["materials"])
    [case] = applicant["cases"]
    assert case["status"] in ("ACCEPTED", "COMPLETED")
    assert case["reuse"]["reused"] >= 3


def test_demo_documents_are_real_pdfs() -> None:
    import io

    assert detect(io.BytesIO(demo_pdf("11010519491231002X", "id-card", "居民身份证"))) == PDF
