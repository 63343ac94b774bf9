"""A serving process gives a transfer's buffers back to the system once they are freed."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

# Run as `python -c PREAMBLE + probe serving|default`: "serving" sets the process up as `hub serve` does.
PREAMBLE = """
import sys, time
from pathlib import Path

from app.serving import give_freed_memory_back
from storage.blobs.memory import TRIM_AFTER_BYTES, after_transfer

def rss_mib():
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024

if sys.argv[1] == "serving":
    give_freed_memory_back()
"""

PROBE = """
earlier = bytearray(12 << 20)  # an earlier, larger buffer: glibc's default then serves 5 MiB from its heap
del earlier
before = rss_mib()
part = bytearray(5 << 20)  # an S3 part of an upload
del part
print(rss_mib() - before)
"""

# A download's 2 MiB buffers come from the heap; once something allocated after them is still held,
# glibc gives their pages back only when asked (malloc_trim), which the end of a large transfer does.
TRIM_PROBE = """
pieces = [bytearray(2 << 20) for _ in range(16)]
later = bytearray(1 << 20)  # above them in the heap: they are not at its top
del pieces
before = rss_mib()
after_transfer(TRIM_AFTER_BYTES - 1)  # a small transfer: no trim
kept = before - rss_mib()
if sys.argv[1] == "serving":
    after_transfer(TRIM_AFTER_BYTES)
print(kept if sys.argv[1] == "default" else before - rss_mib())
"""


def _probe(probe: str, mode: str) -> float:
    run = subprocess.run([sys.executable, "-c", PREAMBLE + probe, mode], capture_output=True, text=True, check=True)
    return float(run.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the threshold is glibc's")
def test_an_upload_part_is_given_back_once_freed() -> None:
    assert _probe(PROBE, "default") > 4  # what the process kept before the threshold was fixed
    assert _probe(PROBE, "serving") < 1


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_a_large_transfer_s_buffers_are_given_back_after_it() -> None:
    assert _probe(TRIM_PROBE, "default") < 1  # 32 MiB freed, all of it still resident
    assert _probe(TRIM_PROBE, "serving") > 30
