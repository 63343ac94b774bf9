"""`hub serve --workers 2`: two processes, each listening on a socket of its own, and one for the
background jobs (app/serving.py).

A real `hub serve` on SQLite in a temporary folder: both workers listen on the port and answer,
the log is sequenced (by the background process), a worker killed is replaced on its socket, and
SIGTERM stops everything.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.serving import reuse_port_sockets

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _children(pid: int) -> set[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return {int(child) for child in found} - {_resource_tracker(int(c)) for c in found}


def _resource_tracker(pid: int) -> int:
    """multiprocessing's resource tracker is a child too; it is not a worker."""
    command = Path(f"/proc/{pid}/cmdline").read_bytes()
    return pid if b"resource_tracker" in command else -1


def _listening(pid: int, port: int) -> int:
    """How many listening sockets on `port` the process `pid` holds."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and int(fields[1].split(":")[1], 16) == port:
            inodes.add(fields[9])
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            held += 1
    return held


def _wait(predicate, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


_BOGUS = {"Authorization": "Bearer hub_not-a-token", "Apollo-Require-Preflight": "1"}


def _sequenced(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        return int(connection.execute("SELECT count(*) FROM access_entries WHERE seq IS NOT NULL").fetchone()[0])


def test_sockets_share_one_port_and_port_zero_picks_one_for_all() -> None:
    sockets = reuse_port_sockets("127.0.0.1", 0, 3)
    try:
        ports = {sock.getsockname()[1] for sock in sockets}
        assert len(ports) == 1 and ports != {0}
    finally:
        for sock in sockets:
            sock.close()


def sqlite_hub_environment(folder: Path, **settings: str) -> dict[str, str]:
    """The environment of `hub` commands on a fresh SQLite database in `folder`, its schema created."""
    environment = {
        **os.environ,
        "HUB_ENVIRONMENT": "demo",
        "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/hub.db",
        "HUB_BLOB_URL": f"file://{folder}/blobs",
        "HUB_SECRETS_DIR": str(folder / "secrets"),
        **settings,
    }
    subprocess.run([sys.executable, "-m", "app.cli", "db", "upgrade"], env=environment, check=True, capture_output=True)
    return environment


def test_two_workers_listen_answer_are_replaced_and_stop(tmp_path) -> None:
    metrics_port = _free_port()
    environment = sqlite_hub_environment(tmp_path, HUB_BACKGROUND_METRICS_PORT=str(metrics_port))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "2"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(lambda: _ready(url) and len(_children(server.pid)) == 3)
        processes = _children(server.pid)
        # Each worker listens on its own socket (and the parent keeps them for replacements); the
        # background process listens on none.
        _wait(lambda: sorted(_listening(pid, port) for pid in processes) == [0, 1, 1])
        assert _listening(server.pid, port) == 2
        workers = {pid for pid in processes if _listening(pid, port) == 1}

        # A refused token is logged; the background process, not a worker, numbers its entry.
        assert httpx.post(f"{url}/graphql", json={"query": "{ viewer { name } }"}, headers=_BOGUS).status_code == 401
        _wait(lambda: _sequenced(tmp_path / "hub.db") > 0)
        # The background process serves its own counters, the sequencer's alarms among them.
        background = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
        assert "hub_audit_sequencer_halted_total 0.0" in background and "hub_audit_log_lag_seconds" in background

        killed = min(workers)
        os.kill(killed, signal.SIGKILL)
        _wait(lambda: len(_children(server.pid)) == 3 and killed not in _children(server.pid))
        _wait(lambda: _ready(url))
        replacement = (_children(server.pid) - processes).pop()
        _wait(lambda: _listening(replacement, port) == 1)

        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        assert not _ready(url)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_a_background_process_that_cannot_start_stops_the_server(tmp_path) -> None:
    """Its metrics port taken: replacing it would fail again and again, so the server stops."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        environment = sqlite_hub_environment(tmp_path, HUB_BACKGROUND_METRICS_PORT=str(taken.getsockname()[1]))
        server = subprocess.run(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(_free_port()), "--workers", "2"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert server.returncode == 1
    assert "error: cannot serve metrics on 127.0.0.1" in server.stderr
