"""What the case stories share: a catalogue, a fixed date, materials on file, GraphQL documents."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any

from stdnum.cn import ric

from hub.access.context import Hub
from hub.calendar.workdays import CHINA
from hub.catalog.catalogue import load_catalog
from hub.documents import materials
from tests.support import Actor, GraphQLClient

PDF = b"%PDF-1.7\n"

# 二手房交易: one bundle, four departments (land and planning, housing, tax, a bank).
ESTATE_CATALOG = """
departments:
  - {code: gaj, name: 公安局}
  - {code: yh, name: 建设银行大州分行}
material_types:
  - {code: sfz, name: 居民身份证, issuing_department: gaj, valid_days: 3650}
  - {code: bdcqz, name: 不动产权证书, issuing_department: zrzy}
  - {code: gfht, name: 房屋买卖合同}
  - {code: hyzm, name: 婚姻状况证明, issuing_department: rsj, valid_days: 90}
  - {code: dkht, name: 借款合同}
  - {code: wszm, name: 完税证明, issuing_department: sw}
service_items:
  - code: zrzy-zydj
    name: 不动产转移登记
    lead_department: zrzy
    statutory_days: 30
    promised_days: 5
    materials: [{type: sfz}, {type: bdcqz}, {type: gfht}]
  - code: zjj-wqba
    name: 存量房网签备案
    lead_department: zjj
    statutory_days: 10
    promised_days: 3
    silence_is_consent: true
    materials: [{type: sfz}, {type: gfht}, {type: bdcqz}]
  - code: sw-clfns
    name: 存量房交易纳税申报
    lead_department: sw
    statutory_days: 15
    promised_days: 3
    materials: [{type: sfz}, {type: gfht}, {type: hyzm, key: false}]
  - code: yh-dkdy
    name: 二手房抵押贷款
    lead_department: yh
    statutory_days: 20
    promised_days: 5
    materials: [{type: sfz}, {type: dkht, key: false}]
legal_bases:
  - code: lost-card
    department: gaj
    description: 居民身份证挂失
    material_types: [sfz]
"""

ESTATE_ITEMS = ["zrzy-zydj", "zjj-wqba", "sw-clfns", "yh-dkdy"]


def resident_id(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


def enterprise_code(first17: str) -> str:
    from stdnum.cn import uscc

    return first17 + uscc.calc_check_digit(first17)


async def load(hub: Hub, text: str, name: str = "catalog.yaml") -> int:
    async with hub.sessions() as session:
        summary = await load_catalog(session, text, name)
        await session.commit()
    return summary.version_id


def at(hub: Hub, day: date, clock: time = time(9, 30)) -> datetime:
    """Run the hub on this China date and time from now on."""
    moment = datetime.combine(day, clock, tzinfo=CHINA)
    hub.clock = lambda: moment
    return moment


async def on_file(
    actor: Actor,
    id_number: str,
    type_code: str,
    *,
    title: str = "",
    issued_on: date | None = None,
    valid_until: date | None = None,
    content: bytes | None = None,
) -> materials.MaterialDetail:
    """A material the hub already holds, stored through the document store's own use case."""
    ctx = await actor.context(purpose="task:材料归集")
    try:
        return await materials.upload_material(
            ctx,
            materials.NewMaterial(
                applicant_id_number=id_number,
                type_code=type_code,
                title=title or type_code,
                issued_on=issued_on,
                valid_until=valid_until,
            ),
            materials.FileUpload.of_bytes(
                content or PDF + f"{id_number} {type_code} {title}".encode(), f"{type_code}.pdf", "application/pdf"
            ),
        )
    finally:
        await ctx.close()


async def register(client: GraphQLClient, clerk: Actor, id_number: str, name: str, kind: str = "PERSON") -> None:
    await client.execute(
        "mutation($i: RegisterApplicantInput!) { registerApplicant(input: $i) { idNumber } }",
        {"i": {"kind": kind, "idNumber": id_number, "name": name}},
        token=clerk.token,
    )


CASE_FIELDS = """
  receiptNumber status outcome window catalogVersion openedAt acceptedAt completedAt overdue overduePromises
  applicant { idNumber name }
  windowDepartment { code }
  departments { code }
  items { item { code }
          promisedDeadline { workingDays dueOn remainingWorkingDays overdue provisional pausedWorkingDays }
          statutoryDeadline { dueOn overdue provisional } }
  materials { materialType { code } isKey requiredBy origin promisedOn promiseOverdue attachedAt
              pinned { materialId materialVersionId versionNo title fileName validUntil } }
  reviews { department { code } itemCodes assignedAt state workingDaysSpent paused
            deadline { workingDays dueOn remainingWorkingDays overdue provisional pausedWorkingDays }
            opinions { revision decision comments fixDueOn fromMinutes }
            pauses { reason startedAt endedAt note workingDays } }
  minutes { heldOn summary opinions { department { code } decision comments fixDueOn } }
  results { materialType { code } issuingDepartment { code } issuedOn material { materialId materialVersionId title validUntil } }
  reuse { reused uploaded promised ratio }
"""

