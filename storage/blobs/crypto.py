"""Encryption at rest: AES-256-GCM over fixed-size chunks, with a random data key per blob.

The construction is the STREAM scheme of Hoang, Reyhanitabar, Rogaway and Vizár ("Online
Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015), as age and Tink use
it: chunk i is sealed with the 96-bit nonce `i (11 bytes, big-endian) || final flag (1 byte)`.
The nonce authenticates each chunk's position and whether it is the last, so altered, reordered,
dropped or truncated chunks fail to decrypt. A data key seals one blob only, which makes the
counter nonce safe. Data keys are wrapped with AES Key Wrap (RFC 3394) under a master key.

Fixed-size chunks keep memory flat whatever the blob size, and let a byte range be served by
decrypting only the chunks it covers.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

DATA_KEY_BYTES = 32
TAG_BYTES = 16
COUNTER_BYTES = 11
FORMAT = b"hub-blob-v1"
DEFAULT_CHUNK_SIZE = 256 * 1024


class DecryptionFailed(Exception):
    """Ciphertext or a wrapped key failed authentication: altered, truncated or the wrong key."""


def new_data_key() -> bytes:
    return os.urandom(DATA_KEY_BYTES)


def wrap_key(master_key: bytes, data_key: bytes) -> bytes:
    """RFC 3394 AES Key Wrap of a data key under a master key."""
    return aes_key_wrap(master_key, data_key)


def unwrap_key(master_key: bytes, wrapped: bytes) -> bytes:
    try:
        return aes_key_unwrap(master_key, wrapped)
    except InvalidUnwrap:
        raise DecryptionFailed("the data key does not unwrap under this master key") from None


def chunk_count(size: int, chunk_size: int) -> int:
    """Chunks sealing `size` plaintext bytes; an empty plaintext still gets one (final) chunk."""
    return max(1, -(-size // chunk_size))


def ciphertext_size(size: int, chunk_size: int) -> int:
    return size + TAG_BYTES * chunk_count(size, chunk_size)


def _nonce(index: int, final: bool) -> bytes:
    return index.to_bytes(COUNTER_BYTES, "big") + (b"\x01" if final else b"\x00")


def _associated_data(chunk_size: int) -> bytes:
    return FORMAT + chunk_size.to_bytes(4, "big")


class EncryptingReader:
    """A file-like `read(n)` over the ciphertext of `size` plaintext bytes read from `source`.

    Object store clients pull from it part by part, so at most one part is ever held in memory.
    """

    def __init__(self, source: BinaryIO, data_key: bytes, size: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        self._source = source
        self._aead = AESGCM(data_key)
        self._aad = _associated_data(chunk_size)
        self._chunk_size = chunk_size
        self._chunks = chunk_count(size, chunk_size)
        self._size = size
        self._index = 0
        self._consumed = 0
        self._leftover = b""
        self.length = ciphertext_size(size, chunk_size)

    def _seal_next(self) -> bytes:
        final = self._index == self._chunks - 1
        want = self._size - self._consumed if final else self._chunk_size
        plaintext = self._source.read(want)
        if len(plaintext) != want:
            raise ValueError("the source ended before its declared size")
        self._consumed += want
        sealed = self._aead.encrypt(_nonce(self._index, final), plaintext, self._aad)
        self._index += 1
        return sealed

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.length
        parts, gathered = [self._leftover], len(self._leftover)
        while gathered < n and self._index < self._chunks:
            sealed = self._seal_next()
            parts.append(sealed)
            gathered += len(sealed)
        joined = b"".join(parts)
        self._leftover = joined[n:]
        return joined[:n] if gathered > n else joined

    def __iter__(self) -> Iterator[bytes]:
        if self._leftover:
            yield self._leftover
            self._leftover = b""
        while self._index < self._chunks:
            yield self._seal_next()


def encrypt(data: bytes, data_key: bytes, chunk_size: int = DEFAULT_CHUNK_SIZE) -> bytes:
    """Whole-buffer convenience for small blobs and tests."""
    return EncryptingReader(io.BytesIO(data), data_key, len(data), chunk_size).read()


def sealed_chunk_size(chunk_size: int) -> int:
    return chunk_size + TAG_BYTES


def chunk_span(start: int, end: int, size: int, chunk_size: int) -> tuple[int, int, int]:
    """For plaintext bytes [start, end] (inclusive): (first chunk, ciphertext offset, ciphertext length)."""
    first, last = start // chunk_size, end // chunk_size
    sealed = chunk_size + TAG_BYTES
    offset = first * sealed
    length = min((last + 1) * sealed, ciphertext_size(size, chunk_size)) - offset
    return first, offset, length


class ChunkDecryptor:
    """Opens sealed chunks from `first_index` on; feed it ciphertext in pieces of any length."""

    def __init__(self, data_key: bytes, size: int, chunk_size: int, first_index: int = 0) -> None:
        self._aead = AESGCM(data_key)
        self._aad = _associated_data(chunk_size)
        self._sealed = chunk_size + TAG_BYTES
        self._chunks = chunk_count(size, chunk_size)
        self._last_sealed = ciphertext_size(size, chunk_size) - (self._chunks - 1) * self._sealed
        self._index = first_index
        self._buffer = bytearray()

    def _want(self) -> int:
        return self._last_sealed if self._index == self._chunks - 1 else self._sealed

    def _open(self, sealed: bytes | memoryview) -> bytes:
        final = self._index == self._chunks - 1
        try:
            plaintext = self._aead.decrypt(_nonce(self._index, final), sealed, self._aad)
        except InvalidTag:
            raise DecryptionFailed(f"chunk {self._index} failed authentication") from None
        self._index += 1
        return plaintext

    def feed(self, ciphertext: bytes) -> list[bytes]:
        """Open every whole chunk available; pieces cut at chunk boundaries are never copied."""
        if self._buffer:
            self._buffer += ciphertext
            return self._open_whole(self._buffer)
        return self._open_whole(ciphertext)

    def _open_whole(self, data: bytes | bytearray) -> list[bytes]:
        opened: list[bytes] = []
        start = 0
        with memoryview(data) as view:
            while self._index < self._chunks and len(view) - start >= self._want():
                want = self._want()
                opened.append(self._open(view[start : start + want]))
                start += want
            rest = bytes(view[start:])
        self._buffer = bytearray(rest)
        return opened

    def finish(self, expected_end_index: int) -> None:
        """Raise unless every chunk up to `expected_end_index` (exclusive) arrived whole."""
        if self._buffer or self._index < expected_end_index:
            raise DecryptionFailed("the ciphertext ended early or has trailing bytes")


def decrypt_range(
    pieces: Iterable[bytes], data_key: bytes, size: int, chunk_size: int, start: int, end: int
) -> Iterator[bytes]:
    """Plaintext bytes [start, end] from ciphertext `pieces` covering exactly chunk_span(start, end)."""
    first, _, _ = chunk_span(start, end, size, chunk_size)
    last = end // chunk_size
    decryptor = ChunkDecryptor(data_key, size, chunk_size, first)
    position = first * chunk_size
    for piece in pieces:
        for plaintext in decryptor.feed(piece):
            lo = max(start - position, 0)
            hi = min(end + 1 - position, len(plaintext))
            position += len(plaintext)
            if lo < hi:
                yield plaintext[lo:hi] if (lo, hi) != (0, len(plaintext)) else plaintext
    decryptor.finish(last + 1)
