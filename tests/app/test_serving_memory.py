"""A serving process gives an upload's large buffers back to the system once they are freed."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

PROBE = """
import sys
from pathlib import Path

def rss_mib():
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024

if sys.argv[1] == "serving":
    from app.serving import return_large_buffers_when_freed
    return_large_buffers_when_freed()
earlier = bytearray(12 << 20)  # an earlier, larger buffer: glibc's default then serves 5 MiB from its heap
del earlier
before = rss_mib()
part = bytearray(5 << 20)  # an S3 part of an upload
del part
print(rss_mib() - before)
"""


def _kept_after_a_part(mode: str) -> float:
    run = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    return float(run.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the threshold is glibc's")
def test_an_upload_part_is_given_back_once_freed() -> None:
    assert _kept_after_a_part("default") > 4  # what the process kept before the threshold was fixed
    assert _kept_after_a_part("serving") < 1
