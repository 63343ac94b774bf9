"""`hub background`: the background jobs in a process of their own, for deployments whose serving
processes leave them out (`HUB_SERVE_BACKGROUND_JOBS=false`, docs/deployment.md)."""

from __future__ import annotations

import argparse

from app.background import run_background_jobs
from hub.settings import Settings


def cmd_background(args: argparse.Namespace, settings: Settings) -> None:
    port = settings.background_metrics_port if args.metrics_port is None else args.metrics_port
    host = args.metrics_host or settings.background_metrics_host
    run_background_jobs(settings, announce=True, metrics_at=(host, port) if port is not None else None)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    background = commands.add_parser(
        "background",
        help="run the background jobs (the log's sequencer, supervision, ...) alone, beside serving "
        "processes with HUB_SERVE_BACKGROUND_JOBS=false; several may run",
    )
    background.add_argument(
        "--metrics-port",
        type=int,
        help="serve this process's Prometheus metrics on this port (0: a free one); default "
        "HUB_BACKGROUND_METRICS_PORT, none if unset",
    )
    background.add_argument(
        "--metrics-host", help="the address to serve them on (default HUB_BACKGROUND_METRICS_HOST, 127.0.0.1)"
    )
    background.set_defaults(handler=cmd_background)
