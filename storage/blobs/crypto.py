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
    """A file-like `read(n)` and `readinto(buffer)` over the ciphertext of `size` plaintext bytes
    read from `source`.

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

    def _next_chunk(self) -> tuple[bytes, bytes]:
        """The next chunk's nonce and plaintext, read from the source."""
        final = self._index == self._chunks - 1
        want = self._size - self._consumed if final else self._chunk_size
        plaintext = self._source.read(want)
        if len(plaintext) != want:
            raise ValueError("the source ended before its declared size")
        self._consumed += want
        self._index += 1
        return _nonce(self._index - 1, final), plaintext

    def _next_sealed_size(self) -> int:
        final = self._index == self._chunks - 1
        return (self._size - self._consumed if final else self._chunk_size) + TAG_BYTES

    def _seal_next(self) -> bytes:
        nonce, plaintext = self._next_chunk()
        return self._aead.encrypt(nonce, plaintext, self._aad)

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

    def readinto(self, buffer: bytearray | memoryview) -> int:
        """Fill `buffer` with the next ciphertext (io's `readinto`); returns how much, 0 at the end.

        Whole chunks are sealed straight into the buffer, so a store sending parts of whole chunks
        holds each part once, not as its chunks plus their joined copy.
        """
        with memoryview(buffer) as view:
            filled = 0
            if self._leftover:
                filled = min(len(self._leftover), len(view))
                view[:filled] = self._leftover[:filled]
                self._leftover = self._leftover[filled:]
            while filled < len(view) and self._index < self._chunks:
                sealed_size = self._next_sealed_size()
                if len(view) - filled >= sealed_size:
                    nonce, plaintext = self._next_chunk()
                    self._aead.encrypt_into(nonce, plaintext, self._aad, view[filled : filled + sealed_size])
                    filled += sealed_size
                else:
                    sealed = self._seal_next()
                    taken = len(view) - filled
                    view[filled:] = sealed[:taken]
                    self._leftover = sealed[taken:]
                    filled += taken
            return filled

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
        self._held = b""

    def _whole_chunks(self, available: int) -> list[int]:
        """The sealed sizes of the whole chunks that `available` bytes hold, in order."""
        sizes: list[int] = []
        for index in range(self._index, self._chunks):
            want = self._last_sealed if index == self._chunks - 1 else self._sealed
            if available < want:
                break
            sizes.append(want)
            available -= want
        return sizes

    def _open_into(self, sealed: memoryview, plaintext: memoryview) -> None:
        final = self._index == self._chunks - 1
        try:
            self._aead.decrypt_into(_nonce(self._index, final), sealed, self._aad, plaintext)
        except InvalidTag:
            raise DecryptionFailed(f"chunk {self._index} failed authentication") from None
        self._index += 1

    def feed(self, ciphertext: bytes | bytearray | memoryview) -> bytearray:
        """The plaintext of every whole chunk now available, decrypted into one new buffer.

        The stores read whole sealed chunks, so a piece is opened where it lies and its chunks land
        side by side in one buffer: one allocation and one socket write per piece, not per chunk.
        Only a chunk cut across pieces is gathered first. If a chunk fails, DecryptionFailed is
        raised and the buffer, which then holds that chunk's unauthenticated plaintext, is dropped
        without ever being returned.
        """
        data = self._held + ciphertext if self._held else ciphertext
        with memoryview(data) as view:
            sizes = self._whole_chunks(len(view))
            plaintext = bytearray(sum(sizes) - TAG_BYTES * len(sizes))
            read = written = 0
            with memoryview(plaintext) as out:
                for sealed in sizes:
                    opened = sealed - TAG_BYTES
                    self._open_into(view[read : read + sealed], out[written : written + opened])
                    read, written = read + sealed, written + opened
            self._held = bytes(view[read:])
        return plaintext

    def finish(self, expected_end_index: int) -> None:
        """Raise unless every chunk up to `expected_end_index` (exclusive) arrived whole."""
        if self._held or self._index < expected_end_index:
            raise DecryptionFailed("the ciphertext ended early or has trailing bytes")


def decrypt_range(
    pieces: Iterable[bytes], data_key: bytes, size: int, chunk_size: int, start: int, end: int
) -> Iterator[memoryview]:
    """Plaintext bytes [start, end] from ciphertext `pieces` covering exactly chunk_span(start, end).

    One buffer per piece (the plaintext of the whole chunks it completes), cut to the range without
    copying.
    """
    first, _, _ = chunk_span(start, end, size, chunk_size)
    last = end // chunk_size
    decryptor = ChunkDecryptor(data_key, size, chunk_size, first)
    position = first * chunk_size
    for piece in pieces:
        plaintext = decryptor.feed(piece)
        lo = max(start - position, 0)
        hi = min(end + 1 - position, len(plaintext))
        position += len(plaintext)
        if lo < hi:
            yield memoryview(plaintext)[lo:hi]
    decryptor.finish(last + 1)
