"""Whatever a hostile client sends, the answer is a 4xx in the JSON error shape, never a 500.

Each request here once reached a traceback (a 500, or INTERNAL_SERVER_ERROR inside a 200): deep
JSON, bytes that are not UTF-8, a NUL that PostgreSQL refuses, multipart parts the GraphQL
multipart spec does not allow, a body larger than anything the hub accepts.
"""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import func, select

from storage.models import Applicant
from tests.support.materials import PREFLIGHT, UPLOAD, counts, load_material_types, pdf, register, resident_id

PERSON = resident_id(21)
REGISTER = "mutation($name: String!) { registerApplicant(input: {kind: PERSON, idNumber: $id, name: $name}) { name } }"
REGISTER = REGISTER.replace("$id", f'"{PERSON}"')


def _refused(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == code, error
    return error


def _json_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


async def _applicants(hub) -> int:
    async with hub.sessions() as session:
        return (await session.execute(select(func.count()).select_from(Applicant))).scalar_one()


# Bodies the JSON reader cannot take


async def test_deeply_nested_json_variables_are_a_malformed_request(client, clerk) -> None:
    deep = '{"query": "{ viewer { name } }", "variables": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    response = await client.http.post("/graphql", content=deep, headers=_json_headers(clerk.token))
    _refused(response, 400, "MALFORMED_REQUEST")


async def test_a_body_that_is_not_utf8_or_not_json_is_a_malformed_request(client, clerk) -> None:
    for body in (b'{"query": "\xff\xfe"}', b"[1, 2", b'{"query": 1}', b'"just a string"'):
        response = await client.http.post("/graphql", content=body, headers=_json_headers(clerk.token))
        assert response.status_code == 400, (body, response.text)
        assert response.json()["errors"][0]["extensions"]["code"] == "MALFORMED_REQUEST"


async def test_an_unsupported_content_type_is_a_malformed_request(client, clerk) -> None:
    headers = {"Authorization": f"Bearer {clerk.token}", "Content-Type": "application/xml", **PREFLIGHT}
    response = await client.http.post("/graphql", content=b"<query/>", headers=headers)
    _refused(response, 400, "MALFORMED_REQUEST")


# Sizes


async def test_a_json_body_over_the_limit_is_refused_from_its_length_or_as_it_arrives(hub, client, clerk) -> None:
    hub.settings.max_json_body_bytes = 10_000
    big = json.dumps({"query": REGISTER, "variables": {"name": "张" * 20_000}}).encode()
    declared = await client.http.post("/graphql", content=big, headers=_json_headers(clerk.token))
    assert _refused(declared, 413, "PAYLOAD_TOO_LARGE")["extensions"]["limit"] == 10_000

    async def chunks():  # no Content-Length: counted as it comes
        for start in range(0, len(big), 4096):
            yield big[start : start + 4096]

    streamed = await client.http.post("/graphql", content=chunks(), headers=_json_headers(clerk.token))
    _refused(streamed, 413, "PAYLOAD_TOO_LARGE")
    assert await _applicants(hub) == 0


# Control characters


@pytest.mark.parametrize("name", ["张\x00三", "张\x1b[2J三", "张\x08三", "\ud800"])
async def test_control_characters_in_variables_are_refused_before_any_write(hub, client, clerk, name) -> None:
    """NUL gave INTERNAL_SERVER_ERROR on PostgreSQL; an escape sequence would reach terminals via logs."""
    body = json.dumps({"query": REGISTER, "variables": {"name": name}})
    response = await client.http.post("/graphql", content=body, headers=_json_headers(clerk.token))
    _refused(response, 400, "BAD_USER_INPUT")
    assert await _applicants(hub) == 0


async def test_control_characters_in_document_literals_are_refused(hub, client, clerk) -> None:
    literal = REGISTER.replace("mutation($name: String!)", "mutation").replace("$name", '"张\\u0000三"')
    _refused(await client.post(literal, token=clerk.token), 400, "BAD_USER_INPUT")
    nested = '{ applicants(name: "x", namePrefix: "\\u0001") { edges { cursor } } }'
    _refused(await client.post(nested, token=clerk.token), 400, "BAD_USER_INPUT")
    assert await _applicants(hub) == 0


async def test_tabs_and_newlines_stay_allowed_in_free_text(client, clerk) -> None:
    assert (await client.execute(REGISTER, {"name": "张三"}, token=clerk.token))["registerApplicant"]["name"] == "张三"
    record = (
        "mutation($v: String!) { recordProfileField(input: "
        f'{{idNumber: "{PERSON}", field: "address", value: $v}}) {{ value }} }}'
    )
    address = "北京市海淀区\n中关村大街1号\t3层"
    assert (await client.execute(record, {"v": address}, token=clerk.token))["recordProfileField"]["value"] == address


# Multipart bodies outside the GraphQL multipart request spec


def _upload_fields(file_path: str = "variables.input.file") -> dict[str, str]:
    variables = {"input": {"idNumber": PERSON, "typeCode": "id_card", "file": None}}
    return {"operations": json.dumps({"query": UPLOAD, "variables": variables}), "map": json.dumps({"0": [file_path]})}


@pytest.fixture
async def registered(hub, client, clerk) -> None:
    await load_material_types(hub)
    await register(client, clerk, PERSON, "张三")


def _multipart(parts: list[tuple[str, bytes]], boundary: str = "hubboundary") -> tuple[bytes, str]:
    body = b"".join(f"--{boundary}\r\n".encode() + head.encode() + b"\r\n\r\n" + data + b"\r\n" for head, data in parts)
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


async def _post_multipart(client, clerk, parts: list[tuple[str, bytes]]) -> httpx.Response:
    body, content_type = _multipart(parts)
    headers = {"Authorization": f"Bearer {clerk.token}", "Content-Type": content_type, **PREFLIGHT}
    return await client.http.post("/graphql", content=body, headers=headers)


def _field_parts() -> list[tuple[str, bytes]]:
    fields = _upload_fields()
    return [(f'Content-Disposition: form-data; name="{name}"', value.encode()) for name, value in fields.items()]


async def test_a_file_part_without_a_filename_is_a_malformed_request(hub, client, clerk, registered) -> None:
    parts = [*_field_parts(), ('Content-Disposition: form-data; name="0"\r\nContent-Type: application/pdf', pdf())]
    _refused(await _post_multipart(client, clerk, parts), 400, "MALFORMED_REQUEST")
    assert await counts(hub) == (0, 0, 0)


async def test_a_part_header_too_long_is_a_malformed_request(hub, client, clerk, registered) -> None:
    long_header = 'Content-Disposition: form-data; name="0"; filename="a.pdf"\r\nX-Padding: ' + "a" * 2_000_000
    parts = [*_field_parts(), (long_header, pdf())]
    _refused(await _post_multipart(client, clerk, parts), 400, "MALFORMED_REQUEST")
    assert await counts(hub) == (0, 0, 0)


async def test_the_file_variable_sent_as_a_string_is_bad_user_input(hub, client, clerk, registered) -> None:
    variables = {"input": {"idNumber": PERSON, "typeCode": "id_card", "file": "JVBERi0xLjQK"}}
    response = await client.post(UPLOAD, variables, token=clerk.token)
    assert response.status_code == 200  # refused by the resolver, inside GraphQL
    assert response.json()["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "file"}
    assert await counts(hub) == (0, 0, 0)


def _file_part(name: str = "0") -> tuple[str, bytes]:
    return (f'Content-Disposition: form-data; name="{name}"; filename="a.pdf"\r\nContent-Type: application/pdf', pdf())


@pytest.mark.parametrize(
    ("operations", "files_map"),
    [
        ("not json", '{"0": ["variables.input.file"]}'),
        ('"a string"', '{"0": ["variables.input.file"]}'),
        (None, '["variables.input.file"]'),
        (None, '{"0": [1]}'),
        (None, '{"0": "variables.input.file"}'),
        (None, '{"0": ["variables.nowhere.file"]}'),
        (None, '{"0": ["variables.input.file.0.1"]}'),
        (None, '{"1": ["variables.input.file"]}'),
    ],
    ids=[
        "operations-not-json",
        "operations-a-string",
        "map-a-list",
        "path-a-number",
        "paths-a-string",
        "path-to-nowhere",
        "path-through-a-value",
        "map-names-a-missing-part",
    ],
)
async def test_a_map_or_operations_outside_the_spec_is_a_malformed_request(
    hub, client, clerk, registered, operations, files_map
) -> None:
    fields = _upload_fields()
    parts = [
        ('Content-Disposition: form-data; name="operations"', (operations or fields["operations"]).encode()),
        ('Content-Disposition: form-data; name="map"', files_map.encode()),
        _file_part(),
    ]
    _refused(await _post_multipart(client, clerk, parts), 400, "MALFORMED_REQUEST")
    assert await counts(hub) == (0, 0, 0)


async def test_a_multipart_body_without_boundary_or_end_is_a_malformed_request(client, clerk, registered) -> None:
    headers = {"Authorization": f"Bearer {clerk.token}", **PREFLIGHT}
    no_boundary = await client.http.post(
        "/graphql", content=b"--x\r\n", headers={**headers, "Content-Type": "multipart/form-data"}
    )
    _refused(no_boundary, 400, "MALFORMED_REQUEST")
    body, content_type = _multipart([*_field_parts(), _file_part()])
    truncated = await client.http.post(
        "/graphql", content=body[: len(body) // 2], headers={**headers, "Content-Type": content_type}
    )
    _refused(truncated, 400, "MALFORMED_REQUEST")


@pytest.mark.parametrize("day", ["2026-02-30", "户籍核查", "-1", " "])
async def test_a_variable_the_schema_cannot_take_is_bad_user_input_not_an_internal_error(client, clerk, day) -> None:
    """Found by bench/fuzz.py: an invalid Date variable, or null for a required one, was masked as
    INTERNAL_SERVER_ERROR; it is the caller's mistake, told before anything runs."""
    query = (
        "query($d: Date, $id: String!) { applicant(idNumber: $id) { priorSubmissions(openedFrom: $d) { __typename } } }"
    )
    answer = await client.post(query, {"d": day, "id": PERSON}, token=clerk.token)
    error = answer.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "Variable '$d'" in error["message"]
    missing = await client.post(query, {"d": None, "id": None}, token=clerk.token)
    assert missing.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
