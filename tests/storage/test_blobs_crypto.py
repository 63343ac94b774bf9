"""Encryption at rest: chunked AES-256-GCM round trips, and every kind of tampering is caught."""

from __future__ import annotations

import io
import os

import pytest

from storage.blobs.crypto import (
    TAG_BYTES,
    DecryptionFailed,
    EncryptingReader,
    chunk_span,
    ciphertext_size,
    decrypt_range,
    encrypt,
    new_data_key,
    unwrap_key,
    wrap_key,
)
from storage.blobs.url import InvalidBlobUrl, parse_blob_url

CHUNK = 16


def decrypt_all(ciphertext: bytes, key: bytes, size: int, chunk: int = CHUNK) -> bytes:
    return b"".join(decrypt_range([ciphertext], key, size, chunk, 0, size - 1))


@pytest.mark.parametrize("size", [1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5, 4 * CHUNK])
def test_round_trip_of_every_size_around_chunk_boundaries(size: int) -> None:
    key, data = new_data_key(), os.urandom(size)
    sealed = encrypt(data, key, CHUNK)
    assert len(sealed) == ciphertext_size(size, CHUNK)
    assert decrypt_all(sealed, key, size) == data


def test_every_byte_range_decrypts_only_the_chunks_it_covers() -> None:
    key, data = new_data_key(), os.urandom(3 * CHUNK + 7)
    sealed = encrypt(data, key, CHUNK)
    for start in range(len(data)):
        for end in range(start, len(data)):
            _, offset, length = chunk_span(start, end, len(data), CHUNK)
            pieces = [sealed[offset : offset + length][i : i + 5] for i in range(0, length, 5)]
            assert b"".join(decrypt_range(pieces, key, len(data), CHUNK, start, end)) == data[start : end + 1]


def test_the_reader_streams_the_same_ciphertext_in_any_read_sizes() -> None:
    key, data = new_data_key(), os.urandom(10 * CHUNK + 3)
    whole = encrypt(data, key, CHUNK)
    reader = EncryptingReader(io.BytesIO(data), key, len(data), CHUNK)
    pieces = []
    while piece := reader.read(7):
        pieces.append(piece)
    # Fresh nonces are not random: a data key seals one blob, so the same key gives the same bytes.
    assert b"".join(pieces) == whole


def test_the_reader_fills_buffers_of_any_size_with_the_same_ciphertext() -> None:
    key, data = new_data_key(), os.urandom(10 * CHUNK + 3)
    whole = encrypt(data, key, CHUNK)
    step = CHUNK + TAG_BYTES
    for size in (7, step, 3 * step, 3 * step + 5, len(whole) + 10):
        reader = EncryptingReader(io.BytesIO(data), key, len(data), CHUNK)
        pieces = []
        while filled := reader.readinto(buffer := bytearray(size)):
            pieces.append(bytes(buffer[:filled]))
        assert b"".join(pieces) == whole


def test_a_flipped_bit_anywhere_is_detected() -> None:
    key, data = new_data_key(), os.urandom(2 * CHUNK + 3)
    sealed = encrypt(data, key, CHUNK)
    for position in range(len(sealed)):
        damaged = bytearray(sealed)
        damaged[position] ^= 0x80
        with pytest.raises(DecryptionFailed):
            decrypt_all(bytes(damaged), key, len(data))


def test_reordered_dropped_or_appended_chunks_are_detected() -> None:
    key, data = new_data_key(), os.urandom(3 * CHUNK)
    sealed = encrypt(data, key, CHUNK)
    step = CHUNK + TAG_BYTES
    chunks = [sealed[i : i + step] for i in range(0, len(sealed), step)]
    swapped = chunks[1] + chunks[0] + chunks[2]
    with pytest.raises(DecryptionFailed):
        decrypt_all(swapped, key, len(data))
    # Truncation at a chunk boundary: the new last chunk was not sealed as final.
    with pytest.raises(DecryptionFailed):
        decrypt_all(chunks[0] + chunks[1], key, 2 * CHUNK)
    with pytest.raises(DecryptionFailed):
        decrypt_all(sealed[:-1], key, len(data))
    with pytest.raises(DecryptionFailed):
        decrypt_all(sealed + chunks[0], key, len(data))


def test_a_piece_holding_an_altered_chunk_gives_none_of_its_plaintext() -> None:
    """A piece's chunks are decrypted into one buffer: an altered chunk sinks the whole buffer,
    authentic chunks before it in the same piece included, so unauthenticated bytes never leave."""
    key, data = new_data_key(), os.urandom(6 * CHUNK)
    sealed = bytearray(encrypt(data, key, CHUNK))
    step = CHUNK + TAG_BYTES
    sealed[4 * step + 3] ^= 0x01  # chunk 4, the second of the second piece
    pieces = [bytes(sealed[: 3 * step]), bytes(sealed[3 * step :])]
    received = []
    with pytest.raises(DecryptionFailed):
        for plaintext in decrypt_range(pieces, key, len(data), CHUNK, 0, len(data) - 1):
            received.append(bytes(plaintext))
    assert received == [data[: 3 * CHUNK]]


def test_each_piece_comes_out_as_one_buffer_cut_to_the_range() -> None:
    key, data = new_data_key(), os.urandom(7 * CHUNK + 5)
    sealed = encrypt(data, key, CHUNK)
    step = CHUNK + TAG_BYTES
    start, end = CHUNK + 3, 6 * CHUNK + 1
    _, offset, length = chunk_span(start, end, len(data), CHUNK)
    covered = sealed[offset : offset + length]
    pieces = [covered[: 3 * step], covered[3 * step :]]
    out = list(decrypt_range(pieces, key, len(data), CHUNK, start, end))
    assert [len(buffer) for buffer in out] == [3 * CHUNK - 3, 2 * CHUNK + 2]
    assert b"".join(out) == data[start : end + 1]


def test_a_chunk_from_another_blob_is_detected() -> None:
    key_a, key_b = new_data_key(), new_data_key()
    a, b = encrypt(os.urandom(CHUNK), key_a, CHUNK), encrypt(os.urandom(CHUNK), key_b, CHUNK)
    with pytest.raises(DecryptionFailed):
        decrypt_all(b, key_a, CHUNK)
    assert a != b


def test_data_keys_unwrap_only_under_their_master_key() -> None:
    master, other, data_key = os.urandom(32), os.urandom(32), new_data_key()
    wrapped = wrap_key(master, data_key)
    assert unwrap_key(master, wrapped) == data_key
    with pytest.raises(DecryptionFailed):
        unwrap_key(other, wrapped)


def test_blob_urls_name_a_folder_or_a_bucket() -> None:
    assert str(parse_blob_url("file://./var/blobs").path) == "var/blobs"
    assert str(parse_blob_url("file:///srv/hub/blobs").path) == "/srv/hub/blobs"
    s3 = parse_blob_url("s3://materials/hub?endpoint=10.0.0.5:9000&secure=false&access_key=a&secret_key=b")
    assert (s3.bucket, s3.prefix, s3.endpoint, s3.secure, s3.access_key, s3.secret_key) == (
        "materials",
        "hub",
        "10.0.0.5:9000",
        False,
        "a",
        "b",
    )
    for bad in ("ftp://x", "s3://bucket", "s3://?endpoint=x:1", "s3://b?endpoint=x:1&colour=red", "file://"):
        with pytest.raises(InvalidBlobUrl):
            parse_blob_url(bad)
