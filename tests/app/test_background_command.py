"""`hub background` runs the background jobs for serving processes that leave them out
(`HUB_SERVE_BACKGROUND_JOBS=false`), the deployment recipe's shape (docs/deployment.md).

A real `hub serve` and a real `hub background` on SQLite in a temporary folder: the server's
entries wait outside the log's tree (its lag gauge grows) until the background process numbers
them, and SIGTERM stops it cleanly.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import httpx
import pytest

from tests.app.test_serve_workers import _BOGUS, _free_port, _ready, _sequenced, _wait, sqlite_hub_environment

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def _lag(url: str) -> float:
    """hub_audit_log_lag_seconds as the process at `url` serves it on /metrics."""
    metrics = httpx.get(f"{url}/metrics", timeout=5).text
    [line] = [line for line in metrics.splitlines() if line.startswith("hub_audit_log_lag_seconds ")]
    return float(line.split()[1])


def test_serving_without_background_jobs_then_hub_background_sequences_and_stops(tmp_path) -> None:
    environment = sqlite_hub_environment(
        tmp_path, HUB_SERVE_BACKGROUND_JOBS="false", HUB_AUDIT_SEQUENCER_INTERVAL="0.2"
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    background: subprocess.Popen[str] | None = None
    try:
        _wait(lambda: _ready(url))
        assert httpx.post(f"{url}/graphql", json={"query": "{ viewer { name } }"}, headers=_BOGUS).status_code == 401
        # Nothing numbers the refusal's entry: it waits, and the gauge says for how long.
        _wait(lambda: _lag(url) >= 1.0)
        assert _sequenced(tmp_path / "hub.db") == 0

        metrics_port = _free_port()
        background = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "background", "--metrics-port", str(metrics_port)],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _wait(lambda: _sequenced(tmp_path / "hub.db") == 1)
        _wait(lambda: _lag(url) == 0.0)
        # Its own /metrics: the log's lag, read at each scrape, and the sequencer's alarms.
        background_url = f"http://127.0.0.1:{metrics_port}"
        assert _lag(background_url) == 0.0
        assert "hub_audit_sequencer_halted_total 0.0" in httpx.get(f"{background_url}/metrics", timeout=5).text

        background.send_signal(signal.SIGTERM)
        out, err = background.communicate(timeout=30)
        assert background.returncode == 0, err
        assert out.startswith("background jobs running: the access log's sequencer and checkpoints, supervision")
        assert f"metrics at {background_url}/metrics" in out
    finally:
        if background is not None and background.poll() is None:
            background.kill()
            background.communicate()
        server.send_signal(signal.SIGTERM)
        try:
            served, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            served, _ = server.communicate()
    assert "Background jobs: off here (HUB_SERVE_BACKGROUND_JOBS=false); `hub background` runs them" in served


def test_a_metrics_port_in_use_is_said_in_one_line(tmp_path) -> None:
    environment = sqlite_hub_environment(tmp_path)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        refused = subprocess.run(
            [sys.executable, "-m", "app.cli", "background", "--metrics-port", str(port)],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert refused.returncode == 1
    assert refused.stderr.strip() == f"error: cannot serve metrics on 127.0.0.1:{port}: Address already in use"
    assert refused.stdout == ""
