"""The signer's own record of the last tree head it signed, kept outside the database.

The database's owner can rewrite entries, tiles, the tree state and the stored checkpoints in one
go; a hub that trusted only the database would then sign the rewritten tree. So the signer keeps
the last head it signed (tree size, root hash, signed note) in a file under HUB_SECRETS_DIR,
written atomically with mode 0600 and fsynced with its folder (an operator may put it on
write-once storage), and signs a new tree only after an RFC 9162 consistency proof from that head
checks (hub/audit/sequencer.py). Several hub processes share the folder: a lock file serialises
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
        if not self.path.exists():
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            root = base64.b64decode(data["root_hash"], validate=True)
            head = SignedHead(str(data["origin"]), int(data["tree_size"]), root, str(data["note"]))
        except (OSError, ValueError, KeyError, TypeError, binascii.Error) as error:
            raise HeadFileError(f"cannot read {self.path.name}: {type(error).__name__}") from None
        if len(root) != HASH_SIZE or head.tree_size < 0:
            raise HeadFileError(f"{self.path.name} holds no valid tree head")
        return head

    def write(self, head: SignedHead) -> None:
        """Replace the head atomically: a temporary file, fsync, rename, fsync of the folder."""
        document = {
            "origin": head.origin,
            "tree_size": head.tree_size,
            "root_hash": base64.b64encode(head.root_hash).decode("ascii"),
            "note": head.note,
        }
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.dir / f".{self.path.name}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle)
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
