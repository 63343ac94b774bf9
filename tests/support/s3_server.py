"""A real S3-protocol server for the tests: moto's server mode in its own process, on loopback.

The hub talks to it through the same minio client it uses in production. Tests that need to stop
the server mid-upload start their own with `S3Server.start()` and `stop()` it when they choose.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from minio import Minio

ACCESS_KEY = "hub-test-access"
SECRET_KEY = "hub-test-secret-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class S3Server:
    port: int
    process: subprocess.Popen

    @classmethod
    def start(cls) -> S3Server:
        port = free_port()
        env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        server = cls(port, process)
        server._wait_until_listening()
        return server

    def _wait_until_listening(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("moto server exited at start")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto server did not start listening")

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self) -> Minio:
        return Minio(self.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False, region="us-east-1")

    def new_bucket(self) -> str:
        name = f"hub-{uuid.uuid4().hex[:12]}"
        self.client().make_bucket(name)
        return name

    def blob_url(self, bucket: str, *, credentials_in_url: bool = True) -> str:
        url = f"s3://{bucket}?endpoint={self.endpoint}&secure=false"
        if credentials_in_url:
            url += f"&access_key={ACCESS_KEY}&secret_key={SECRET_KEY}"
        return url

    def stop(self) -> None:
        """Kill the server outright, as a crashed or unplugged store would vanish."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server = S3Server.start()
    yield server
    server.stop()
