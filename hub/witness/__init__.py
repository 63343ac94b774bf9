"""A witness of transparency logs (C2SP tlog-witness): it cosigns a log's checkpoint only if the
log proves it extends the last checkpoint the witness cosigned for that origin, so a log that
rewrites its history, or shows different trees to different readers, is refused.

`state` keeps the witness's key and its per-origin record in its own folder; `protocol` checks an
add-checkpoint request; `server` is the HTTP endpoint `hub witness serve` runs.
"""
