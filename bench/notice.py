"""The one-time notice (联合一次性告知) for a bundle of 5 items, for an applicant holding 50 materials.

Against a trivial query (`{ viewer { name } }`, which still authenticates) on the same server in
the same run, on SQLite and PostgreSQL; and against a read that writes one access log entry as the
notice does (`applicant { name }`), to tell the notice's own cost from the log's. The bundle is the 5 items of the demo catalogue that need
the most material types; the applicant's 50 materials are uploaded through the GraphQL multipart
API beforehand: several of each type the bundle needs (some expired, so the notice has to choose)
and the rest of other types. The notice is measured twice: sent as text (the resolvers) and by
its id as a registered document (the compiled notice, docs/trusted-documents.md).

    python -m bench.notice          # HUB_BENCH_SECONDS=10 by default
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, timedelta
from pathlib import Path
from typing import TypedDict

import httpx

from bench.common import (
    DEMO_APPLICANTS,
    DEMO_SEED,
    LoadResult,
    graphql_body,
    graphql_once,
    load,
    postgres_database,
    print_table,
    running_hub,
    sqlite_database,
)
from hub.catalog.catalogue import parse_catalog
from hub.demo.load import CATALOG_FILE
from hub.demo.people import generate_applicants
from hub.identifiers import ApplicantKind

TRIVIAL = "{ viewer { name } }"
OPEN_VISIT = "mutation($id: String!) { openVisit(idNumber: $id) { purpose } }"
# A read that, like the notice, writes one access log entry: it separates the log's cost from the notice's.
LOGGED_READ = "query($id: String!) { applicant(idNumber: $id) { name } }"
NOTICE = """
query($items: [String!]!, $id: String!) {
  oneTimeNotice(items: $items, idNumber: $id) {
    catalogVersion toHandIn
    entries { materialType { code name } isKey requiredBy neededUntil holding
              onFile { materialId materialVersionId title validUntil } }
  }
}"""
NOTICE_ID = "sha256:" + hashlib.sha256(NOTICE.encode("utf-8")).hexdigest()
UPLOAD = "mutation($i: UploadMaterialInput!) { uploadMaterial(input: $i) { id } }"
BUNDLE_SIZE = 5
MATERIALS = 50
CONCURRENCY = 16


def bundle() -> tuple[list[str], list[str], list[str]]:
    """The 5 items needing the most material types; their types; the catalogue's other types."""
    catalog = parse_catalog(CATALOG_FILE.read_text(encoding="utf-8"), CATALOG_FILE.name)
    items = sorted(catalog.service_items, key=lambda item: (-len(item.materials), item.code))[:BUNDLE_SIZE]
    needed = sorted({m.type for item in items for m in item.materials})
    others = sorted({t.code for t in catalog.material_types} - set(needed))
    return [item.code for item in items], needed, others


def demo_person() -> str:
    """The first person of the demo (same seed as the server's demo, so it exists)."""
    return next(a for a in generate_applicants(DEMO_APPLICANTS, DEMO_SEED) if a.kind is ApplicantKind.PERSON).id_number


def materials_plan(needed: list[str], others: list[str]) -> list[tuple[str, date | None]]:
    """50 materials: each needed type three times (one expired), the rest of other types."""
    today = date.today()
    plan: list[tuple[str, date | None]] = []
    for code in needed:
        plan += [(code, today - timedelta(days=30)), (code, None), (code, today + timedelta(days=800))]
    plan = plan[:MATERIALS]
    while len(plan) < MATERIALS:
        plan.append((others[len(plan) % len(others)], None))
    return plan


class UploadRequest(TypedDict):
    """httpx's `data` and `files` of a multipart upload."""

    data: dict[str, str]
    files: dict[str, tuple[str, bytes, str]]