NOTICE = """
query($items: [String!]!, $id: String, $version: Int) {
  oneTimeNotice(items: $items, idNumber: $id, catalogVersion: $version) {
    catalogVersion issuedOn toHandIn items { code }
    entries { materialType { code } isKey requiredBy neededUntil holding
              onFile { materialId materialVersionId title validUntil status } }
  }
}"""

OPEN = "mutation($i: OpenCaseInput!) { openCase(input: $i) { %s } }" % CASE_FIELDS
ATTACH = "mutation($i: AttachMaterialInput!) { attachMaterial(input: $i) { %s } }" % CASE_FIELDS
PROMISE = "mutation($i: PromiseMaterialInput!) { promiseMaterial(input: $i) { %s } }" % CASE_FIELDS
ACCEPT = "mutation($r: String!) { acceptCase(receiptNumber: $r) { %s } }" % CASE_FIELDS
OPINION = "mutation($i: RecordOpinionInput!) { recordOpinion(input: $i) { %s } }" % CASE_FIELDS
MINUTES = "mutation($i: RecordMinutesInput!) { recordReviewMinutes(input: $i) { %s } }" % CASE_FIELDS
CASE = "query($r: String!) { case(receiptNumber: $r) { %s } }" % CASE_FIELDS
UPLOAD = "mutation($i: UploadCaseMaterialInput!) { uploadCaseMaterial(input: $i) { %s } }" % CASE_FIELDS
COMPLETE = "mutation($r: String!) { completeCase(receiptNumber: $r) { %s } }" % CASE_FIELDS
ISSUE = "mutation($i: IssueResultInput!) { issueResult(input: $i) { %s } }" % CASE_FIELDS


async def multipart(
    client: GraphQLClient,
    query: str,
    variables: dict[str, Any],
    files: dict[str, tuple[str, bytes, str]],
    *,
    token: str,
    purpose: str | None = None,
) -> dict[str, Any]:
    """A GraphQL multipart request (the spec Apollo and strawberry follow): files mapped to variable paths."""
    operations = json.dumps({"query": query, "variables": variables})
    mapping = json.dumps({str(n): [path] for n, path in enumerate(files)})
    parts = {str(n): content for n, content in enumerate(files.values())}
    headers = {"Authorization": f"Bearer {token}", "Apollo-Require-Preflight": "1"}
    if purpose:
        headers["X-Hub-Purpose"] = purpose
    response = await client.http.post(
        "/graphql", data={"operations": operations, "map": mapping}, files=parts, headers=headers
    )
    return response.json()


async def hand_in(
    client: GraphQLClient, clerk: Actor, receipt: str, type_code: str, title: str, content: bytes | None = None
) -> dict[str, Any]:
    """The applicant hands a new material in at the window; returns the case."""
    body = await multipart(
        client,
        UPLOAD,
        {
            "i": {
                "receiptNumber": receipt,
                "materialType": type_code,
                "title": title,
                "file": None,
                "contentType": "application/pdf",
            }
        },
        {"variables.i.file": (f"{title}.pdf", content or PDF + f"{receipt} {type_code}".encode(), "application/pdf")},
        token=clerk.token,
    )
    assert not body.get("errors"), body
    return body["data"]["uploadCaseMaterial"]


def by_code(entries: list[dict[str, Any]], key: str = "materialType") -> dict[str, dict[str, Any]]:
    return {entry[key]["code"]: entry for entry in entries}


async def issue(
    client: GraphQLClient, department: Actor, receipt: str, type_code: str, title: str, issuer: str, **extra: Any
) -> dict[str, Any]:
    """A department issues its result (a licence, a certificate) for the case; returns the case."""
    variables = {
        "i": {
            "receiptNumber": receipt,
            "materialType": type_code,
            "title": title,
            "issuingDepartment": issuer,
            "file": None,
            "contentType": "application/pdf",
            **extra,
        }
    }
    body = await multipart(
        client,
        ISSUE,
        variables,
        {"variables.i.file": (f"{title}.pdf", PDF + f"{receipt} {title}".encode(), "application/pdf")},
        token=department.token,
        purpose=f"case:{receipt}",
    )
    assert not body.get("errors"), body
    return body["data"]["issueResult"]
