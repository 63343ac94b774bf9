"""`python -m bench.console_pages`: server time per console page on the demo data (issue 13's aim:
p50 ≤ 50 ms for the applicant page and the case page).

A hub serves the demo (one worker); the demo clerk signs in through the login form, looks an
applicant up by ID (which opens a visit) and a case up by receipt; then each page is asked for
`HUB_BENCH_PAGE_REQUESTS` times, one after another, and its p50 and p99 printed beside the trivial
`/healthz` measured the same way (the HTTP round trip every page pays). Times are wall-clock times
of one client on loopback: the server's time plus the client's, which the `/healthz` row shows.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import time
from pathlib import Path

import httpx

from bench.common import postgres_database, print_table, running_hub, sqlite_database

REQUESTS = int(os.environ.get("HUB_BENCH_PAGE_REQUESTS", "200"))
DATABASE = os.environ.get("HUB_BENCH_DATABASES", "postgresql")


def _people(database_url: str, secrets_dir: str, blob_url: str) -> dict[str, str]:
    """The demo people's passwords (login -> password), as `make run` would print them."""
    from hub.demo.console_people import reissue_demo_people
    from hub.services import in_session
    from hub.settings import Environment, Settings
    from storage.models.base import utcnow

    settings = Settings(
        environment=Environment.DEMO, database_url=database_url, blob_url=blob_url, secrets_dir=Path(secrets_dir)
    )
    logins = asyncio.run(in_session(settings, lambda s: reissue_demo_people(s, settings, utcnow())))
    return {login.person.login: login.password for login in logins}


def _timed(client: httpx.Client, path: str) -> tuple[float, float]:
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def main() -> None:
    context = postgres_database() if DATABASE == "postgresql" else sqlite_database()
    with context as database_url, running_hub(database_url, env={"HUB_ENVIRONMENT": "demo"}) as hub:
        base = hub.url.removesuffix("/graphql")
        var = hub.log.parent if hub.log is not None else Path(".")  # running_hub's folder: secrets, blobs
        passwords = _people(database_url, str(var / "secrets"), f"file://{var}/blobs")
        with httpx.Client(base_url=base, follow_redirects=True, timeout=30) as client:
            form = client.get("/console/login").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', form)
            assert csrf is not None, "no CSRF token on the login form"
            client.post(
                "/console/login", data={"login": "clerk", "password": passwords["clerk"], "csrf": csrf.group(1)}
            )
            applicant = client.get("/console/applicants", params={"id": _an_applicant_with_a_case(client)})
            applicant_path = str(applicant.url).removeprefix(base)
            receipt = re.search(r'href="/console/cases/([^"/?]+)"', applicant.text)
            assert receipt is not None, "the demo applicant's page links no case"
            rows: list[list[object]] = [["page", "p50 ms", "p99 ms", "requests"]]
            for label, path in (
                ("/healthz (round trip)", "/healthz"),
                ("applicant page", applicant_path),
                ("case page", f"/console/cases/{receipt.group(1)}"),
            ):
                p50, p99 = _timed(client, path)
                rows.append([label, f"{p50:.1f}", f"{p99:.1f}", REQUESTS])
    print(f"Console pages on the demo data ({DATABASE}, one worker, one client, one request at a time)")
    print_table(rows)


def _an_applicant_with_a_case(client: httpx.Client) -> str:
    """The first demo applicant: `hub demo` gives the first ones materials and a case."""
    from bench.common import DEMO_APPLICANTS, DEMO_SEED
    from hub.demo.people import generate_applicants

    return generate_applicants(DEMO_APPLICANTS, DEMO_SEED)[0].id_number


if __name__ == "__main__":
    main()
