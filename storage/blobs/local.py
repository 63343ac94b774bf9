"""A blob store in a local folder: `<root>/<first 2 hex>/<name>`, written via temp file + rename."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from storage.blobs import BlobNotFound, BlobStoreError, StoredObject
from storage.blobs.crypto import DEFAULT_CHUNK_SIZE, sealed_chunk_size

INCOMING = ".incoming"
# Whole sealed chunks, so the decryptor opens them without re-cutting.
COPY_BYTES = 4 * sealed_chunk_size(DEFAULT_CHUNK_SIZE)


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.description = f"folder {self.root}"

    def _path(self, name: str) -> Path:
        if len(name) < 3 or not name.isalnum():
            raise BlobStoreError("blob names are alphanumeric")
        return self.root / name[:2] / name

    def put(self, name: str, data: BinaryIO, length: int) -> None:
        target = self._path(name)
        incoming = self.root / INCOMING
        try:
            incoming.mkdir(parents=True, exist_ok=True)
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise BlobStoreError(f"cannot write blob to {self.description}: {error.strerror}") from None
        temp = incoming / f"{name}.{secrets.token_hex(6)}"
        try:
            written = 0
            with open(temp, "wb") as handle:
                while piece := data.read(COPY_BYTES):
                    handle.write(piece)
                    written += len(piece)
                handle.flush()
                os.fsync(handle.fileno())
            if written != length:
                raise BlobStoreError(f"wrote {written} bytes where {length} were expected")
            os.replace(temp, target)  # atomic: the name shows the whole blob or nothing
        except OSError as error:
            raise BlobStoreError(f"cannot write blob to {self.description}: {error.strerror}") from None
        finally:
            temp.unlink(missing_ok=True)

    def read(self, name: str, offset: int, length: int) -> Iterator[bytes]:
        try:
            handle = open(self._path(name), "rb")  # noqa: SIM115  (closed by the generator below)
        except FileNotFoundError:
            raise BlobNotFound(f"blob {name[:12]}… is missing from {self.description}") from None
        except OSError as error:
            raise BlobStoreError(f"cannot read blob: {error.strerror}") from None
        return self._pieces(handle, offset, length)

    @staticmethod
    def _pieces(handle: BinaryIO, offset: int, length: int) -> Iterator[bytes]:
        with handle:
            handle.seek(offset)
            remaining = length
            while remaining > 0:
                piece = handle.read(min(COPY_BYTES, remaining))
                if not piece:
                    return
                remaining -= len(piece)
                yield piece

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def delete(self, name: str) -> None:
        try:
            self._path(name).unlink(missing_ok=True)
        except OSError as error:
            raise BlobStoreError(f"cannot delete blob: {error.strerror}") from None

    def objects(self) -> Iterator[StoredObject]:
        if not self.root.is_dir():
            return
        for shard in sorted(self.root.iterdir()):
            if shard.name == INCOMING or not shard.is_dir():
                continue
            for path in shard.iterdir():
                stat = path.stat()
                yield StoredObject(path.name, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))

    def remove_partial_writes(self, older_than: datetime, *, dry_run: bool = False) -> int:
        incoming = self.root / INCOMING
        if not incoming.is_dir():
            return 0
        removed = 0
        for path in incoming.iterdir():
            if datetime.fromtimestamp(path.stat().st_mtime, UTC) < older_than:
                if not dry_run:
                    path.unlink(missing_ok=True)
                removed += 1
        return removed

    def check(self) -> None:
        try:
            (self.root / INCOMING).mkdir(parents=True, exist_ok=True)
            if not os.access(self.root / INCOMING, os.W_OK):
                raise BlobStoreError(f"{self.description} is not writable")
        except OSError as error:
            raise BlobStoreError(f"{self.description} is unusable: {error.strerror}") from None
