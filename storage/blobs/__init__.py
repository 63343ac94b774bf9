"""Blob stores: where the hub keeps encrypted blob bytes, behind one small interface.

Two stores exist, chosen by `HUB_BLOB_URL` (see `open_blob_store` and docs/documents.md):
a local folder (`file://./var/blobs`, the default) and any S3-compatible object store through the
minio SDK (`s3://bucket?endpoint=host:port&secure=false`). A store only moves opaque bytes:
naming, encryption and bookkeeping live in hub/documents/store.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol


class BlobStoreError(Exception):
    """The store failed or could not be reached; the message names no secret."""


class BlobNotFound(BlobStoreError):
    pass


@dataclass(frozen=True, slots=True)
class StoredObject:
    name: str
    size: int
    modified_at: datetime


class BlobStore(Protocol):
    """Blocking calls; the hub runs them in worker threads.

    `put` is atomic: readers see the whole object under `name` or nothing, even if the writer
    crashes midway (a temp file renamed into place, or an S3 upload completed in one request).
    """

    description: str

    def put(self, name: str, data: BinaryIO, length: int) -> None: ...

    def read(self, name: str, offset: int, length: int) -> Iterator[bytes]:
        """Bytes [offset, offset + length) in pieces; closing the iterator releases the connection."""
        ...

    def exists(self, name: str) -> bool: ...

    def delete(self, name: str) -> None: ...

    def objects(self) -> Iterator[StoredObject]:
        """Every complete object (gc finds objects no row knows of)."""
        ...

    def remove_partial_writes(self, older_than: datetime, *, dry_run: bool = False) -> int:
        """Drop what interrupted writes left behind before `older_than` (only count it if `dry_run`);
        returns how many."""
        ...

    def check(self) -> None:
        """Raise BlobStoreError unless the store is reachable and writable."""
        ...


def open_blob_store(url: str, *, access_key: str | None = None, secret_key: str | None = None) -> BlobStore:
    """The store a `HUB_BLOB_URL` names; S3 credentials come from the URL or the given settings."""
    from storage.blobs.url import parse_blob_url

    location = parse_blob_url(url)
    if location.scheme == "file" and location.path is not None:  # parse_blob_url gives every file:// a path
        from storage.blobs.local import LocalBlobStore

        return LocalBlobStore(location.path)
    from storage.blobs.s3 import S3BlobStore

    return S3BlobStore(
        endpoint=location.endpoint,
        bucket=location.bucket,
        prefix=location.prefix,
        access_key=location.access_key or access_key,
        secret_key=location.secret_key or secret_key,
        secure=location.secure,
        region=location.region,
    )
