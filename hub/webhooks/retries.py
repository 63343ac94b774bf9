"""When to try again: exponential backoff with jitter, then a dead letter.

The delay after the n-th failed attempt is base·2^(n-1), capped, times a random factor in
[0.8, 1.2] so that receivers coming back after an outage are not hit by every retry at once. With
the defaults (5 s base, 3 h cap, 19 attempts) the last try comes about a day after the first.
"""

from __future__ import annotations

import random
from datetime import timedelta

from hub.settings import Settings

JITTER = 0.2


def delay_after(failed_attempts: int, settings: Settings) -> timedelta:
    nominal = min(settings.webhook_retry_base_seconds * 2 ** (failed_attempts - 1), settings.webhook_retry_cap_seconds)
    return timedelta(seconds=nominal * random.uniform(1 - JITTER, 1 + JITTER))


def gives_up_after(failed_attempts: int, settings: Settings) -> bool:
    return failed_attempts >= settings.webhook_max_attempts


def nominal_schedule(settings: Settings) -> list[float]:
    """Seconds between tries without jitter (docs/webhooks.md prints it)."""
    return [
        min(settings.webhook_retry_base_seconds * 2 ** (n - 1), settings.webhook_retry_cap_seconds)
        for n in range(1, settings.webhook_max_attempts)
    ]
