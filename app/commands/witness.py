"""`hub witness`: run a witness of transparency logs (C2SP tlog-witness) and show its key.

A witness runs apart from the hub it watches, ideally by another organisation, with its own key
in its own state folder; the hub lists it in HUB_WITNESSES (URL and the key `hub witness key`
prints) and auditors name its key in `hub audit verify --witness`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hub.settings import Settings

if TYPE_CHECKING:
    from hub.audit.checkpoint import VerifierKey
    from hub.witness.state import WitnessIdentity, WitnessState


def _identity(args: argparse.Namespace) -> tuple[WitnessState, WitnessIdentity]:
    from hub.witness.state import WitnessState, WitnessStateError

    state = WitnessState(Path(args.state))
    try:
        return state, state.identity(args.name)
    except WitnessStateError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_key(args: argparse.Namespace, settings: Settings) -> None:
    """The witness's cosigning key as a verifier key (creates it on first use)."""
    _, identity = _identity(args)
    print(identity.public.text())


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from hub.audit.checkpoint import CheckpointError
    from hub.audit.verify import read_keys
    from hub.witness.protocol import Witness
    from hub.witness.server import witness_app

    state, identity = _identity(args)
    logs: dict[str, list[VerifierKey]] = {}
    try:
        keys = read_keys(args.log)
    except (CheckpointError, OSError) as error:
        print(f"error: cannot read a log's key: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    for key in keys:
        logs.setdefault(key.name, []).append(key)
    print(f"witness {identity.public.text()}")
    print(f"witnessing {', '.join(sorted(logs))} on http://{args.host}:{args.port}/add-checkpoint")
    uvicorn.run(witness_app(Witness(state, identity, logs)), host=args.host, port=args.port, log_level="warning")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    witness = commands.add_parser("witness", help="a witness that cosigns consistent checkpoints").add_subparsers(
        dest="witness_command", required=True
    )
    for name, handler, text in (
        ("serve", cmd_serve, "serve POST /add-checkpoint (C2SP tlog-witness)"),
        ("key", cmd_key, "print the witness's cosigning key (creating it on first use)"),
    ):
        command = witness.add_parser(name, help=text)
        command.add_argument("--state", required=True, help="the witness's own folder: its key and what it cosigned")
        command.add_argument("--name", required=True, help="the witness's key name, e.g. witness.example.org/w1")
        if name == "serve":
            command.add_argument(
                "--log", action="append", required=True, help="a log's verifier key, or a file of them (repeatable)"
            )
            command.add_argument("--host", default="127.0.0.1")
            command.add_argument("--port", type=int, default=7380)
        command.set_defaults(handler=handler)
