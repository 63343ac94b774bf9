"""The signed, tamper-evident access log (docs/audit-log.md).

encoding: canonical entry bytes; merkle: RFC 9162 hashes and proofs; tiles: the stored tree;
checkpoint: C2SP checkpoints as signed notes; sequencer: numbering, tree, signing; log: reading
the log over GraphQL; export and verify: offline verification.
"""
