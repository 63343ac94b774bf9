"""One set of materials: a clerk uploads once, departments find, read, download and revoke."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import unquote, urlsplit

import pytest
from sqlalchemy import event, select

from hub.access.auth import Role
from hub.documents.materials import today
from storage.models import AccessEntry
from tests.support import make_actor, open_visit
from tests.support.materials import (
    SUPERSEDE,
    counts,
    data_of,
    docx,
    error_code_of,
    jpeg,
    load_material_types,
    ofd,
    pdf,
    png,
    register,
    resident_id,
    stored_objects,
    tiff,
    upload,
)

PERSON = resident_id(1)
OTHER = resident_id(2)

LIST = """
query($id: String!, $types: [String!], $statuses: [MaterialStatus!]) {
  applicant(idNumber: $id) {
    materials(typeCodes: $types, statuses: $statuses) { id typeCode status validUntil }
  }
}
"""

MATERIAL = """
query($id: Int!) {
  material(id: $id) {
    id status title revokedReason
    versions { id versionNo fileName current downloadLink { url } }
  }
}
"""

REVOKE = """
mutation($input: RevokeMaterialInput!) { revokeMaterial(input: $input) { id status revokedReason revokedAt } }
"""


@pytest.fixture
async def applicants(hub, client, clerk):
    await load_material_types(hub)
    await register(client, clerk, PERSON, "张三")
    await register(client, clerk, OTHER, "李四")


def download_path(url: str) -> str:
    return urlsplit(url).path


async def test_a_clerk_uploads_an_id_card_scan_once_and_it_is_stored_encrypted(hub, client, clerk, applicants):
    scan = pdf()
    response = await upload(client, clerk, {"idNumber": PERSON, "typeCode": "id_card"}, scan, "张三身份证.pdf")
    material = data_of(response)["uploadMaterial"]

    assert material["status"] == "VALID"
    assert material["title"] == "居民身份证"
    assert material["validUntil"] == (today() + timedelta(days=3650)).isoformat()
    version = material["currentVersion"]
    assert (version["versionNo"], version["fileName"], version["contentType"]) == (
        1,
        "张三身份证.pdf",
        "application/pdf",
    )
    assert version["size"] == len(scan) and version["current"] is True
    # At rest the bytes are ciphertext: no part of the plaintext appears in the stored object.
    [name] = stored_objects(hub)
    stored = b"".join(hub.documents.store.read(name, 0, 10**9))
    assert scan[:64] not in stored and len(stored) > len(scan)


async def test_the_same_bytes_are_stored_once_for_any_number_of_applicants(hub, client, clerk, applicants):
    licence = pdf()
    for id_number in (PERSON, OTHER, PERSON):
        response = await upload(client, clerk, {"idNumber": id_number, "typeCode": "site_plan"}, licence)
        data_of(response)
    assert await counts(hub) == (3, 3, 1)
    assert len(stored_objects(hub)) == 1


async def test_every_accepted_file_type_is_recognised_from_its_first_bytes(hub, client, clerk, applicants):
    samples = [
        (pdf(), "a.pdf", "application/pdf"),
        (png(), "b.png", "image/png"),
        (jpeg(), "c.jpg", "image/jpeg"),
        (tiff(), "d.tiff", "image/tiff"),
        (ofd(), "e.ofd", "application/ofd"),
        (docx(), "f.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ]
    for data, name, content_type in samples:
        response = await upload(client, clerk, {"idNumber": PERSON, "typeCode": "id_card"}, data, name, content_type)
        version = data_of(response)["uploadMaterial"]["currentVersion"]
        assert (version["contentType"], version["fileName"]) == (content_type, name)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("invoice.html", "invoice.pdf"),
        ("发票.PDF", "发票.PDF"),
        ("scan", "scan.pdf"),
        ("report.pdf.exe", "report.pdf.pdf"),
        (".html", ".html.pdf"),
        ("x" * 253 + ".svg", "x" * 251 + ".pdf"),  # cut to 255 characters, extension included
    ],
)
async def test_a_file_keeps_a_name_whose_extension_matches_its_detected_type(
    hub, client, clerk, applicants, given, stored
):
    """A PDF named invoice.html would open as a web page on whoever downloads it."""
    response = await upload(client, clerk, {"idNumber": PERSON, "typeCode": "id_card"}, pdf(), given)
    version = data_of(response)["uploadMaterial"]["currentVersion"]
    assert version["fileName"] == stored and len(stored) <= 255
    download = await client.http.get(download_path(version["downloadLink"]["url"]))
    assert download.status_code == 200
    assert unquote(download.headers["content-disposition"].split("filename*=UTF-8''")[1]) == stored


@pytest.mark.parametrize(
    ("data", "content_type", "code"),
    [
        (b"", "application/pdf", "EMPTY_FILE"),
        (png(), "application/pdf", "FILE_TYPE_MISMATCH"),
        (b"just some text, not a document", "text/plain", "UNSUPPORTED_FILE_TYPE"),
        (b"PK\x03\x04 a zip that is not office", "application/zip", "UNSUPPORTED_FILE_TYPE"),
    ],
    ids=["empty", "png-declared-pdf", "text", "plain-zip"],
)
async def test_bad_files_are_refused_with_their_code_and_leave_nothing_behind(
    hub, client, clerk, applicants, data, content_type, code
):
    response = await upload(client, clerk, {"idNumber": PERSON, "typeCode": "id_card"}, data, "x", content_type)
    assert error_code_of(response) == code
    assert await counts(hub) == (0, 0, 0)
    assert stored_objects(hub) == []


async def test_a_file_over_the_size_limit_is_refused(hub, client, clerk, applicants):
    hub.settings.max_upload_bytes = 10_000
    response = await upload(client, clerk, {"idNumber": PERSON, "typeCode": "id_card"}, pdf(20_000))
    assert error_code_of(response) == "FILE_TOO_LARGE"
    assert response.json()["errors"][0]["extensions"]["limit"] == 10_000
    assert await counts(hub) == (0, 0, 0) and stored_objects(hub) == []


async def test_unknown_material_types_and_applicants_are_refused(hub, client, clerk, applicants):
    unknown_type = await upload(client, clerk, {"idNumber": PERSON, "typeCode": "no_such_type"}, pdf())
    assert error_code_of(unknown_type) == "UNKNOWN_MATERIAL_TYPE"
    unknown_person = await upload(client, clerk, {"idNumber": resident_id(3), "typeCode": "id_card"}, pdf())
    assert error_code_of(unknown_person) == "NOT_FOUND"
    assert await counts(hub) == (0, 0, 0) and stored_objects(hub) == []


async def test_a_truncated_multipart_body_is_refused_and_stores_nothing(hub, client, clerk, applicants):
    boundary = "hubboundary"
    operations = (
        '{"query": "mutation($input: UploadMaterialInput!) { uploadMaterial(input: $input) { id } }", '
        '"variables": {"input": {"idNumber": "%s", "typeCode": "id_card", "file": null}}}' % PERSON
    )
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{operations}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{{"0": ["variables.input.file"]}}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="a.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode() + pdf(100_000)  # the body stops here: no closing boundary
    response = await client.http.post(
        "/graphql",
        content=body,
        headers={
            "Authorization": f"Bearer {clerk.token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Apollo-Require-Preflight": "true",
        },
    )
    assert response.status_code == 400
    assert error_code_of(response) == "MALFORMED_REQUEST"
    assert await counts(hub) == (0, 0, 0) and stored_objects(hub) == []


async def test_multipart_and_get_requests_need_a_non_simple_header(hub, client, clerk, applicants):
    response = await upload(client, clerk, {"idNumber": PERSON, "typeCode": "id_card"}, pdf(), headers={})
    assert response.status_code == 400 and error_code_of(response) == "CSRF_PREFLIGHT_REQUIRED"
    assert await counts(hub) == (0, 0, 0) and stored_objects(hub) == []
    query = f'{{ applicant(idNumber: "{PERSON}") {{ materials {{ id }} }} }}'
    get = await client.http.get("/graphql", params={"query": query}, headers={"Authorization": f"Bearer {clerk.token}"})
    assert get.status_code == 400 and error_code_of(get) == "CSRF_PREFLIGHT_REQUIRED"
    allowed = await client.http.get(
        "/graphql",
        params={"query": query},
        headers={
            "Authorization": f"Bearer {clerk.token}",
            "X-Hub-Request": "1",
            "X-Hub-Purpose": await open_visit(client, clerk, PERSON),
        },
    )
    assert allowed.json()["data"]["applicant"]["materials"] == []


async def test_a_department_system_must_declare_a_purpose_and_the_log_names_the_material_type(
    hub, client, clerk, tax_system, applicants
):
    refused = await upload(client, tax_system, {"idNumber": PERSON, "typeCode": "tax_certificate"}, pdf())
    assert error_code_of(refused) == "FORBIDDEN"
    assert await counts(hub) == (0, 0, 0) and stored_objects(hub) == []
    accepted = await upload(
        client,
        tax_system,
        {"idNumber": PERSON, "typeCode": "tax_certificate"},
        pdf(),
        purpose="task:tax-certificate-archive",
    )
    material = data_of(accepted)["uploadMaterial"]
    assert material["issuingDepartmentCode"] == "sw"
    async with hub.sessions() as session:
        entries = (await session.execute(select(AccessEntry).where(AccessEntry.action == "material.upload"))).scalars()
        logged = [(e.outcome, e.material_types, e.purpose, e.applicant_ref) for e in entries]
    assert ("denied", "tax_certificate", "", PERSON) in logged
    assert ("allowed", "tax_certificate", "task:tax-certificate-archive", PERSON) in logged


async def test_materials_are_listed_by_type_and_status_and_expire_without_any_batch_job(hub, client, clerk, applicants):
    visit = await open_visit(client, clerk, PERSON)
    old_certificate = {"idNumber": PERSON, "typeCode": "tax_certificate", "issuedOn": "2020-01-01"}
    expired = data_of(await upload(client, clerk, old_certificate, pdf()))["uploadMaterial"]
    assert expired["validUntil"] == "2020-12-31" and expired["status"] == "EXPIRED"
    ends_today = {"idNumber": PERSON, "typeCode": "tax_certificate", "validUntil": today().isoformat()}
    still_valid = data_of(await upload(client, clerk, ends_today, pdf()))["uploadMaterial"]
    assert still_valid["status"] == "VALID"
    plan = data_of(await upload(client, clerk, {"idNumber": PERSON, "typeCode": "site_plan"}, pdf()))["uploadMaterial"]
    assert plan["validUntil"] is None

    async def listed(**variables) -> list[tuple[int, str]]:
        data = await client.execute(LIST, {"id": PERSON, **variables}, token=clerk.token, purpose=visit)
        return [(m["id"], m["status"]) for m in data["applicant"]["materials"]]

    assert await listed() == [(plan["id"], "VALID"), (still_valid["id"], "VALID"), (expired["id"], "EXPIRED")]
    assert await listed(types=["tax_certificate"], statuses=["VALID"]) == [(still_valid["id"], "VALID")]
    assert await listed(statuses=["EXPIRED"]) == [(expired["id"], "EXPIRED")]
    assert await listed(types=["id_card"]) == []


async def test_materials_of_many_applicants_cost_one_query(hub, client, clerk, tax_system, applicants):
    namesakes = [PERSON, resident_id(4), resident_id(5)]
    for number, id_number in enumerate(namesakes[1:]):
        await register(client, clerk, id_number, f"张{number}")
    for id_number in namesakes:
        data_of(await upload(client, clerk, {"idNumber": id_number, "typeCode": "id_card"}, pdf()))
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        if "FROM materials" in statement:
            statements.append(statement)

    event.listen(hub.engine.sync_engine, "before_cursor_execute", count)
    try:
        data = await client.execute(
            '{ applicants(namePrefix: "张", first: 10) { edges { node { idNumber materials(typeCodes: ["id_card"]) { id } } } } }',
            token=tax_system.token,
            purpose="basis:identity-materials",
        )
    finally:
        event.remove(hub.engine.sync_engine, "before_cursor_execute", count)
    edges = data["applicants"]["edges"]
    assert len(edges) == 3 and all(len(edge["node"]["materials"]) == 1 for edge in edges)
    assert len(statements) == 1


async def test_materials_with_their_versions_cost_one_query(hub, client, clerk, tax_system, applicants):
    namesake = resident_id(4)
    await register(client, clerk, namesake, "张四")
    first = data_of(await upload(client, clerk, {"idNumber": PERSON, "typeCode": "id_card"}, pdf()))["uploadMaterial"]
    visit = await open_visit(client, clerk, PERSON)
    data_of(await upload(client, clerk, {"materialId": first["id"]}, pdf(), "新.pdf", query=SUPERSEDE, purpose=visit))
    other = data_of(await upload(client, clerk, {"idNumber": namesake, "typeCode": "id_card"}, pdf()))["uploadMaterial"]
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        if "material_versions" in statement or "FROM materials" in statement:
            statements.append(statement)

    event.listen(hub.engine.sync_engine, "before_cursor_execute", count)
    try:
        data = await client.execute(
            """{ applicants(namePrefix: "张", first: 10) { edges { node { idNumber ...M } } } }
            fragment M on Applicant {
              materials(typeCodes: ["id_card"]) { id ... on Material { versions { versionNo current } } currentVersion { versionNo } }
            }""",
            token=tax_system.token,
            purpose="basis:identity-materials",
        )
    finally:
        event.remove(hub.engine.sync_engine, "before_cursor_execute", count)
    found = {e["node"]["idNumber"]: e["node"]["materials"] for e in data["applicants"]["edges"]}
    assert found[PERSON] == [
        {
            "id": first["id"],
            "versions": [{"versionNo": 2, "current": True}, {"versionNo": 1, "current": False}],
            "currentVersion": {"versionNo": 2},
        }
    ]
    assert found[namesake] == [
        {"id": other["id"], "versions": [{"versionNo": 1, "current": True}], "currentVersion": {"versionNo": 1}}
    ]
    assert len(statements) == 1


async def test_a_new_version_supersedes_the_old_one_which_stays_readable(hub, client, clerk, applicants):
    visit = await open_visit(client, clerk, PERSON)
    first_scan, second_scan = pdf(), pdf()
    created = data_of(await upload(client, clerk, {"idNumber": PERSON, "typeCode": "id_card"}, first_scan, "旧.pdf"))
    response = await upload(
        client,
        clerk,
        {"materialId": created["uploadMaterial"]["id"]},
        second_scan,
        "新.pdf",
        query=SUPERSEDE,
        purpose=visit,
    )
    material = data_of(response)["supersedeMaterial"]
    newest, oldest = material["versions"]
    assert (newest["versionNo"], newest["current"], newest["supersededAt"]) == (2, True, None)
    assert (oldest["versionNo"], oldest["current"]) == (1, False) and oldest["supersededAt"]
    assert material["status"] == "VALID"
    assert (await client.http.get(download_path(oldest["downloadLink"]["url"]))).content == first_scan
    assert (await client.http.get(download_path(newest["downloadLink"]["url"]))).content == second_scan


async def test_a_new_material_can_replace_an_older_one(hub, client, clerk, applicants):
    visit = await open_visit(client, clerk, PERSON)
    old = data_of(await upload(client, clerk, {"idNumber": PERSON, "typeCode": "id_card"}, pdf()))["uploadMaterial"]
    new = data_of(
        await upload(client, clerk, {"idNumber": PERSON, "typeCode": "id_card", "supersedes": old["id"]}, pdf())
    )["uploadMaterial"]
    replaced = (await client.execute(MATERIAL, {"id": old["id"]}, token=clerk.token, purpose=visit))["material"]
    assert replaced["status"] == "SUPERSEDED"
    again = await upload(client, clerk, {"idNumber": PERSON, "typeCode": "id_card", "supersedes": old["id"]}, pdf())
    assert error_code_of(again) == "MATERIAL_NOT_CURRENT"
    assert new["status"] == "VALID"


async def test_only_the_issuing_department_revokes_and_the_reason_is_recorded(
    hub, client, clerk, tax_system, applicants
):
    visit = await open_visit(client, clerk, PERSON)
    purpose = "basis:tax-certificate-check"
    certificate = data_of(
        await upload(client, tax_system, {"idNumber": PERSON, "typeCode": "tax_certificate"}, pdf(), purpose=purpose)
    )["uploadMaterial"]
    by_clerk = await client.post(
        REVOKE, {"input": {"materialId": certificate["id"], "reason": "错误"}}, token=clerk.token, purpose=visit
    )
    assert by_clerk.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    revoked = await client.execute(
        REVOKE,
        {"input": {"materialId": certificate["id"], "reason": "证明信息有误，已重新开具"}},
        token=tax_system.token,
        purpose=purpose,
    )
    assert revoked["revokeMaterial"]["status"] == "REVOKED"
    assert revoked["revokeMaterial"]["revokedReason"] == "证明信息有误，已重新开具"
    assert revoked["revokeMaterial"]["revokedAt"]
    read = (await client.execute(MATERIAL, {"id": certificate["id"]}, token=clerk.token, purpose=visit))["material"]
    assert read["status"] == "REVOKED" and read["revokedReason"] == "证明信息有误，已重新开具"
    # A decision may rest on it: a revoked material stays readable, but takes no new version.
    assert (await client.http.get(download_path(read["versions"][0]["downloadLink"]["url"]))).status_code == 200
    supersede = await upload(
        client, tax_system, {"materialId": certificate["id"]}, pdf(), query=SUPERSEDE, purpose=purpose
    )
    assert error_code_of(supersede) == "MATERIAL_NOT_CURRENT"
    # Nor may anyone but its keeper learn that much.
    by_clerk = await upload(client, clerk, {"materialId": certificate["id"]}, pdf(), query=SUPERSEDE)
    assert error_code_of(by_clerk) == "FORBIDDEN"


async def test_a_material_without_an_issuer_is_revoked_by_the_department_that_uploaded_it(
    hub, client, clerk, applicants
):
    scan = data_of(await upload(client, clerk, {"idNumber": PERSON, "typeCode": "id_card"}, pdf()))["uploadMaterial"]
    other_clerk = await make_actor(hub, Role.CLERK, "bdc", "不动产窗口")
    refused = await client.post(REVOKE, {"input": {"materialId": scan["id"], "reason": "x"}}, token=other_clerk.token)
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    empty_reason = await client.post(REVOKE, {"input": {"materialId": scan["id"], "reason": "  "}}, token=clerk.token)
    assert empty_reason.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    done = await client.execute(
        REVOKE, {"input": {"materialId": scan["id"], "reason": "扫描件不清晰"}}, token=clerk.token
    )
    assert done["revokeMaterial"]["status"] == "REVOKED"


async def test_unknown_materials_are_not_found_and_the_attempt_is_logged(hub, client, clerk, tax_system, applicants):
    purpose = "basis:tax-certificate-check"
    assert await client.error_code(MATERIAL, {"id": 999}, token=tax_system.token, purpose=purpose) == "NOT_FOUND"
    # A clerk's visit covers its applicant only: a material of nobody known is outside it, and logged.
    visit = await open_visit(client, clerk, PERSON)
    outside = await client.error(MATERIAL, {"id": 999}, token=clerk.token, purpose=visit)
    assert outside["extensions"]["missing"] == "applicant"
    async with hub.sessions() as session:
        columns = (AccessEntry.action, AccessEntry.object_ref, AccessEntry.outcome, AccessEntry.reason)
        logged = (await session.execute(select(*columns))).all()
    assert ("material.read", "material:999", "refused", "NOT_FOUND") in [tuple(row) for row in logged]


async def test_dates_out_of_order_are_refused(hub, client, clerk, applicants):
    bad = {"idNumber": PERSON, "typeCode": "id_card", "issuedOn": "2026-01-02", "validUntil": "2026-01-01"}
    assert error_code_of(await upload(client, clerk, bad, pdf())) == "BAD_USER_INPUT"
    assert await counts(hub) == (0, 0, 0)


async def test_valid_until_defaults_from_the_issue_date(hub, client, clerk, applicants):
    given = {"idNumber": PERSON, "typeCode": "tax_certificate", "issuedOn": date(2026, 3, 1).isoformat()}
    material = data_of(await upload(client, clerk, given, pdf()))["uploadMaterial"]
    assert material["validUntil"] == (date(2026, 3, 1) + timedelta(days=365)).isoformat()


async def test_an_oversize_upload_is_refused_from_its_length_before_it_is_read(hub, client, clerk, applicants):
    hub.settings.max_upload_bytes = 10_000
    response = await upload(client, clerk, {"idNumber": PERSON, "typeCode": "id_card"}, pdf(1_200_000))
    assert response.status_code == 413 and error_code_of(response) == "FILE_TOO_LARGE"
    assert await counts(hub) == (0, 0, 0) and stored_objects(hub) == []


async def test_a_case_issues_its_result_as_a_material_through_the_hub_api(hub, client, clerk, tax_system, applicants):
    """What a case does when it completes: the result becomes a material other cases can reuse."""
    from hub.documents import materials

    ctx = await tax_system.context(purpose="task:tax-certificate-issue")
    try:
        issued = await materials.add_material(
            ctx,
            materials.NewMaterial(
                PERSON,
                "tax_certificate",
                "2026年度完税证明",
                issuing_department_code="sw",
                issued_on=date(2026, 11, 1),
                valid_until=date(2027, 10, 31),
            ),
            materials.FileUpload.of_bytes(pdf(), "完税证明.pdf", "application/pdf"),
        )
        await ctx.commit()
    finally:
        await ctx.close()
    assert (issued.material.issuing_department_code, issued.material.valid_until) == ("sw", date(2027, 10, 31))

    reader = await tax_system.context(purpose="basis:tax-certificate-check")
    try:
        [[found], []] = await materials.materials_of_applicants(
            reader,
            [await _record(reader, PERSON), await _record(reader, OTHER)],
            type_codes=["tax_certificate"],
            statuses=[materials.Status.VALID],
        )
        version_id = issued.current_version.id
        [pair, missing] = await materials.versions_by_ids(reader, [version_id, 999_999])
    finally:
        await reader.close()
    assert found.id == issued.material.id and missing is None
    assert (pair.material.id, pair.version.file_name, pair.version.content_type) == (
        issued.material.id,
        "完税证明.pdf",
        "application/pdf",
    )


async def _record(ctx, id_number: str):
    from hub.profiles.applicants import find_applicant

    return await find_applicant(ctx, id_number)


def _open_temporary_files() -> int:
    """Files this process holds open that were deleted from the file system (spooled uploads)."""
    import os

    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").endswith("(deleted)"):
                count += 1
        except OSError:
            continue
    return count


async def test_an_upload_spooled_to_disk_is_closed_when_the_request_ends(hub, client, clerk, applicants):
    before = _open_temporary_files()
    uploads = []  # keep the responses (and whatever they reference) alive, as a busy server would
    for _ in range(3):
        uploads.append(await upload(client, clerk, {"idNumber": PERSON, "typeCode": "id_card"}, pdf(2_500_000)))
        assert "errors" not in uploads[-1].json()
    assert _open_temporary_files() == before
