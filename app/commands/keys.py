"""`hub keys`: list and rotate the master keys (document store) and signing keys (access log)."""

from __future__ import annotations

import argparse
import asyncio

from hub.keys.keyring import Keyring
from hub.services import hub_for
from hub.settings import Settings


def cmd_list(args: argparse.Namespace, settings: Settings) -> None:
    keyring = Keyring(settings.secrets_dir)
    current_master, masters = keyring.master_keys()
    current_signing, signers = keyring.signing_keys()
    for key_id in sorted(masters):
        print(f"master   {key_id}{'  (current)' if key_id == current_master else ''}")
    for key_id, key in sorted(signers.items()):
        marker = "  (current)" if key_id == current_signing else ""
        print(f"signing  {key_id}  public {key.public_bytes().hex()}{marker}")


async def _rewrap(settings: Settings) -> int:
    """Re-wrap every stored blob's data key under the new current master key."""
    async with hub_for(settings) as hub:
        assert hub.documents is not None
        return await hub.documents.rewrap_data_keys()


def cmd_rotate(args: argparse.Namespace, settings: Settings) -> None:
    keyring = Keyring(settings.secrets_dir)
    if args.kind == "master":
        key_id = keyring.rotate_master_key()
        rewrapped = asyncio.run(_rewrap(settings))
        print(f"new master key {key_id}; re-wrapped {rewrapped} blob data keys under it (blobs are not rewritten)")
        print("older keys stay in the keyring: the oldest keys blob names, and links name their key")
    else:
        key_id = keyring.rotate_signing_key()
        print(f"new signing key {key_id}; checkpoints signed with older keys still verify")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser("keys", help="master and signing keys").add_subparsers(
        dest="keys_command", required=True
    )
    keys.add_parser("list", help="list keys (public parts only)").set_defaults(handler=cmd_list)
    rotate = keys.add_parser("rotate", help="make a new current key")
    rotate.add_argument("--kind", choices=["master", "signing"], required=True)
    rotate.set_defaults(handler=cmd_rotate)
