"""The signed access log: entries, Merkle tree and tiles, checkpoints, proofs, export and verification.

Public: `checkpoint`, `encoding`, `export`, `log`, `merkle`, `sequencer`, `tiles`, `verify`.
Imports `access` (the request context), `keys` and `storage`; never a domain that holds applicant data.
"""
