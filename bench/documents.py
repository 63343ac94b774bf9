"""`python -m bench.documents`: the document store's throughput, memory and deduplication.

In one run, against one S3 server (moto in server mode on loopback) and one hub (`hub serve`):
1. Throughput: the same file uploaded and downloaded through the hub (GraphQL multipart upload,
   signed-link download: keyed hash, encryption, S3 multipart upload, decryption on the fly),
   against a direct minio put/get of the same bytes to the same server, and against a plain
   file copy on the local disk. Printed as MB/s and as the hub's ratio to direct, with the CPU
   each process spends per GiB downloaded, and a relay's floor: the CPU a thread of this process
   spends per GiB to receive sealed chunks on loopback, decrypt them and send them on, with no
   HTTP, event loop or log. With the S3 server's and the client's CPU, the floor bounds the
   download ratio any relaying server could reach on this machine. Then a 1 MiB file downloaded
   100 times one after another, through the hub and direct: the usual material's size.
2. Memory: peak RSS of the hub process (VmHWM) while it takes and serves a 1 GiB file.
3. Deduplication: 100 cases each handing in the same 20 materials (2000 uploads) use the storage
   of the 20.

Sizes: HUB_BENCH_DOC_MIB (throughput file, default 256) and HUB_BENCH_BIG_MIB (default 1024);
HUB_BENCH_ROUNDS (default 3) rounds of throughput, best of each kept (the machine may be busy).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import httpx
import urllib3
from minio import Minio

from bench.common import cpu_seconds, postgres_database, print_table, running_hub, sqlite_database
from storage.blobs.crypto import DEFAULT_CHUNK_SIZE, sealed_chunk_size
from storage.blobs.s3 import PARALLEL_PARTS, READ_PIECE, part_size_for

MiB = 1024 * 1024
DOC_MIB = int(os.environ.get("HUB_BENCH_DOC_MIB", "256"))
BIG_MIB = int(os.environ.get("HUB_BENCH_BIG_MIB", "1024"))
ROUNDS = int(os.environ.get("HUB_BENCH_ROUNDS", "3"))
CASES, MATERIALS_PER_CASE = 100, 20
SMALL_DOWNLOADS = 100
ACCESS_KEY, SECRET_KEY = "bench-access", "bench-secret-key"
DOWNLOADER = urllib3.PoolManager()
OPEN_VISIT = "mutation($id: String!) { openVisit(idNumber: $id) { purpose } }"
UPLOAD = """mutation($input: UploadMaterialInput!) {
  uploadMaterial(input: $input) { id currentVersion { size downloadLink { url } } }
}"""


# The S3 server


@contextmanager
def s3_server() -> Iterator[tuple[str, int]]:
    """moto in server mode on a free loopback port; yields its endpoint and its pid."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield f"127.0.0.1:{port}", server.pid
    finally:
        server.kill()
        server.wait()


def minio_client(endpoint: str) -> Minio:
    return Minio(endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False, region="us-east-1")


# The hub process


def hub_pid(url: str) -> int:
    """The pid of the `hub serve` process listening on this URL's port (one worker: no children)."""
    port = url.split(":")[2].split("/")[0]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in command and port.encode() in command:
                return int(entry.name)
    raise RuntimeError("cannot find the hub process")


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for {pid}")


