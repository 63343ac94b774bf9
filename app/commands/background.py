"""`hub background`: the background jobs in a process of their own, for deployments whose serving
processes leave them out (`HUB_SERVE_BACKGROUND_JOBS=false`, docs/deployment.md)."""

from __future__ import annotations

import argparse

from app.background import run_background_jobs
from hub.settings import Settings


def cmd_background(args: argparse.Namespace, settings: Settings) -> None:
    run_background_jobs(settings, announce=True)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    background = commands.add_parser(
        "background",
        help="run the background jobs (the log's sequencer, supervision, ...) alone, beside serving "
        "processes with HUB_SERVE_BACKGROUND_JOBS=false; several may run",
    )
    background.set_defaults(handler=cmd_background)
