"""What every benchmark needs: a real hub in a subprocess, seeded with the demo, and a load generator.

The public surface is small:

- `sqlite_database(folder)` and `postgres_database()`: a database URL to benchmark against (the
  PostgreSQL one is a fresh database, dropped afterwards).
- `running_hub(database_url, workers=1)`: runs `hub db upgrade` and `hub demo` (600 applicants,
  demo materials and cases), starts `hub serve` on a free loopback port and yields a `RunningHub`
  (its URL, database URL and demo tokens); with `var`, blobs and secrets outlive the server.
- `hub_environment`, `seed`, `serving` and `background_jobs`: the same in parts, for benchmarks that load data between
  seeding and serving (bench/scale.py) or serve several processes at once (bench/soak.py).
- `graphql_body(query, variables)`: the POST body of a GraphQL request.
- `load(url, body, headers, connections=16, seconds=...)`: N concurrent keep-alive clients posting
  the same request for a fixed time; returns a `LoadResult` (requests/s, p50, p99, which client).
- `paused(pid)`: a server stopped (SIGSTOP, its whole process group) while another is measured.
- `print_table(rows)`: a plain aligned table.

The load comes from `wrk` when it is installed (`apt-get install wrk`): on a 2-core machine the
client must not steal the server's CPU. Otherwise a lean asyncio HTTP/1.1 client is used.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

from hub.settings import Environment, Settings

POSTGRES_ADMIN_URL = os.environ.get("HUB_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
SECONDS = float(os.environ.get("HUB_BENCH_SECONDS", "10"))
DEMO_APPLICANTS = 600
DEMO_SEED = 20261123


@dataclass(frozen=True)
class RunningHub:
    url: str
    database_url: str
    workers: int
    tokens: dict[tuple[str, str], str]  # (role, department code) -> bearer token
    pid: int = 0  # the serving process (with one worker, the one that answers), for its memory
    log: Path | None = None  # what the server wrote to stderr (tracebacks included), while it runs

    def token(self, role: str, department_code: str) -> str:
        return self.tokens[role, department_code]


@dataclass(frozen=True)
class LoadResult:
    client: str
    requests: int
    seconds: float
    failures: int
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# Databases


@contextmanager
def sqlite_database(folder: Path | None = None) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="hub-bench-", dir=folder) as directory:
        yield f"sqlite+aiosqlite:///{Path(directory) / 'hub.db'}"


@contextmanager
def postgres_database(prefix: str = "hub_bench_") -> Iterator[str]:
    """A fresh database on the local PostgreSQL, dropped on exit."""
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _postgres_admin(statement: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def wait_for_the_log(database_url: str, timeout: float = 60.0) -> int:
    """Wait until the hub's sequencer has numbered every queued access entry and added every
    numbered one to the tree; returns how many it had left. A measurement that starts while the
    previous one's entries are still being sequenced pays for them: the server before it gets its
    own work done on the next one's time."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def pending() -> int:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as connection:
                return int(
                    (
                        await connection.execute(
                            text(
                                "SELECT count(*) FROM access_entries WHERE seq IS NULL "
                                "OR seq > (SELECT tree_size FROM audit_log_state WHERE id = 1)"
                            )
                        )
                    ).scalar_one()
                )
        finally:
            await engine.dispose()

    first = left = asyncio.run(pending())
    deadline = time.monotonic() + timeout
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = asyncio.run(pending())
    return first


# The hub under test


def _seed(settings: Settings, environment: dict[str, str]) -> dict[tuple[str, str], str]:
    """`hub db upgrade` and `hub demo` as an operator runs them, then fresh demo tokens."""
    from hub.demo.tokens import demo_tokens
    from hub.services import in_session

    for command in (
        ["db", "upgrade"],
        ["demo", "--if-empty", "--applicants", str(DEMO_APPLICANTS), "--seed", str(DEMO_SEED)],
    ):
        subprocess.run(
            [sys.executable, "-m", "app.cli", *command], env=environment, check=True, stdout=subprocess.DEVNULL
        )
    issued = asyncio.run(in_session(settings, lambda s: demo_tokens(s, settings, rotate=True)))
    return {(i.role.value, i.department_code): i.token for i in issued}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return cast(int, probe.getsockname()[1])


