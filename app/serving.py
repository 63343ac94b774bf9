"""`hub serve --workers N`: N uvicorn workers, each on a listening socket of its own, and one
process for the background jobs.

uvicorn's own supervisor hands one listening socket to all its workers, and a worker that wakes
first accepts every connection waiting: under `wrk`, 16 keep-alive connections split 12 to 4 in two
runs out of two, one worker saturated while the other idled, for the whole run (docs/performance.md).
Here each worker gets its own socket, bound to the same address with SO_REUSEPORT, and the kernel
spreads new connections over the sockets by a hash of each connection's addresses.

The sockets are bound by this process before any worker starts, so a worker that dies is
replaced on the same socket and no connection waiting in its queue is refused meanwhile. A worker
that could not start (uvicorn's start-up failure code: the app cannot load, its lifespan failed)
stops the server, as uvicorn's supervisor does. SIGINT and SIGTERM stop every worker gracefully.

The workers only serve; the log's sequencer, supervision and the other background jobs run in one
more process (app/background.py), replaced like a worker if it dies.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import signal
import socket
import sys
import threading
from multiprocessing.context import SpawnProcess
from typing import Any

log = logging.getLogger("hub.serve")

# mallopt(3)'s M_MMAP_THRESHOLD: blocks this size or larger get a mapping of their own, returned to
# the system when freed. Above a download's 2 MiB buffers, below an upload's 5 MiB S3 parts.
M_MMAP_THRESHOLD = -3
OWN_MAPPING_BYTES = 4 * 1024 * 1024
# mallopt(3)'s M_TRIM_THRESHOLD: free memory kept at the top of a heap before it is given back.
# Fixing the mmap threshold would leave this at 128 KiB, and a download's 2 MiB buffers would be
# given back and faulted in again each time (measured: 0.4 CPU-s more per GiB served); glibc's own
# rule keeps twice the mmap threshold.
M_TRIM_THRESHOLD = -1
KEPT_FREE_BYTES = 2 * OWN_MAPPING_BYTES
# mallopt(3)'s M_ARENA_MAX: how many heaps ("arenas") threads allocate from. glibc's default, 8 per
# core, gives each worker thread (anyio's, the S3 part senders) a heap of its own sooner or later,
# and each keeps up to KEPT_FREE_BYTES free; with two, a 1 GiB upload's peak and the idle footprint
# after transfers were each 3 MiB lower (docs/documents.md, "Memory, third pass").
M_ARENA_MAX = -8
ARENAS = 2


def give_freed_memory_back() -> None:
    """Keep a serving process's memory at what it holds, not at the most it ever held.

    glibc raises the mmap threshold to the largest block freed so far (up to 32 MiB), so after the
    first upload its 5 MiB parts come from the threads' heaps, which keep them once freed:
    measured on a 1 GiB upload, a peak 11 MiB higher and 2 MiB more kept afterwards
    (docs/documents.md, "Downloads and memory, second pass"). Fixing the threshold stops that.
    Threads share ARENAS heaps instead of one each (arenas made before the call stay). What a
    large transfer freed under later allocations is given back after it (storage/blobs/memory.py).
    Where the C library is not glibc, this does nothing.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(M_MMAP_THRESHOLD, OWN_MAPPING_BYTES)
    mallopt(M_TRIM_THRESHOLD, KEPT_FREE_BYTES)
    mallopt(M_ARENA_MAX, ARENAS)


def reuse_port_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` listening sockets on one address, for the kernel to spread connections over."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sockets = []
    for _ in range(count):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.set_inheritable(True)
        sockets.append(sock)
        port = sock.getsockname()[1]  # `--port 0`: every socket on the port the first one got
    return sockets


def _worker(config: dict[str, Any], sock: socket.socket) -> None:
    import os

    import uvicorn

    os.environ["HUB_SERVE_BACKGROUND_JOBS"] = "false"  # the background process runs them
    give_freed_memory_back()
    server = uvicorn.Server(uvicorn.Config(**config))
    server.run(sockets=[sock])


def _background() -> None:
    from uvicorn.config import STARTUP_FAILURE

    from app.background import CannotStart, run_background_jobs

    try:
        run_background_jobs()
    except CannotStart as failed:  # stop the server, as for a worker that cannot start; not restart it forever
        print(failed, file=sys.stderr)
        sys.exit(STARTUP_FAILURE)


class Workers:
    def __init__(self, config: dict[str, Any], sockets: list[socket.socket]) -> None:
        self._context = multiprocessing.get_context("spawn")
        # What each process runs: a worker per socket, then the background jobs.
        self._targets: list[tuple[Any, tuple[Any, ...]]] = [(_worker, (config, sock)) for sock in sockets]
        self._targets.append((_background, ()))
        self._processes: list[SpawnProcess] = []
        self._stopping = threading.Event()

    def _start(self, index: int) -> SpawnProcess:
        target, args = self._targets[index]
        process = self._context.Process(target=target, args=args, daemon=False)
        process.start()
        return process

    def run(self) -> int:
        from uvicorn.config import STARTUP_FAILURE

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self._stopping.set())
        self._processes = [self._start(index) for index in range(len(self._targets))]
        status = 0
        while not self._stopping.wait(0.5):
            for index, process in enumerate(self._processes):
                if process.is_alive():
                    continue
                if process.exitcode == STARTUP_FAILURE:
                    log.error("worker %s could not start; stopping", process.pid)
                    status = 1
                    self._stopping.set()
                    break
                log.warning("worker %s died (code %s); starting another", process.pid, process.exitcode)
                self._processes[index] = self._start(index)
        for process in self._processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        for process in self._processes:
            process.join()
        return status


def serve_workers(config: dict[str, Any], host: str, port: int, workers: int) -> None:
    """Serve `config` (uvicorn.Config's keyword arguments) with `workers` processes until stopped."""
    sockets = reuse_port_sockets(host, port, workers)
    try:
        status = Workers({**config, "workers": 1}, sockets).run()
    finally:
        for sock in sockets:
            sock.close()
    sys.exit(status)
