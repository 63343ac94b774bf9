"""A large transfer's freed buffers given back to the system (glibc's malloc_trim(3)).

A transfer's buffers (2 MiB download pieces, 5 MiB upload parts) freed below the top of a heap,
under what later requests allocated, stay resident: measured, 10 MiB after a 128 MiB upload and
download (docs/documents.md, "Memory, third pass"). A trim after each transfer of at least
TRIM_AFTER_BYTES gives them back. After transfers, not on a timer: a trim every 2 seconds in each
serving process cost the clerk's query about a tenth of its throughput, every page it gave back
being faulted in again by the next requests. Where the C library has no malloc_trim, nothing.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

TRIM_AFTER_BYTES = 32 * 1024 * 1024


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_MALLOC_TRIM = _malloc_trim()


def worth_trimming(size: int) -> bool:
    """Whether a transfer of `size` bytes is large enough for a trim after it (checked before a hop
    to a worker thread: most documents are far smaller)."""
    return size >= TRIM_AFTER_BYTES and _MALLOC_TRIM is not None


def after_transfer(size: int) -> None:
    """Give back what a transfer of `size` bytes freed, if it was large. Blocking (it walks the
    heaps and returns their free pages): call it from a worker thread."""
    if worth_trimming(size) and _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
