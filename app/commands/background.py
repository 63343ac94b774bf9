"""`hub background`: the background jobs in a process of their own, for deployments whose serving
processes leave them out (`HUB_SERVE_BACKGROUND_JOBS=false`, docs/deployment.md)."""

from __future__ import annotations

import argparse
import sys

from app.background import CannotStart, run_background_jobs
from hub.settings import Settings


def cmd_background(args: argparse.Namespace, settings: Settings) -> None:
    given = {"background_metrics_port": args.metrics_port, "background_metrics_host": args.metrics_host}
    settings = settings.model_copy(update={name: value for name, value in given.items() if value is not None})
    try:
        run_background_jobs(settings, announce=True)
    except CannotStart as failed:
        print(failed, file=sys.stderr)
        raise SystemExit(1) from None


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