def upload_request(id_number: str, n: int, code: str, valid_until: date | None) -> UploadRequest:
    """The multipart form (`data`, `files`) uploading material n of the plan."""
    today = date.today()
    variables = {
        "i": {
            "idNumber": id_number,
            "typeCode": code,
            "title": f"{code} #{n}",
            "file": None,
            "issuedOn": (today - timedelta(days=400)).isoformat(),
            "validUntil": valid_until.isoformat() if valid_until else None,
        }
    }
    return {
        "data": {
            "operations": json.dumps({"query": UPLOAD, "variables": variables}),
            "map": json.dumps({"0": ["variables.i.file"]}),
        },
        "files": {"0": (f"{code}-{n}.pdf", b"%PDF-1.7\n" + f"{id_number} {n}".encode(), "application/pdf")},
    }


def upload_materials(url: str, token: str, id_number: str, needed: list[str], others: list[str]) -> None:
    with httpx.Client(timeout=30) as http:
        for n, (code, valid_until) in enumerate(materials_plan(needed, others)):
            form = upload_request(id_number, n, code, valid_until)
            response = http.post(
                url,
                data=form["data"],
                files=form["files"],
                headers={"Authorization": f"Bearer {token}", "Apollo-Require-Preflight": "1"},
            )
            answer = response.json()
            if answer.get("errors"):
                raise RuntimeError(f"upload failed: {answer['errors']}")


def register_notice(database_url: str, folder: Path) -> None:
    """The notice registered as a trusted document, so that it can be sent by its id."""
    from hub.compiled import registry
    from hub.services import in_session
    from hub.settings import Environment, Settings

    settings = Settings(
        environment=Environment.BENCHMARK,
        database_url=database_url,
        blob_url=f"file://{folder}/blobs",
        secrets_dir=folder / "secrets",
    )
    asyncio.run(in_session(settings, lambda session: registry.register(session, NOTICE, "bench")))


def measure(database: str, url_factory: Callable[[], AbstractContextManager[str]]) -> list[list[object]]:
    items, needed, others = bundle()
    id_number = demo_person()
    rows: list[list[object]] = []
    with url_factory() as url, running_hub(url) as hub, tempfile.TemporaryDirectory() as folder:
        token = hub.token("clerk", "xzfw")
        upload_materials(hub.url, token, id_number, needed, others)
        register_notice(url, Path(folder))
        headers = {"Authorization": f"Bearer {token}"}
        # What is on file is told to the clerk the applicant stands before: within a visit.
        visit = graphql_once(hub.url, graphql_body(OPEN_VISIT, {"id": id_number}), headers)["openVisit"]["purpose"]
        notice = f"notice ({len(items)} items, {len(needed)} types, {MATERIALS} materials)"
        variables = {"items": items, "id": id_number}
        window = {**headers, "X-Hub-Purpose": visit}
        bodies = {
            "trivial": (graphql_body(TRIVIAL), headers),
            "applicant name (1 log entry)": (graphql_body(LOGGED_READ, {"id": id_number}), headers),
            f"{notice}, as text": (graphql_body(NOTICE, variables), window),
            f"{notice}, by id (compiled)": (
                json.dumps({"documentId": NOTICE_ID, "variables": variables}).encode(),
                window,
            ),
        }
        by_text = graphql_once(hub.url, bodies[f"{notice}, as text"][0], window)
        assert graphql_once(hub.url, bodies[f"{notice}, by id (compiled)"][0], window) == by_text, "both paths alike"
        results: dict[str, LoadResult] = {}
        for name, (body, body_headers) in bodies.items():
            load(hub.url, body, body_headers, connections=CONCURRENCY, seconds=2)  # warm-up
            results[name] = load(hub.url, body, body_headers, connections=CONCURRENCY)
        baseline = results["trivial"].per_second
        for name, result in results.items():
            rows.append(
                [
                    database,
                    name,
                    f"{result.per_second:.0f}",
                    f"{result.p50_ms:.1f}",
                    f"{result.p99_ms:.1f}",
                    f"{result.per_second / baseline:.2f}",
                    result.failures,
                    result.client,
                ]
            )
    return rows


def main() -> None:
    rows: list[list[object]] = [["database", "query", "req/s", "p50 ms", "p99 ms", "x trivial", "failures", "client"]]
    rows += measure("sqlite", sqlite_database)
    rows += measure("postgresql", postgres_database)
    print_table(rows)


if __name__ == "__main__":
    main()
