"""The supervision office's rules as data: on or off, thresholds and windows (docs/supervision.md).

Every rule has a default here; `hub supervise rules load FILE` stores a YAML file's rules in the
`supervision_rules` table, and what is stored overrides the default parameter by parameter. The
evaluation reads the rules once per run, so a change applies from the next run without a restart.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from hub.errors import InvalidInput
from storage.models.base import utcnow
from storage.repositories import supervision as repo

# Timing: YELLOW when fewer working days remain than `fraction` of the promised days, or than an
# item's own threshold in `items` (service item code -> working days).
TIMING = "timing.yellow"
# Monthly cards per department: so many cases turned RED in a month earn a yellow or a red card.
CARDS = "cards.monthly"
# Access anomalies over the signed log.
NO_RELATIONSHIP = "anomaly.no_relationship"
VOLUME = "anomaly.volume"
OFF_HOURS = "anomaly.off_hours"
PROBING = "anomaly.probing"
WATCH_LIST = "anomaly.watch_list"
NEIGHBOUR = "anomaly.neighbour"

DEFAULTS: dict[str, dict[str, Any]] = {
    TIMING: {"enabled": True, "fraction": 1 / 3, "items": {}},
    CARDS: {"enabled": True, "yellow_card_red_cases": 3, "red_card_red_cases": 6},
    # A read of an applicant by a department with no case of theirs and no legal basis.
    NO_RELATIONSHIP: {"enabled": True},
    # Distinct applicants read by one principal in an hour: over its role's limit, or over its own
    # usual level (median + k * MAD of its busy hours of the last `history_days`, once it has
    # `min_hours` of them).
    VOLUME: {
        "enabled": True,
        "role_limits": {"clerk": 60, "department_system": 500, "auditor": 200},
        "mad_k": 5.0,
        "min_hours": 5,
        "min_excess": 10,
        "history_days": 30,
    },
    # Reads outside working hours on working days, or on any day off of the official calendar.
    OFF_HOURS: {"enabled": True, "start_hour": 8, "end_hour": 18},
    # Repeated denials from one principal within a window: someone probing the policy.
    PROBING: {"enabled": True, "denials": 5, "window_minutes": 10},
    # Any read of a watch-listed applicant (public figures).
    WATCH_LIST: {"enabled": True, "applicants": []},
    # A person reading applicants who share their surname and their address.
    NEIGHBOUR: {"enabled": True},
}


@dataclass(frozen=True, slots=True)
class Rules:
    """The rules in force: defaults overridden by what is stored."""

    params: dict[str, dict[str, Any]]

    def enabled(self, code: str) -> bool:
        return bool(self.params[code]["enabled"])

    def __getitem__(self, code: str) -> dict[str, Any]:
        return self.params[code]

    def yellow_below(self, item_code: str, promised_days: int) -> float:
        """Remaining working days under which an item (or a review of it) turns YELLOW."""
        own = self.params[TIMING]["items"].get(item_code)
        if own is not None:
            return float(own)
        return promised_days * float(self.params[TIMING]["fraction"])

    def card_for(self, red_cases: int) -> str | None:
        """The monthly card a department earns with `red_cases` cases turned RED: "red", "yellow" or None."""
        cards = self.params[CARDS]
        if not cards["enabled"]:
            return None
        if red_cases >= int(cards["red_card_red_cases"]):
            return "red"
        if red_cases >= int(cards["yellow_card_red_cases"]):
            return "yellow"
        return None


def _merged(stored: dict[str, tuple[bool, dict[str, Any]]]) -> Rules:
    params: dict[str, dict[str, Any]] = {}
    for code, default in DEFAULTS.items():
        merged = dict(default)
        if code in stored:
            enabled, own = stored[code]
            merged.update(own)
            merged["enabled"] = enabled
        params[code] = merged
    return Rules(params)


async def rules_in_force(session: AsyncSession) -> Rules:
    rows = await repo.rules(session)
    return _merged({row.code: (row.enabled, json.loads(row.params)) for row in rows})


def default_rules() -> Rules:
    return _merged({})


def parse_rules(text: str) -> dict[str, tuple[bool, dict[str, Any]]]:
    """A rules file: `rules:` mapping each rule code to its parameters and `enabled`."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InvalidInput(f"the rules file is not valid YAML: {error}", field="rules") from None
    rules = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(rules, dict):
        raise InvalidInput("a rules file holds a mapping `rules:` of rule codes", field="rules")
    parsed: dict[str, tuple[bool, dict[str, Any]]] = {}
    for code, params in rules.items():
        if code not in DEFAULTS:
            raise InvalidInput(f"unknown rule {code!r}; known: {', '.join(sorted(DEFAULTS))}", field="rules")
        params = dict(params or {})
        unknown = sorted(set(params) - set(DEFAULTS[code]))
        if unknown:
            raise InvalidInput(f"rule {code} has no parameter {', '.join(unknown)}", field="rules")
        enabled = bool(params.pop("enabled", True))
        _check_numbers(code, params)
        parsed[code] = (enabled, params)
    return parsed


def _check_numbers(code: str, params: dict[str, Any]) -> None:
    for name, value in params.items():
        default = DEFAULTS[code][name]
        numeric = isinstance(default, int | float) and not isinstance(default, bool)
        if numeric and (
            not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) or value < 0
        ):
            raise InvalidInput(f"rule {code}: {name} must be a number of at least 0", field="rules")


async def load_rules(session: AsyncSession, text: str) -> list[str]:
    """Store the rules of a file (caller commits); returns the codes stored."""
    parsed = parse_rules(text)
    now = utcnow()
    for code, (enabled, params) in parsed.items():
        await repo.save_rule(session, code, enabled, json.dumps(params, ensure_ascii=False, sort_keys=True), now)
    return sorted(parsed)