def hub_environment(database_url: str, var: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a benchmark's hub processes: its database, and blobs and secrets under `var`
    (processes given the same `var` share them, as processes behind a proxy share S3 and the keys)."""
    return {
        # A benchmark drives one principal far beyond any clerk's pace: its budget of query cost
        # (docs/security.md) would refuse most of it. bench/edge.py measures the budget itself.
        "HUB_RATE_LIMIT_POINTS_PER_SECOND": "0",
        **os.environ,
        # Benchmarks may switch the access log off (bench/audit.py); only this environment allows it.
        "HUB_ENVIRONMENT": Environment.BENCHMARK.value,
        "HUB_DATABASE_URL": database_url,
        "HUB_BLOB_URL": f"file://{var}/blobs",
        "HUB_SECRETS_DIR": f"{var}/secrets",
        **(env or {}),
    }


def seed(environment: dict[str, str]) -> dict[tuple[str, str], str]:
    """`hub db upgrade` and `hub demo --if-empty` in `environment`; fresh demo tokens."""
    settings = Settings(
        environment=Environment.BENCHMARK,
        database_url=environment["HUB_DATABASE_URL"],
        blob_url=environment["HUB_BLOB_URL"],
        secrets_dir=Path(environment["HUB_SECRETS_DIR"]),
    )
    return _seed(settings, environment)


@contextmanager
def serving(environment: dict[str, str], *, workers: int = 1, log_path: Path) -> Iterator[tuple[str, int]]:
    """`hub serve` on a free loopback port until the block ends; yields (base URL, pid)."""
    port = _free_port()
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", str(workers)]
    # The server's log goes to a file: a pipe nobody reads fills up and stalls the server.
    log = open(log_path, "w+b")  # noqa: SIM115  (closed with the block)
    # A process group of its own, so that `paused` stops the workers and the background process too.
    server = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_ready(url, server, log)
        yield url, server.pid
    finally:
        _stop(server)
        log.close()


@contextmanager
def background_jobs(environment: dict[str, str], *, log_path: Path) -> Iterator[int]:
    """`hub background` until the block ends, for serving processes started with
    HUB_SERVE_BACKGROUND_JOBS=false (docs/deployment.md's recipe); yields its pid."""
    log = open(log_path, "w+b")  # noqa: SIM115  (closed with the block)
    command = [sys.executable, "-m", "app.cli", "background"]
    process = subprocess.Popen(command, env=environment, stdout=log, stderr=log, start_new_session=True)
    try:
        yield process.pid
    finally:
        _stop(process)
        log.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_hub(
    database_url: str, *, workers: int = 1, env: dict[str, str] | None = None, var: Path | None = None
) -> Iterator[RunningHub]:
    """Seed the database with the demo and serve it with `hub serve` until the block ends.

    Blobs and secrets live in `var` when given (so a second server on the same database keeps the
    log's keys and head file), else in a temporary folder.
    """
    with tempfile.TemporaryDirectory(prefix="hub-bench-var-") as scratch:
        folder = var or Path(scratch)
        environment = hub_environment(database_url, folder, env)
        tokens = seed(environment)
        log_path = Path(scratch) / "serve.log"
        with serving(environment, workers=workers, log_path=log_path) as (url, pid):
            yield RunningHub(f"{url}/graphql", database_url, workers, tokens, pid, log_path)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (all its threads) has used so far, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            todo += [int(child) for child in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except OSError:
            continue
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU time used so far by a process and the live processes under it (a server's workers and its
    background process). A process that ended took its share with it."""
    total = 0.0
    for each in _descendants(pid):
        try:
            total += cpu_seconds(each)
        except OSError:
            continue  # ended meanwhile
    return total


def postgres_cpu_seconds() -> float:
    """CPU time used so far by the local PostgreSQL's processes: backends, WAL writer, checkpointer."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == "postgres":
                total += cpu_seconds(int(entry.name))
        except OSError:
            continue
    return total


@dataclass(frozen=True)
class CpuPerRequest:
    """CPU milliseconds per request a server spent, its own and its database's (split)."""

    server_ms: float
    database_ms: float

    @property
    def total_ms(self) -> float:
        return self.server_ms + self.database_ms

    def __str__(self) -> str:
        """As the tables print it: "own + PostgreSQL", in ms."""
        return f"{self.server_ms:.2f} + {self.database_ms:.2f}"


@contextmanager
def cpu_of(pid: int) -> Iterator[Callable[[int], CpuPerRequest]]:
    """Measures the CPU a server (its process tree) and PostgreSQL spend in the block; yields a
    function of the requests served that gives it per request. Meant for one server measured while
    the others are paused: PostgreSQL's processes are counted whole."""
    server, database = tree_cpu_seconds(pid), postgres_cpu_seconds()
    spent: list[float] = []

    def per_request(requests: int) -> CpuPerRequest:
        server_s, database_s = spent
        return CpuPerRequest(server_s * 1000 / max(requests, 1), database_s * 1000 / max(requests, 1))

    try:
        yield per_request
    finally:
        spent += [tree_cpu_seconds(pid) - server, postgres_cpu_seconds() - database]


@contextmanager
def paused(pid: int) -> Iterator[None]:
    """The process group led by `pid` stopped until the block ends: a server not being measured
    takes no CPU, not even for its background jobs' timers, while another server is."""
    os.killpg(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(pid, signal.SIGCONT)


def _wait_until_ready(url: str, server: subprocess.Popen[bytes], log: BinaryIO) -> None:
    # Generous: on a machine shared with test runs, two workers' start-up has taken over a minute.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"hub serve exited with {server.returncode}: {log.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("hub serve did not become ready within 180 s")


# Requests


def graphql_body(query: str, variables: dict[str, Any] | None = None) -> bytes:
    return json.dumps({"query": query, "variables": variables or {}}, ensure_ascii=False).encode("utf-8")


def clerk_at_the_window(url: str, token: str, id_number: str) -> dict[str, str]:
    """Headers for a clerk reading `id_number`'s data: a clerk reads profile values and materials
    only within a visit (the applicant presented their ID at the window), so one is opened."""
    headers = {"Authorization": f"Bearer {token}"}
    body = graphql_body("mutation($id: String!) { openVisit(idNumber: $id) { purpose } }", {"id": id_number})
    purpose = graphql_once(url, body, headers)["openVisit"]["purpose"]
    return {**headers, "X-Hub-Purpose": purpose}


def graphql_once(url: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """One request, to check a benchmark's query answers data and no errors before timing it."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.loads(response.read())
    if answer.get("errors"):
        raise RuntimeError(f"benchmark query failed: {answer['errors']}")
    return cast(dict[str, Any], answer["data"])


def load(
    url: str,
    body: bytes,
    headers: dict[str, str] | Sequence[dict[str, str]],
    *,
    connections: int = 16,
    seconds: float = SECONDS,
) -> LoadResult:
    """`connections` keep-alive clients posting `body` to `url` for `seconds`.

    With a list of headers, connection i sends the i-th (modulo the list): several callers, each
    with its own token and purpose (the asyncio client then, as wrk sends one set of headers)."""
    if isinstance(headers, dict) and shutil.which("wrk"):
        return _load_with_wrk(url, body, headers, connections, seconds)
    per_connection = [headers] if isinstance(headers, dict) else list(headers)
    return asyncio.run(_load_with_asyncio(url, body, per_connection, connections, seconds))


_WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = io.open(os.getenv("HUB_BENCH_BODY"), "rb"):read("*a")
%(headers)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("HUB_BENCH %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout + e.status, latency:percentile(50), latency:percentile(99)))
end
"""


def _load_with_wrk(url: str, body: bytes, headers: dict[str, str], connections: int, seconds: float) -> LoadResult:
    all_headers = {"Content-Type": "application/json", **headers}
    lines = "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in all_headers.items())
    with tempfile.TemporaryDirectory(prefix="hub-wrk-") as directory:
        script, body_file = Path(directory) / "post.lua", Path(directory) / "body.json"
        script.write_text(_WRK_SCRIPT % {"headers": lines})
        body_file.write_bytes(body)
        threads = min(2, connections)
        output = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                url,
            ],
            env={**os.environ, "HUB_BENCH_BODY": str(body_file)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    line = next(line for line in output.splitlines() if line.startswith("HUB_BENCH "))
    requests, duration_us, failures, p50_us, p99_us = (int(part) for part in line.split()[1:])
    return LoadResult("wrk", requests, duration_us / 1e6, failures, p50_us / 1000, p99_us / 1000)


async def _load_with_asyncio(
    url: str, body: bytes, headers: Sequence[dict[str, str]], connections: int, seconds: float
) -> LoadResult:
    """The fallback client: one coroutine per keep-alive connection, raw HTTP/1.1, no parsing beyond framing."""
    host_port, path = url.removeprefix("http://").split("/", 1)
    host, port = host_port.split(":")

    def http_request(headers: dict[str, str]) -> bytes:
        head = "".join(f"{k}: {v}\r\n" for k, v in {"Content-Type": "application/json", **headers}.items())
        start = f"POST /{path} HTTP/1.1\r\nHost: {host_port}\r\n{head}Content-Length: {len(body)}\r\n\r\n"
        return start.encode() + body

    requests = [http_request(one) for one in headers]
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds

    async def client(request: bytes) -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while (started := time.perf_counter()) < deadline:
                writer.write(request)
                status_and_headers = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in status_and_headers.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                if not status_and_headers.startswith(b"HTTP/1.1 200"):
                    failures += 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(client(requests[n % len(requests)]) for n in range(connections)))
    elapsed = time.perf_counter() - began
    latencies.sort()

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000 if latencies else 0.0

    return LoadResult("asyncio", len(latencies), elapsed, failures, percentile(0.50), percentile(0.99))


# Output


def print_table(rows: Sequence[Sequence[object]]) -> None:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
    sys.stdout.flush()
