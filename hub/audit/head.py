"""The signer's own record of the last tree head it signed, kept outside the database.

The database's owner can rewrite entries, tiles, the tree state and the stored checkpoints in one
go; a hub that trusted only the database would then sign the rewritten tree. So the signer keeps
the last head it signed (tree size, root hash, signed note) under HUB_SECRETS_DIR, in a file
replaced atomically (mode 0600, fsynced with its folder) and appended to a journal that only
grows, which an operator may make append-only (`chattr +a`) or keep on write-once storage; and it
signs a new tree only after an RFC 9162 consistency proof from that head checks
(hub/audit/sequencer.py). Several hub processes share the folder: a lock file serialises
read-check-sign-write, so two signers never both extend the same head.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import fcntl
import json
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from hub.audit.merkle import HASH_SIZE

HEAD_FILE = "audit-head.json"
LOCK_FILE = "audit-head.lock"
LOCK_POLL_SECONDS = 0.005
JOURNAL_TAIL_BYTES = 64 * 1024  # more than one head line (a note of a few hundred bytes)


class HeadFileError(ValueError):
    """The head file exists but cannot be read: signing stops rather than start over."""


@dataclass(frozen=True, slots=True)
class SignedHead:
    origin: str
    tree_size: int
    root_hash: bytes
    note: str


class HeadStore:
    """The head file of one secrets folder; `locked()` around every read-check-sign-write.

    A witness keeps the last checkpoint it cosigned per origin the same way, under other names.
    """

    def __init__(self, secrets_dir: Path, name: str = HEAD_FILE) -> None:
        self.dir = Path(secrets_dir)
        self.path = self.dir / name
        self.journal = self.path.with_suffix(".jsonl")
        self.lock_path = self.dir / (LOCK_FILE if name == HEAD_FILE else f"{name}.lock")

    @contextmanager
    def locked(self) -> Iterator[None]:
        """An exclusive lock shared by every process of this secrets folder (flock, released
        by the kernel if the process dies)."""
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    @asynccontextmanager
    async def locked_async(self) -> AsyncIterator[None]:
        """The same lock for a coroutine: polled without blocking, so a signer waiting for another
        process never stalls its event loop (nor a coroutine of its own that holds the lock)."""
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    await asyncio.sleep(LOCK_POLL_SECONDS)
            yield
        finally:
            os.close(fd)

    def read(self) -> SignedHead | None:
        """The newest head: the head file's, or the journal's last line if that one is larger
        (the head file was deleted or replaced by an older copy, but the journal was append-only)."""
        head = _parse(self.path.read_bytes(), self.path.name) if self.path.exists() else None
        last = self._journal_tail()
        if last is None:
            return head
        journaled = _parse(last, self.journal.name)
        if head is None or journaled.tree_size > head.tree_size:
            return journaled
        if journaled.tree_size == head.tree_size and journaled.root_hash != head.root_hash:
            raise HeadFileError(f"{self.path.name} and {self.journal.name} hold different roots for one size")
        return head

    def write(self, head: SignedHead) -> None:
        """Append the head to the journal, then replace the head file atomically (a temporary
        file, fsync, rename, fsync of the folder)."""
        line = json.dumps(
            {
                "origin": head.origin,
                "tree_size": head.tree_size,
                "root_hash": base64.b64encode(head.root_hash).decode("ascii"),
                "note": head.note,
            }
        ).encode("utf-8")
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        journal = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(journal, line + b"\n")
            os.fsync(journal)
        finally:
            os.close(journal)
        tmp = self.dir / f".{self.path.name}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        folder = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    def _journal_tail(self) -> bytes | None:
        """The journal's last complete line, read from its end (the journal only grows)."""
        if not self.journal.exists():
            return None
        with open(self.journal, "rb") as handle:
            end = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, end - JOURNAL_TAIL_BYTES))
            lines = [line for line in handle.read().split(b"\n") if line]
        return lines[-1] if lines else None


def _parse(raw: bytes, name: str) -> SignedHead:
    try:
        data = json.loads(raw)
        root = base64.b64decode(data["root_hash"], validate=True)
        head = SignedHead(str(data["origin"]), int(data["tree_size"]), root, str(data["note"]))
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        raise HeadFileError(f"cannot read {name}: {type(error).__name__}") from None
    if len(root) != HASH_SIZE or head.tree_size < 0:
        raise HeadFileError(f"{name} holds no valid tree head")
    return head