class PeakSampler:
    """Samples a process's RSS every 20 ms in a thread; `.peak` is the largest seen."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mib(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def demo_id_numbers(database_url: str, count: int) -> list[str]:
    from sqlalchemy import select

    from hub.services import build_hub
    from hub.settings import Settings
    from storage.models import Applicant

    async def fetch() -> list[str]:
        hub = build_hub(Settings(database_url=database_url))
        try:
            async with hub.sessions() as session:
                rows = await session.execute(select(Applicant.id_number).order_by(Applicant.id).limit(count))
                return list(rows.scalars())
        finally:
            await hub.close()

    return asyncio.run(fetch())


# Transfers


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


class CpuMeter:
    """CPU seconds spent by each named process during the transfers measured, summed over rounds.

    On a machine with fewer cores than busy processes, the rate of a transfer is set by the CPU
    each process spends per byte, so this says where the time goes: the S3 server, the hub, or
    the client (this process).
    """

    def __init__(self, processes: dict[str, int]) -> None:
        self.processes = processes
        self.spent: dict[str, dict[str, float]] = {}
        self.bytes: dict[str, int] = {}

    def measure(self, label: str, size: int, work: Callable[[], object]) -> float:
        before = {name: cpu_seconds(pid) for name, pid in self.processes.items()}
        client_before = time.process_time()
        seconds = timed(work)
        spent = self.spent.setdefault(label, {})
        for name, pid in self.processes.items():
            spent[name] = spent.get(name, 0.0) + cpu_seconds(pid) - before[name]
        spent["client"] = spent.get("client", 0.0) + time.process_time() - client_before
        self.bytes[label] = self.bytes.get(label, 0) + size
        return seconds

    def per_gib(self, label: str) -> dict[str, float]:
        """CPU seconds per GiB each process spent on the transfers measured under `label`."""
        spent = self.spent[label]
        return {name: spent.get(name, 0.0) * 1024 * MiB / self.bytes[label] for name in [*self.processes, "client"]}

    def table(self) -> list[list[object]]:
        names = [*self.processes, "client"]
        rows: list[list[object]] = [["CPU s per GiB", *names, "total"]]
        for label in self.spent:
            per_gib = self.per_gib(label)
            rows.append([label, *(f"{per_gib[name]:.2f}" for name in names), f"{sum(per_gib.values()):.2f}"])
        return rows


def write_pdf(path: Path, mib: int) -> None:
    with open(path, "wb") as handle:
        handle.write(b"%PDF-1.7\n")
        for _ in range(mib):
            handle.write(os.urandom(MiB))


def open_visit(http: httpx.Client, base: str, token: str, id_number: str) -> str:
    """The `visit:<id>` purpose a clerk declares to read (and download) the applicant's materials."""
    response = http.post(
        f"{base}/graphql",
        json={"query": OPEN_VISIT, "variables": {"id": id_number}},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(f"openVisit failed: {body['errors']}")
    return cast(str, body["data"]["openVisit"]["purpose"])


def hub_upload(http: httpx.Client, base: str, token: str, id_number: str, path: Path) -> dict[str, Any]:
    """Upload as the clerk within a visit, so the returned download link may be followed."""
    purpose = open_visit(http, base, token, id_number)
    operations = {"query": UPLOAD, "variables": {"input": {"idNumber": id_number, "typeCode": "id-card", "file": None}}}
    with open(path, "rb") as handle:
        response = http.post(
            f"{base}/graphql",
            data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.input.file"]})},
            files={"0": (path.name, handle, "application/pdf")},
            headers={"Authorization": f"Bearer {token}", "Apollo-Require-Preflight": "true", "X-Hub-Purpose": purpose},
        )
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(f"upload failed: {body['errors']}")
    return cast(dict[str, Any], body["data"]["uploadMaterial"])


def hub_download(url: str, first_byte_only: bool = False) -> int:
    """Read a download link with urllib3, the HTTP client the minio SDK uses for direct gets."""
    headers = {"Range": "bytes=0-0"} if first_byte_only else None
    response = DOWNLOADER.request("GET", url, headers=headers, preload_content=False)
    if response.status != (206 if first_byte_only else 200):
        raise RuntimeError(f"download failed with {response.status}")
    received = 0
    try:
        for piece in response.stream(MiB):
            received += len(piece)
    finally:
        response.release_conn()
    return received


def direct_get(client: Minio, bucket: str, name: str, first_byte_only: bool = False) -> int:
    response = client.get_object(bucket, name, length=1) if first_byte_only else client.get_object(bucket, name)
    received = 0
    try:
        for piece in response.stream(MiB):
            received += len(piece)
    finally:
        response.close()
        response.release_conn()
    return received


def read_file(path: Path) -> int:
    received = 0
    with open(path, "rb") as handle:
        while piece := handle.read(MiB):
            received += len(piece)
    return received


def _loopback_pair() -> tuple[socket.socket, socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        sender = socket.create_connection(listener.getsockname())
        receiver, _ = listener.accept()
    return sender, receiver


def relay_floor(gib: float = 1.0) -> float:
    """CPU seconds per GiB of one thread that receives sealed 256 KiB chunks on loopback in the
    store's read pieces, decrypts each into a reused buffer (AES-256-GCM, `decrypt_into`) and sends
    the plaintext on: the least a relaying server pays, with no HTTP, no event loop and no log.
    A source thread and a sink thread of this process feed and drain it."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    # One chunk of the store's size, sealed once and sent again and again: the cost is AES-GCM's over
    # 256 KiB, whatever nonce and associated data the store's format puts around it.
    aead, nonce, aad = AESGCM(AESGCM.generate_key(256)), bytes(12), b""
    sealed_size = sealed_chunk_size(DEFAULT_CHUNK_SIZE)
    sealed = aead.encrypt(nonce, os.urandom(DEFAULT_CHUNK_SIZE), aad)
    pieces = int(gib * 1024 * MiB) // (READ_PIECE // sealed_size * DEFAULT_CHUNK_SIZE)
    source_out, relay_in = _loopback_pair()
    relay_out, sink_in = _loopback_pair()
    spent: list[float] = []

    def source() -> None:
        piece = sealed * (READ_PIECE // sealed_size)
        for _ in range(pieces):
            source_out.sendall(piece)
        source_out.shutdown(socket.SHUT_WR)

    def sink() -> None:
        buffer = bytearray(MiB)
        while sink_in.recv_into(buffer):
            pass

    def relay() -> None:
        received, plaintext = memoryview(bytearray(READ_PIECE)), memoryview(bytearray(READ_PIECE))
        started = time.thread_time()
        while True:
            filled = 0
            while filled < READ_PIECE and (got := relay_in.recv_into(received[filled:])):
                filled += got
            if filled == 0:
                break
            chunks = filled // sealed_size
            for i in range(chunks):
                sealed_chunk = received[i * sealed_size : (i + 1) * sealed_size]
                aead.decrypt_into(
                    nonce, sealed_chunk, aad, plaintext[i * DEFAULT_CHUNK_SIZE : (i + 1) * DEFAULT_CHUNK_SIZE]
                )
            relay_out.sendall(plaintext[: chunks * DEFAULT_CHUNK_SIZE])
        spent.append(time.thread_time() - started)
        relay_out.shutdown(socket.SHUT_WR)

    threads = [threading.Thread(target=work) for work in (source, relay, sink)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for end in (source_out, relay_in, relay_out, sink_in):
        end.close()
    return spent[0] / (pieces * (READ_PIECE // sealed_size) * DEFAULT_CHUNK_SIZE / (1024 * MiB))


def throughput(
    endpoint: str, hub_url: str, token: str, id_number: str, work: Path, cpu: CpuMeter
) -> list[list[object]]:
    """Best of ROUNDS for each path, alternating them, each round on fresh random bytes.

    Fresh bytes matter: the hub would deduplicate a repeated upload without touching the store.
    """
    client = minio_client(endpoint)
    client.make_bucket(direct := f"direct-{uuid.uuid4().hex[:8]}")
    best: dict[str, float] = {}

    def keep(label: str, seconds: float) -> None:
        best[label] = min(best.get(label, seconds), seconds)

    size = 0
    with httpx.Client(timeout=600) as http:
        for round_ in range(ROUNDS):
            source = work / f"throughput-{round_}.pdf"
            write_pdf(source, DOC_MIB)
            size = source.stat().st_size
            keep("copy up", timed(lambda: shutil.copyfile(source, work / "copy.pdf")))
            keep("copy down", timed(lambda: read_file(work / "copy.pdf")))
            keep(
                "direct up",
                timed(
                    lambda: client.fput_object(
                        direct,
                        f"object-{round_}",
                        str(source),
                        part_size=part_size_for(size),
                        num_parallel_uploads=PARALLEL_PARTS,
                    )
                ),
            )
            keep(
                "direct down", cpu.measure("direct down", size, lambda: direct_get(client, direct, f"object-{round_}"))
            )
            material: dict[str, Any] = {}
            keep("hub up", timed(lambda: material.update(hub_upload(http, hub_url, token, id_number, source))))
            link = material["currentVersion"]["downloadLink"]["url"]
            keep("hub down", cpu.measure("hub down", size, lambda: hub_download(link)))
            source.unlink()

    def mbps(label: str) -> str:
        return f"{size / MiB / best[label]:.0f}"

    return [
        ["", "upload MB/s", "download MB/s", "hub/direct up", "hub/direct down"],
        ["file copy (local disk)", mbps("copy up"), mbps("copy down"), "", ""],
        ["direct minio put/get", mbps("direct up"), mbps("direct down"), "", ""],
        [
            "through the hub",
            mbps("hub up"),
            mbps("hub down"),
            f"{best['direct up'] / best['hub up']:.0%}",
            f"{best['direct down'] / best['hub down']:.0%}",
        ],
    ]


def small_files(endpoint: str, hub_url: str, token: str, id_number: str, work: Path) -> list[list[object]]:
    """SMALL_DOWNLOADS downloads of a 1 MiB file one after another, through the hub and direct: the
    size of most materials (an ID card's scan, a licence), where each download's fixed cost (the
    link, the policy and its log entry, the S3 request) counts more than the bytes."""
    client = minio_client(endpoint)
    client.make_bucket(bucket := f"small-{uuid.uuid4().hex[:8]}")
    source = work / "small.pdf"
    write_pdf(source, 1)
    client.fput_object(bucket, "small", str(source))
    with httpx.Client(timeout=60) as http:
        link = hub_upload(http, hub_url, token, id_number, source)["currentVersion"]["downloadLink"]["url"]
    hub = hub_pid(hub_url)
    rows: list[list[object]] = [
        ["1 MiB file, one at a time", "ms per download", "downloads/s", "hub/direct", "hub CPU ms per download"]
    ]
    # The first byte alone (a one-byte range) is each download's fixed cost: the link, the look-ups,
    # the policy and its log entry, the S3 request.
    for what, first_byte_only in (("whole file", False), ("first byte only", True)):
        hub_download(link, first_byte_only)
        direct_get(client, bucket, "small", first_byte_only)  # both warm
        cpu_before = cpu_seconds(hub)
        hub_s = timed(lambda: [hub_download(link, first_byte_only) for _ in range(SMALL_DOWNLOADS)])
        hub_cpu_ms = (cpu_seconds(hub) - cpu_before) / SMALL_DOWNLOADS * 1000
        direct_s = timed(lambda: [direct_get(client, bucket, "small", first_byte_only) for _ in range(SMALL_DOWNLOADS)])
        hub_s, direct_s = hub_s / SMALL_DOWNLOADS, direct_s / SMALL_DOWNLOADS
        rows.append([f"direct minio get, {what}", f"{direct_s * 1000:.1f}", f"{1 / direct_s:.0f}", "", ""])
        rows.append(
            [
                f"through the hub, {what}",
                f"{hub_s * 1000:.1f}",
                f"{1 / hub_s:.0f}",
                f"{direct_s / hub_s:.0%}",
                f"{hub_cpu_ms:.1f}",
            ]
        )
    return rows


def floor_table(cpu: CpuMeter) -> list[list[object]]:
    """The relay's floor, and the download ratio by CPU accounting: the direct get's CPU per GiB over
    the hub path's, as measured and with the hub at the floor (the processes share the cores)."""
    direct, through_hub = cpu.per_gib("direct down"), cpu.per_gib("hub down")
    others = through_hub["S3 server"] + through_hub["client"]
    floor = min(relay_floor() for _ in range(3))
    return [
        ["relay floor CPU s per GiB", "hub down / direct by CPU: as measured", "with the hub at the floor"],
        [
            f"{floor:.2f}",
            f"{sum(direct.values()) / sum(through_hub.values()):.0%}",
            f"{sum(direct.values()) / (others + floor):.0%}",
        ],
    ]


def memory(hub_url: str, token: str, id_number: str, work: Path) -> list[list[object]]:
    source = work / "big.pdf"
    write_pdf(source, BIG_MIB)
    pid = hub_pid(hub_url)
    idle = rss_mib(pid)
    with httpx.Client(timeout=1800) as http:
        with PeakSampler(pid) as up:
            material = hub_upload(http, hub_url, token, id_number, source)
        with PeakSampler(pid) as down:
            received = hub_download(material["currentVersion"]["downloadLink"]["url"])
    assert received == source.stat().st_size
    source.unlink()
    return [
        ["hub process RSS (MiB)", "idle", "peak while uploading", "peak while downloading", "VmHWM after both"],
        [f"{BIG_MIB} MiB file", f"{idle:.0f}", f"{up.peak:.0f}", f"{down.peak:.0f}", f"{rss_mib(pid, 'VmHWM'):.0f}"],
    ]


async def _upload_many(hub_url: str, token: str, jobs: list[tuple[str, Path]]) -> None:
    limits = asyncio.Semaphore(4)
    async with httpx.AsyncClient(timeout=120) as http:

        async def one(id_number: str, path: Path) -> None:
            operations = {
                "query": UPLOAD,
                "variables": {"input": {"idNumber": id_number, "typeCode": "id-card", "file": None}},
            }
            async with limits:
                response = await http.post(
                    f"{hub_url}/graphql",
                    data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.input.file"]})},
                    files={"0": (path.name, path.read_bytes(), "application/pdf")},
                    headers={"Authorization": f"Bearer {token}", "Apollo-Require-Preflight": "true"},
                )
                if response.json().get("errors"):
                    raise RuntimeError(response.text)

        await asyncio.gather(*(one(i, p) for i, p in jobs))


def deduplication(
    endpoint: str, bucket: str, hub_url: str, token: str, database_url: str, work: Path
) -> list[list[object]]:
    client = minio_client(endpoint)
    before = sum(o.size or 0 for o in client.list_objects(bucket, recursive=True))
    materials = []
    for n in range(MATERIALS_PER_CASE):
        path = work / f"material-{n}.pdf"
        path.write_bytes(b"%PDF-1.7\n" + os.urandom(256 * 1024 + n * 37_000))
        materials.append(path)
    applicants = demo_id_numbers(database_url, CASES)
    started = time.perf_counter()
    asyncio.run(_upload_many(hub_url, token, [(a, m) for a in applicants for m in materials]))
    elapsed = time.perf_counter() - started
    used = sum(o.size or 0 for o in client.list_objects(bucket, recursive=True)) - before
    plain = sum(p.stat().st_size for p in materials)
    uploads = len(applicants) * len(materials)
    return [
        ["uploads", "distinct bytes (20 files)", "bytes handed in", "stored", "stored / distinct", "uploads/s"],
        [uploads, plain, plain * len(applicants), used, f"{used / plain:.4f}x", f"{uploads / elapsed:.0f}"],
    ]


def run(database_url: str) -> None:
    with s3_server() as (endpoint, s3_pid), tempfile.TemporaryDirectory(prefix="hub-bench-docs-") as work_dir:
        work = Path(work_dir)
        minio_client(endpoint).make_bucket(bucket := "hub-bench")
        blob_url = f"s3://{bucket}?endpoint={endpoint}&secure=false&access_key={ACCESS_KEY}&secret_key={SECRET_KEY}"
        with running_hub(
            database_url, env={"HUB_BLOB_URL": blob_url, "HUB_MAX_UPLOAD_BYTES": str(4 * 1024 * MiB)}
        ) as hub:
            base = hub.url.removesuffix("/graphql")
            token = hub.token("clerk", "xzfw")
            [first, second] = demo_id_numbers(database_url, 2)
            print(f"-- throughput, {DOC_MIB} MiB file, best of {ROUNDS}, S3 = moto server on loopback, one hub worker")
            cpu = CpuMeter({"S3 server": s3_pid, "hub": hub_pid(base)})
            print_table(throughput(endpoint, base, token, first, work, cpu))
            print("-- where the download time goes: CPU seconds per GiB, by process")
            print_table(cpu.table())
            print_table(floor_table(cpu))
            print("-- small files: a 1 MiB file downloaded one at a time")
            print_table(small_files(endpoint, base, token, first, work))
            print(f"-- memory, {BIG_MIB} MiB file")
            print_table(memory(base, token, second, work))
            print(f"-- deduplication, {CASES} cases x {MATERIALS_PER_CASE} materials")
            print_table(deduplication(endpoint, bucket, base, token, database_url, work))


def main() -> None:
    backend = os.environ.get("HUB_BENCH_BACKEND", "sqlite")
    database = postgres_database() if backend == "postgresql" else sqlite_database()
    with database as database_url:
        print(f"database: {backend}")
        run(database_url)


if __name__ == "__main__":
    main()
