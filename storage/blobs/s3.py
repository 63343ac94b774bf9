"""A blob store in an S3-compatible bucket (MinIO, AWS S3, Ceph RGW) through the minio SDK.

Large objects go up as multipart uploads of PART_SIZE parts, PARALLEL_PARTS at a time, each read
into a buffer of its own only once an earlier part is sent, so memory stays at PARALLEL_PARTS
parts; an object becomes visible only when its upload completes, so a failed or killed writer
leaves no partial object, only an incomplete upload that `remove_partial_writes` aborts.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime
from typing import BinaryIO, Protocol, cast

import urllib3
from minio import Minio
from minio.datatypes import Part
from minio.error import MinioException, S3Error

from storage.blobs import BlobNotFound, BlobStoreError, StoredObject
from storage.blobs.crypto import DEFAULT_CHUNK_SIZE, sealed_chunk_size

# Parts and read pieces are whole sealed chunks of the default chunk size, so neither encrypting
# nor decrypting has to re-cut them. A part is 20 chunks (just over S3's 5 MiB minimum part); a
# read piece is 8 chunks, which the document store decrypts into one 2 MiB buffer and sends to the
# client in one write (docs/documents.md, "Where download time goes").
PART_SIZE = 20 * sealed_chunk_size(DEFAULT_CHUNK_SIZE)
MAX_PARTS = 10_000
PARALLEL_PARTS = 2
READ_PIECE = 8 * sealed_chunk_size(DEFAULT_CHUNK_SIZE)
# Fail fast when the store is down: a request waits at most this long for a connection.
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 60
STORE_ERRORS = (MinioException, urllib3.exceptions.HTTPError, OSError, ValueError)


class _ReadsInto(Protocol):
    def readinto(self, buffer: bytearray | memoryview) -> int: ...


def _http_client() -> urllib3.PoolManager:
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT),
        maxsize=16,
        retries=urllib3.Retry(total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )


def part_size_for(length: int) -> int:
    """PART_SIZE, or a multiple of it when the object would otherwise need more than MAX_PARTS."""
    return PART_SIZE * max(1, -(-length // (PART_SIZE * MAX_PARTS)))


class S3BlobStore:
    def __init__(
        self,
        *,
        endpoint: str,
        bucket: str,
        prefix: str = "",
        access_key: str | None,
        secret_key: str | None,
        secure: bool = True,
        region: str = "us-east-1",
    ) -> None:
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.description = f"s3 bucket {bucket} at {endpoint}"
        self.client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=_http_client(),
        )

    def _key(self, name: str) -> str:
        return self.prefix + name

    def _fail(self, action: str, error: Exception) -> BlobStoreError:
        detail = error.code if isinstance(error, S3Error) else type(error).__name__
        return BlobStoreError(f"cannot {action} on {self.description}: {detail}")

    def put(self, name: str, data: BinaryIO, length: int) -> None:
        part_size = part_size_for(length)
        try:
            if length <= part_size:
                self.client.put_object(self.bucket, self._key(name), data, length, part_size=part_size)
            else:
                self._put_in_parts(self._key(name), data, length, part_size)
        except STORE_ERRORS as error:
            raise self._fail("write blob", error) from None

    def _put_in_parts(self, key: str, data: BinaryIO, length: int, part_size: int) -> None:
        """A multipart upload holding at most PARALLEL_PARTS parts in memory.

        minio's `put_object` reads a third part (and joins its chunks into a copy) while two are
        sent: measured, 10 MiB more at the peak of a 1 GiB upload. Its multipart calls are
        internal to the SDK, like those `remove_partial_writes` uses.
        """
        upload_id = self.client._create_multipart_upload(  # noqa: SLF001
            self.bucket, key, {"Content-Type": "application/octet-stream"}
        )
        try:
            etags = self._upload_parts(key, upload_id, cast(_ReadsInto, data), length, part_size)
            parts = [Part(number, etag) for number, etag in sorted(etags.items())]
            self.client._complete_multipart_upload(self.bucket, key, upload_id, parts)  # noqa: SLF001
        except BaseException:
            try:
                self.client._abort_multipart_upload(self.bucket, key, upload_id)  # noqa: SLF001
            except STORE_ERRORS:
                pass  # the upload's own error is the one to report; gc aborts what is left
            raise

    def _upload_parts(self, key: str, upload_id: str, data: _ReadsInto, length: int, part_size: int) -> dict[int, str]:
        """Each part is sealed into one of PARALLEL_PARTS buffers, taken back once its part is sent.

        A new buffer per part was freed only when the thread that sent it let go of it, which can
        come after the next part is allocated: measured, three 5 MiB parts at the peak of a 1 GiB
        upload instead of two.
        """
        etags: dict[int, str] = {}
        spare: list[bytearray] = []
        with ThreadPoolExecutor(PARALLEL_PARTS, thread_name_prefix="s3-part") as pool:
            sending: dict[Future[str], tuple[int, bytearray]] = {}
            for number, offset in enumerate(range(0, length, part_size), start=1):
                if len(sending) == PARALLEL_PARTS:
                    done, _ = wait(sending, return_when=FIRST_COMPLETED)
                    for future in done:
                        sent, buffer = sending.pop(future)
                        etags[sent] = future.result()
                        spare.append(buffer)
                buffer = spare.pop() if spare else bytearray(part_size)
                part = memoryview(buffer)[: min(part_size, length - offset)]
                if data.readinto(part) != len(part):
                    raise ValueError("the source ended before its declared size")
                # minio types the part `bytes`; it only measures, hashes and hands it to urllib3,
                # which sends any bytes-like body.
                upload = pool.submit(self.client._upload_part, self.bucket, key, part, None, upload_id, number)  # type: ignore[arg-type]  # noqa: SLF001
                sending[upload] = number, buffer
            for future, (number, _) in sending.items():
                etags[number] = future.result()
        return etags

    def read(self, name: str, offset: int, length: int) -> Iterator[bytes]:
        try:
            response = self.client.get_object(self.bucket, self._key(name), offset=offset, length=length)
        except S3Error as error:
            if error.code == "NoSuchKey":
                raise BlobNotFound(f"blob {name[:12]}… is missing from {self.description}") from None
            raise self._fail("read blob", error) from None
        except STORE_ERRORS as error:
            raise self._fail("read blob", error) from None
        return self._pieces(response)

    def _pieces(self, response: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
        try:
            yield from response.stream(READ_PIECE)
        except STORE_ERRORS as error:
            raise self._fail("read blob", error) from None
        finally:
            response.close()
            response.release_conn()

    def exists(self, name: str) -> bool:
        try:
            self.client.stat_object(self.bucket, self._key(name))
            return True
        except S3Error as error:
            if error.code in ("NoSuchKey", "NoSuchObject"):
                return False
            raise self._fail("look up blob", error) from None
        except STORE_ERRORS as error:
            raise self._fail("look up blob", error) from None

    def delete(self, name: str) -> None:
        try:
            self.client.remove_object(self.bucket, self._key(name))
        except STORE_ERRORS as error:
            raise self._fail("delete blob", error) from None

    def objects(self) -> Iterator[StoredObject]:
        try:
            for item in self.client.list_objects(self.bucket, prefix=self.prefix or None, recursive=True):
                yield StoredObject(item.object_name[len(self.prefix) :], item.size or 0, item.last_modified)
        except STORE_ERRORS as error:
            raise self._fail("list blobs", error) from None

    def remove_partial_writes(self, older_than: datetime, *, dry_run: bool = False) -> int:
        # The SDK exposes listing and aborting multipart uploads only as internal calls; a bucket
        # lifecycle rule (AbortIncompleteMultipartUpload) is the belt to these braces.
        removed = 0
        try:
            key_marker = upload_marker = None
            while True:
                page = self.client._list_multipart_uploads(  # noqa: SLF001
                    self.bucket, prefix=self.prefix or None, key_marker=key_marker, upload_id_marker=upload_marker
                )
                for upload in page.uploads:
                    if upload.initiated_time is None or upload.initiated_time < older_than:
                        if not dry_run:
                            # minio types `upload_id` optional; S3 lists every incomplete upload with one.
                            self.client._abort_multipart_upload(self.bucket, upload.object_name, upload.upload_id)  # type: ignore[arg-type]  # noqa: SLF001
                        removed += 1
                if not page.is_truncated:
                    return removed
                key_marker, upload_marker = page.next_key_marker, page.next_upload_id_marker
        except STORE_ERRORS as error:
            raise self._fail("list incomplete uploads", error) from None

    def check(self) -> None:
        try:
            if not self.client.bucket_exists(self.bucket):
                raise BlobStoreError(f"{self.description}: the bucket does not exist")
        except STORE_ERRORS as error:
            raise self._fail("reach the bucket", error) from None

    def create_bucket(self) -> None:
        """Used by `hub blobs init` and the tests; production buckets are usually made by ops."""
        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
        except STORE_ERRORS as error:
            raise self._fail("create the bucket", error) from None
