"""Collecting witnesses' cosignatures on the hub's checkpoints (C2SP tlog-witness, add-checkpoint).

After the sequencer signs a checkpoint it submits it to every witness of HUB_WITNESSES with a
consistency proof from the size that witness last cosigned, and adds the cosignature lines they
answer to the stored note (so exports carry them). A witness that answers 409 names the size it
holds; the hub proves from there. A witness that refuses (the tree is not consistent with what
it saw) or cannot be reached leaves the checkpoint without its cosignature: counted, logged, and
for an auditor's `--witness-threshold` the difference between OK and FAILED.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub.audit.checkpoint import CheckpointError
from hub.audit.cosignature import WitnessKey, add_signature_lines, cosignatures, parse_witness_key
from hub.metrics import AUDIT_WITNESS_FAILURES

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("hub.audit")

SIZE_CONTENT_TYPE = "text/x.tlog.size"
ProofFor = Callable[[int], Awaitable[list[bytes]]]


@dataclass(frozen=True, slots=True)
class ConfiguredWitness:
    url: str
    key: WitnessKey


class WitnessRefused(Exception):
    """A witness answered add-checkpoint with an error status."""


def configured_witnesses(setting: str) -> list[ConfiguredWitness]:
    """HUB_WITNESSES: `URL KEY` pairs separated by commas (neither holds a comma or a space)."""
    witnesses = []
    for item in setting.split(","):
        if not item.strip():
            continue
        try:
            url, key = item.split()
        except ValueError:
            raise CheckpointError(f"HUB_WITNESSES item {item.strip()!r} is not `URL KEY`") from None
        witnesses.append(ConfiguredWitness(url.rstrip("/"), parse_witness_key(key)))
    return witnesses


# The size each witness holds for an origin, as learnt from its answers (409s included). Keyed by
# the witness's key as well as its URL: a new witness at an old address (a port reused, a witness
# replaced) starts from nothing, not from the size its predecessor held.
_known_sizes: dict[tuple[ConfiguredWitness, str], int] = {}


def add_checkpoint_body(old_size: int, proof: list[bytes], note: str) -> bytes:
    """tlog-witness add-checkpoint request: `old N`, one base64 proof hash a line, a blank line,
    the signed checkpoint."""
    lines = [f"old {old_size}\n", *(base64.b64encode(h).decode("ascii") + "\n" for h in proof), "\n"]
    return ("".join(lines) + note).encode("utf-8")


async def request_cosignature(
    client: httpx.AsyncClient, witness: ConfiguredWitness, origin: str, size: int, note: str, proof_for: ProofFor
) -> str:
    """The witness's cosignature line for `note`; raises WitnessRefused or an httpx error."""
    known = (witness, origin)
    old = _known_sizes.get(known, 0)
    for _ in range(2):
        if old > size:
            raise WitnessRefused(f"{witness.url} already cosigned size {old}, larger than {size}")
        response = await client.post(
            f"{witness.url}/add-checkpoint", content=add_checkpoint_body(old, await proof_for(old), note)
        )
        if response.status_code == 409 and response.headers.get("content-type", "").startswith(SIZE_CONTENT_TYPE):
            old = _known_sizes[known] = int(response.text.strip())
            continue
        if response.status_code != 200:
            raise WitnessRefused(f"{witness.url} answered {response.status_code}: {response.text.strip()[:200]}")
        lines = [line + "\n" for line in response.text.splitlines() if line]
        valid = [line for line in lines if cosignatures(add_signature_lines(note, [line]), [witness.key])]
        if not valid:
            raise WitnessRefused(f"{witness.url} answered no valid cosignature by {witness.key.name}")
        _known_sizes[known] = size
        return valid[0]
    raise WitnessRefused(f"{witness.url} keeps answering 409")


async def collect_cosignatures(
    witnesses: list[ConfiguredWitness], origin: str, size: int, note: str, proof_for: ProofFor, timeout: float
) -> str:
    """The note with the cosignature of every witness that gave one."""
    import httpx  # here, not at start-up: only a hub with witnesses configured asks them

    async def one(client: httpx.AsyncClient, witness: ConfiguredWitness) -> str | None:
        try:
            return await request_cosignature(client, witness, origin, size, note, proof_for)
        except WitnessRefused as refusal:
            AUDIT_WITNESS_FAILURES.labels(witness.key.name).inc()
            log.error("witness refused the checkpoint of size %d: %s", size, refusal)
        except (httpx.HTTPError, ValueError) as error:
            AUDIT_WITNESS_FAILURES.labels(witness.key.name).inc()
            log.warning("witness %s unreachable for the checkpoint of size %d: %r", witness.url, size, error)
        return None

    async with httpx.AsyncClient(timeout=timeout) as client:
        lines = await asyncio.gather(*(one(client, witness) for witness in witnesses))
    return add_signature_lines(note, [line for line in lines if line])
