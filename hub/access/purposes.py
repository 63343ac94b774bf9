"""The one grammar of a declared purpose: "<kind>:<ref>", in canonical form only.

A purpose is what an auditor filters the log by, so it has exactly one spelling: `kind` is a
lowercase word, then a colon with no space around it, then a non-empty `ref` without control
characters and without surrounding spaces. The whole fits the log's purpose column. Anything else is
refused (INVALID_PURPOSE) rather than tidied up, so the log never holds two spellings of one purpose.

Over HTTP the `X-Hub-Purpose` header carries the purpose as ASCII, non-ASCII text (户籍核查) as
percent-encoded UTF-8 (RFC 3986 section 2.1); header bytes outside ASCII and invalid UTF-8 are refused.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from urllib.parse import unquote_to_bytes

from hub.errors import InvalidPurpose

# The access log's purpose column holds 200 characters (storage/models/audit.py).
MAX_PURPOSE_LENGTH = 200
# How much of a refused raw value the log keeps, escaped.
MAX_LOGGED_RAW = 120
# A lowercase word: ASCII letters, digits, "_" and "-", starting with a letter.
_KIND = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def is_purpose_kind(kind: str) -> bool:
    return _KIND.fullmatch(kind) is not None


def _has_control(text: str) -> bool:
    # Cc (C0, DEL, C1), Cf (bidi overrides, zero-width), line and paragraph separators, unassigned.
    return any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn") for c in text)


# Remembered: every request parses its purpose several times (declared, resolved, judged by the
# policy), and a window's clerks send the same few all day. Refusals are not remembered.
@lru_cache(maxsize=4096)
def parse_purpose(text: str) -> tuple[str, str]:
    """(kind, ref) of a purpose in canonical form; `InvalidPurpose` for anything else."""
    if len(text) > MAX_PURPOSE_LENGTH:
        raise InvalidPurpose(
            f"a purpose has at most {MAX_PURPOSE_LENGTH} characters", field="purpose", limit=MAX_PURPOSE_LENGTH
        )
    kind, separator, ref = text.partition(":")
    if not separator or not is_purpose_kind(kind):
        raise InvalidPurpose(
            "a purpose reads '<kind>:<ref>', kind a lowercase word and no space around the colon", field="purpose"
        )
    if not ref or ref != ref.strip() or _has_control(ref):
        raise InvalidPurpose(
            "a purpose's ref is not empty, has no surrounding spaces and no control characters", field="purpose"
        )
    return kind, ref


def canonical_purpose(text: str | None) -> str | None:
    """`text` if it is a canonical purpose, None if none is declared (absent or empty)."""
    if text is None or text == "":
        return None
    parse_purpose(text)
    return text


def purpose_from_header(raw: bytes | None) -> str | None:
    """The purpose an `X-Hub-Purpose` header declares: ASCII, percent-decoded, strict UTF-8, canonical."""
    if raw is None or raw == b"":
        return None
    if not raw.isascii():
        raise InvalidPurpose("send X-Hub-Purpose as ASCII, non-ASCII text percent-encoded as UTF-8", field="purpose")
    try:
        text = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidPurpose("X-Hub-Purpose is not valid percent-encoded UTF-8", field="purpose") from None
    return canonical_purpose(text)


def escaped_for_log(raw: bytes | str) -> str:
    """A refused value as the log keeps it: printable ASCII, escapes for the rest, cut to a bound."""
    text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    escaped = text[: MAX_LOGGED_RAW * 2].encode("unicode_escape").decode("ascii")
    return escaped if len(escaped) <= MAX_LOGGED_RAW else escaped[: MAX_LOGGED_RAW - 3] + "..."
