"""The add-checkpoint call of C2SP tlog-witness, as pure checks over the witness's state.

Request body: `old <size>`, one base64 consistency-proof hash a line, an empty line, the signed
checkpoint. The witness answers, in the order the spec gives: 400 for a malformed request or an
old size above the checkpoint's; 404 for an origin it does not witness; 403 if no key it trusts
for that origin signed the checkpoint; 409 (`text/x.tlog.size`, the size it holds) if the old
size is not the size it last cosigned; 409 in plain text if a checkpoint of the size it holds
has another root (a split view); 422 if the proof does not verify. Otherwise it records the checkpoint, then
answers 200 with its cosignature line (C2SP tlog-cosignature, cosignature/v1).
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from hub.audit.checkpoint import CheckpointError, VerifierKey, open_note, parse_body, verified_signers
from hub.audit.cosignature import cosign
from hub.audit.head import SignedHead
from hub.audit.merkle import EMPTY_ROOT, HASH_SIZE, ProofError, verify_consistency
from hub.witness.state import WitnessIdentity, WitnessState

OLD_LINE = re.compile(r"old (0|[1-9][0-9]*)")
MAX_PROOF_LINES = 63
SIZE_CONTENT_TYPE = "text/x.tlog.size"
TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: str
    content_type: str = TEXT


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    old_size: int
    proof: list[bytes]
    note: str


class BadRequest(ValueError):
    pass


def parse_request(body: bytes) -> AddCheckpoint:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the request is not UTF-8") from None
    head, separator, note = text.partition("\n\n")
    if not separator:
        raise BadRequest("the request needs an old size line, proof lines, an empty line and a checkpoint")
    old_line, *proof_lines = head.split("\n")
    matched = OLD_LINE.fullmatch(old_line)
    if matched is None:
        raise BadRequest("the first line reads `old <size>`")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise BadRequest("the consistency proof is too long")
    proof = []
    for line in proof_lines:
        try:
            value = base64.b64decode(line, validate=True)
        except binascii.Error:
            raise BadRequest("a proof line is not base64") from None
        if len(value) != HASH_SIZE:
            raise BadRequest("a proof line is not a SHA-256 hash")
        proof.append(value)
    return AddCheckpoint(int(matched.group(1)), proof, note)


class Witness:
    """Checks and cosigns checkpoints of the logs it knows (origin -> the log's verifier keys)."""

    def __init__(
        self,
        state: WitnessState,
        identity: WitnessIdentity,
        logs: Mapping[str, Sequence[VerifierKey]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self.identity = identity
        self.logs = logs
        self.clock = clock

    def add_checkpoint(self, body: bytes) -> Answer:
        try:
            request = parse_request(body)
            note_body, _ = open_note(request.note)
            checkpoint = parse_body(note_body)
        except (BadRequest, CheckpointError) as error:
            return Answer(400, f"{error}\n")
        keys = self.logs.get(checkpoint.origin)
        if keys is None:
            return Answer(404, f"this witness does not witness {checkpoint.origin}\n")
        if not verified_signers(request.note, keys)[1]:
            return Answer(403, "the checkpoint carries no valid signature by a key of its log\n")
        if request.old_size > checkpoint.tree_size:
            return Answer(400, "the old size is above the checkpoint's size\n")
        if checkpoint.tree_size == 0 and checkpoint.root_hash != EMPTY_ROOT:
            return Answer(422, "a checkpoint of size 0 has the empty tree's root\n")
        record = self.state.record(checkpoint.origin)
        # Checking the old size and recording the new checkpoint are one step (the spec's race).
        with record.locked():
            held = record.read()
            held_size = held.tree_size if held is not None else 0
            if request.old_size != held_size:
                return Answer(409, f"{held_size}\n", SIZE_CONTENT_TYPE)
            if held is not None and checkpoint.tree_size == held_size and checkpoint.root_hash != held.root_hash:
                # A split view: another tree of the size this witness cosigned. Plain text, so a
                # client does not mistake it for the size answer and retry.
                return Answer(409, f"another root for size {held_size}, which this witness cosigned: a split view\n")
            try:
                if held is None or held_size == 0:
                    if request.proof:
                        raise ProofError("a proof from the empty tree is empty")
                else:
                    verify_consistency(
                        held_size, checkpoint.tree_size, request.proof, held.root_hash, checkpoint.root_hash
                    )
            except ProofError as error:
                return Answer(422, f"not consistent with the checkpoint of size {held_size} cosigned before: {error}\n")
            line = cosign(note_body, self.identity.name, self.identity.private_key, int(self.clock()))
            record.write(SignedHead(checkpoint.origin, checkpoint.tree_size, checkpoint.root_hash, request.note))
        return Answer(200, line)
