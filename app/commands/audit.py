"""`hub audit`: export the access log, verify an export offline, sign a checkpoint, show keys."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

# Imported where used: `hub audit verify` needs none of the hub's services, only hub/audit/verify.py,
# and starts in a fraction of the time without them.
if TYPE_CHECKING:
    from hub.audit.export import ExportSummary
    from hub.settings import Settings
    from storage.models import AuditCheckpoint


class ProgressBar:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    WIDTH = 30

    def __init__(self, label: str) -> None:
        self.label = label
        self.started = time.perf_counter()
        self._drawn = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - self._drawn < 0.1 and done < total:
            return
        self._drawn = now
        fraction = done / total if total else 1.0
        filled = int(self.WIDTH * fraction)
        rate = done / max(now - self.started, 1e-9)
        sys.stderr.write(
            f"\r{self.label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {done:,}/{total:,} entries {rate:,.0f}/s"
        )
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")


AUDITOR_TOKEN_VARIABLE = "HUB_AUDITOR_TOKEN"


def cmd_export(args: argparse.Namespace, settings: Settings) -> None:
    """As an auditor principal (its token from a file or HUB_AUDITOR_TOKEN): the export is logged."""
    from hub.access.principals import principal_context, principal_token
    from hub.audit.export import export_for
    from hub.services import hub_for

    token = principal_token(args.token_file, AUDITOR_TOKEN_VARIABLE)

    async def run() -> ExportSummary:
        async with hub_for(settings) as hub, principal_context(hub, token) as ctx:
            # Written aside and renamed when whole: a refused or failed export leaves no file.
            partial = Path(f"{args.file}.partial")
            try:
                with open(partial, "wb") as out:
                    summary = await export_for(ctx, out, ProgressBar("exporting"))
                partial.replace(args.file)
                return summary
            finally:
                partial.unlink(missing_ok=True)

    summary = asyncio.run(run())
    print(
        f"\nwrote {args.file}: {summary.entries:,} entries, {summary.checkpoints} checkpoints, tree size {summary.tree_size:,}"
    )
    _check_export(Path(args.file), settings)


def _check_export(path: Path, settings: Settings) -> None:
    """Verify the export just written against the hub's own keys: a damaged log is named at its
    first bad entry now, not only when an auditor verifies it later. The file is kept either way
    (it is the evidence)."""
    from hub.audit.checkpoint import VerifierKey
    from hub.audit.verify import VerificationError, verify_file
    from hub.keys.keyring import Keyring

    _, keys = Keyring(settings.secrets_dir).signing_keys()
    trusted = [VerifierKey(settings.audit_origin, key.public_bytes()) for key in keys.values()]
    try:
        verify_file(path, trusted)
    except VerificationError as error:
        where = f" at entry {error.seq}" if error.seq is not None else ""
        print(f"FAILED{where}: {error.message}")
        raise SystemExit(1) from None
    print("the export verifies against the hub's signing keys")


def cmd_verify(args: argparse.Namespace, settings: Settings | None) -> None:
    """Needs no database, no network and no configuration: the export and the trusted public keys only."""
    from hub.audit.checkpoint import CheckpointError
    from hub.audit.cosignature import parse_witness_key
    from hub.audit.verify import VerificationError, read_keys, verify_file

    try:
        keys = read_keys(args.public_key)
        witnesses = [parse_witness_key(text) for text in _texts(args.witness or [])]
    except (CheckpointError, OSError) as error:
        print(f"error: cannot read a key: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    threshold = len(witnesses) if args.witness_threshold is None else args.witness_threshold
    if not 0 <= threshold <= len(witnesses) or (witnesses and threshold == 0):
        print(f"error: --witness-threshold must be between 1 and the {len(witnesses)} --witness keys", file=sys.stderr)
        raise SystemExit(2)
    bar = ProgressBar("verifying")
    try:
        kept = [Path(path).read_text(encoding="utf-8") for path in args.checkpoint or []]
        report = verify_file(Path(args.export), keys, bar, kept, witnesses, threshold)
    except VerificationError as error:
        bar.close()
        where = f" at entry {error.seq}" if error.seq is not None else ""
        # On stdout like OK, so a script reading the verdict sees either.
        print(f"FAILED{where}: {error.message}")
        raise SystemExit(1) from None
    except OSError as error:
        print(f"error: cannot read {args.export}: {error.strerror}", file=sys.stderr)
        raise SystemExit(2) from None
    bar.close()
    for warning in report.warnings:
        print(f"warning: {warning}")
    print(
        f"OK: {report.entries:,} entries, {report.checkpoints} signed checkpoints verified; "
        f"tree size {report.tree_size:,}, root {report.root_hash.hex()}"
    )
    if witnesses:
        print(
            f"witnessed: the newest checkpoint is cosigned by {report.cosigners} of {len(witnesses)} witnesses "
            f"(threshold {threshold}); witnessed up to tree size {report.witnessed_size:,}"
        )
    if report.unsigned_entries:
        print(f"note: the last {report.unsigned_entries:,} entries are not covered by a checkpoint yet")


def _texts(values: list[str]) -> list[str]:
    """Keys given as text or as files holding one key per line."""
    texts: list[str] = []
    for value in values:
        path = Path(value)
        texts.extend(path.read_text(encoding="utf-8").split() if path.is_file() else [value])
    return texts


def cmd_publish(args: argparse.Namespace, settings: Settings) -> None:
    """Tiles and checkpoints need no token (hashes and signatures only); `--entries` adds the
    entry bundles and runs as an auditor, like an export."""
    from hub.access.principals import principal_context, principal_token
    from hub.audit.publish import PublishError, PublishSummary, publish, publish_entries_for
    from hub.services import hub_for

    token = principal_token(args.token_file, AUDITOR_TOKEN_VARIABLE) if args.entries else None
    folder = Path(args.folder)

    async def run() -> PublishSummary:
        async with hub_for(settings) as hub:
            if token is None:
                return await publish(hub, folder)
            async with principal_context(hub, token) as ctx:
                return await publish_entries_for(ctx, folder, ProgressBar("publishing"))

    try:
        summary = asyncio.run(run())
    except PublishError as error:
        print(f"FAILED at entry {error.seq}: {error}")
        raise SystemExit(1) from None
    print(f"published tree size {summary.tree_size:,} to {folder}: {summary.files_written} files written")


def cmd_checkpoint(args: argparse.Namespace, settings: Settings) -> None:
    from hub.audit.sequencer import Sequencer
    from hub.services import hub_for
    from storage.repositories import audit as repo

    async def run() -> tuple[AuditCheckpoint | None, int]:
        async with hub_for(settings) as hub:
            await Sequencer(hub).integrate(force_checkpoint=True)
            async with hub.sessions() as session:
                state = await repo.log_state(session)
                return await repo.latest_checkpoint(session), state.tree_size if state else 0

    checkpoint, tree_size = asyncio.run(run())
    if checkpoint is None and tree_size == 0:
        print("the access log is empty: nothing to sign yet")
        return
    if checkpoint is None or checkpoint.tree_size < tree_size:
        # The signer refused (the tree does not extend its head file): the alarm is in the log.
        signed = checkpoint.tree_size if checkpoint else 0
        print(
            f"FAILED: the tree of size {tree_size:,} was not signed; the last checkpoint is of size {signed:,} "
            "(see the ACCESS LOG ALARM in the hub's log, docs/audit-log.md)"
        )
        raise SystemExit(1)
    print(checkpoint.note, end="")


def cmd_public_keys(args: argparse.Namespace, settings: Settings) -> None:
    """The verifier keys (public only) to hand to auditors for `hub audit verify --public-key`."""
    from hub.audit.checkpoint import VerifierKey
    from hub.keys.keyring import Keyring

    _, keys = Keyring(settings.secrets_dir).signing_keys()
    for _, key in sorted(keys.items()):
        print(VerifierKey(settings.audit_origin, key.public_bytes()).text())


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser("audit", help="the signed access log").add_subparsers(
        dest="audit_command", required=True
    )
    export = audit.add_parser("export", help="write the whole log as JSON Lines (docs/audit-log.md)")
    export.add_argument("file")
    export.add_argument(
        "--token-file", help=f"a file holding an auditor principal's token (default: ${AUDITOR_TOKEN_VARIABLE})"
    )
    export.set_defaults(handler=cmd_export)
    verify = audit.add_parser("verify", help="verify an export offline against trusted public keys")
    verify.add_argument("export")
    verify.add_argument(
        "--public-key", action="append", required=True, help="a verifier key, or a file of them (repeatable)"
    )
    verify.add_argument(
        "--checkpoint",
        action="append",
        help="a signed checkpoint you kept earlier; the export must extend it (repeatable)",
    )
    verify.add_argument("--witness", action="append", help="a witness's cosigning key, or a file of them (repeatable)")
    verify.add_argument(
        "--witness-threshold",
        type=int,
        help="how many of the --witness keys must have cosigned the newest checkpoint (default: all)",
    )
    verify.set_defaults(handler=cmd_verify, settings=False)
    publish = audit.add_parser("publish", help="write the checkpoint and tiles as static files (C2SP tlog-tiles)")
    publish.add_argument("folder")
    publish.add_argument(
        "--entries", action="store_true", help="add the entry bundles (they name applicants: needs an auditor's token)"
    )
    publish.add_argument(
        "--token-file", help=f"with --entries: a file holding an auditor's token (default: ${AUDITOR_TOKEN_VARIABLE})"
    )
    publish.set_defaults(handler=cmd_publish)
    audit.add_parser("checkpoint", help="sequence queued entries and sign a checkpoint now").set_defaults(
        handler=cmd_checkpoint
    )
    audit.add_parser("public-keys", help="print the verifier keys of every signing key").set_defaults(
        handler=cmd_public_keys
    )
