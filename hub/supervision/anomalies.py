"""Access anomaly rules over the signed log, evaluated incrementally by sequence number.

The evaluation reads only entries after its watermark (the last sequence number it judged) up to
the log's sequenced size, and then moves the watermark: nothing is judged twice, nothing rescanned.
Rules over a window of time (distinct applicants per hour, denials per few minutes) also see the
already judged entries of that window, as context only. An alert is stored once per rule and
subject (its dedupe key), with the sequence numbers of the entries that raised it, so its
evidence can be proven against a signed checkpoint (hub/supervision/alerts.py).

Rules and their parameters are data (hub/supervision/rules.py); docs/supervision.md explains each.
"""

from __future__ import annotations

import hashlib
import statistics
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.access.context import Hub
from hub.audit.log import DISCLOSING_ACTIONS
from hub.calendar.workdays import CHINA, is_working_day
from hub.errors import CalendarOutOfRange
from hub.supervision import rules as R
from hub.supervision.alerts import AlertStatus
from hub.supervision.rules import Rules
from storage.repositories import supervision as repo

Progress = Callable[[int, int], None]

WATERMARK = "access_log"
BATCH = 50_000
# Evidence kept per alert: enough to stand on its own, few enough to prove quickly.
MAX_EVIDENCE = 20

_DISCLOSING = frozenset(DISCLOSING_ACTIONS)
# Purposes that justify a read by themselves: a legal basis, the supervision office's own work.
_DECLARED_BASES = ("basis:", "supervision:")


@dataclass(frozen=True, slots=True)
class Entry:
    """The columns of an access entry the rules read."""

    seq: int
    recorded_at: datetime
    principal_id: int | None
    department_code: str
    role: str
    action: str
    outcome: str
    applicant_ref: str
    purpose: str

    @property
    def is_read_of_applicant(self) -> bool:
        return self.outcome == "allowed" and self.action in _DISCLOSING and bool(self.applicant_ref)


@dataclass(slots=True)
class Finding:
    rule: str
    key: str
    principal_id: int | None
    department_code: str
    summary: str
    seqs: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AnomalyRun:
    entries: int
    last_seq: int
    alerts_by_rule: dict[str, int]

    @property
    def alerts(self) -> int:
        return sum(self.alerts_by_rule.values())


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


async def evaluate_anomalies(
    hub: Hub, session: AsyncSession, rules: Rules, progress: Progress | None = None
) -> AnomalyRun:
    """Judge the log's new entries with every enabled rule; store new alerts; move the watermark."""
    start = await repo.watermark(session, WATERMARK)
    head = await repo.sequenced_size(session)
    findings: dict[str, Finding] = {}
    done = start
    while done < head:
        upto = min(done + BATCH, head)
        new = [Entry(*row) for row in await repo.entries_between(session, done, upto)]
        context: list[Entry] = []
        if new and done:
            since = min(_hour(new[0].recorded_at), new[0].recorded_at - _probing_window(rules))
            context = [Entry(*row) for row in await repo.entries_recorded_since(session, since, done)]
        for finding in await _judge(session, rules, new, context):
            _merge(findings, finding)
        done = upto
        if progress is not None:
            progress(done - start, head - start)
    stored = await _store(session, list(findings.values()), hub.clock())
    await repo.save_watermark(session, WATERMARK, head)
    return AnomalyRun(head - start, head, stored)


def _merge(findings: dict[str, Finding], finding: Finding) -> None:
    known = findings.get(finding.key)
    if known is None:
        findings[finding.key] = finding
    else:
        known.seqs = sorted(set(known.seqs) | set(finding.seqs))[:MAX_EVIDENCE]


async def _store(session: AsyncSession, findings: list[Finding], now: datetime) -> dict[str, int]:
    existing = await repo.alert_keys(session, [f.key for f in findings])
    fresh = [f for f in findings if f.key not in existing]
    alerts = [
        {
            "rule": f.rule,
            "dedupe_key": f.key,
            "principal_id": f.principal_id,
            "department_code": f.department_code,
            "summary": f.summary,
            "seqs": ",".join(str(s) for s in sorted(f.seqs)[:MAX_EVIDENCE]),
            "raised_at": now,
            "status": AlertStatus.OPEN.value,
            "respond_by": None,
            "escalated": False,
        }
        for f in fresh
    ]
    await repo.add_alerts(session, alerts, "raised by rule {rule}")
    stored: dict[str, int] = defaultdict(int)
    for f in fresh:
        stored[f.rule] += 1
    return dict(stored)


async def _judge(session: AsyncSession, rules: Rules, new: list[Entry], context: list[Entry]) -> list[Finding]:
    findings: list[Finding] = []
    reads = [e for e in new if e.is_read_of_applicant]
    if rules.enabled(R.NO_RELATIONSHIP):
        # Only reads without a declared basis need a case to justify them: look those up alone.
        unexplained = [e for e in reads if not e.purpose.startswith(_DECLARED_BASES)]
        if unexplained:
            related = await repo.case_relationships(session, [e.applicant_ref for e in unexplained])
            findings += no_relationship(unexplained, related)
    if rules.enabled(R.VOLUME):
        findings += await _volume(session, rules, new, context)
    if rules.enabled(R.OFF_HOURS):
        findings += off_hours(reads, rules[R.OFF_HOURS])
    if rules.enabled(R.PROBING):
        findings += probing(new, context, rules[R.PROBING])
    if rules.enabled(R.WATCH_LIST):
        findings += watch_list(reads, frozenset(rules[R.WATCH_LIST]["applicants"]))
    if rules.enabled(R.NEIGHBOUR) and reads:
        households = await repo.names_and_addresses(session, [e.applicant_ref for e in reads])
        findings += neighbours(reads, households)
    return findings


def _who(entry: Entry) -> str:
    return f"principal {entry.principal_id} ({entry.role}, {entry.department_code})"


# The rules. Each takes entries (and what it needs looked up) and returns findings.


def no_relationship(reads: Iterable[Entry], related: set[tuple[str, str]]) -> list[Finding]:
    """A read of an applicant with no case at the reader's department and no legal basis declared."""
    found: dict[str, Finding] = {}
    for e in reads:
        if e.purpose.startswith(_DECLARED_BASES):
            continue
        if (e.department_code, e.applicant_ref) in related:
            continue
        key = f"{R.NO_RELATIONSHIP}:{e.principal_id}:{e.applicant_ref}"
        finding = found.setdefault(
            key,
            Finding(
                R.NO_RELATIONSHIP,
                key,
                e.principal_id,
                e.department_code,
                f"{_who(e)} read applicant {e.applicant_ref} with no case at {e.department_code} and no legal basis",
            ),
        )
        if len(finding.seqs) < MAX_EVIDENCE:
            finding.seqs.append(e.seq)
    return list(found.values())


def robust_limit(history: Sequence[int], k: float) -> float:
    """median + k * MAD (median absolute deviation): a usual level a few busy hours cannot inflate."""
    median = statistics.median(history)
    mad = statistics.median(abs(n - median) for n in history)
    return median + k * mad


def hourly_applicants(entries: Iterable[Entry]) -> dict[tuple[int, datetime], dict[str, int]]:
    """(principal, hour) -> applicant -> seq of its first read in that hour."""
    result: dict[tuple[int, datetime], dict[str, int]] = defaultdict(dict)
    for e in entries:
        if e.principal_id is not None and e.is_read_of_applicant:
            result[(e.principal_id, _hour(e.recorded_at))].setdefault(e.applicant_ref, e.seq)
    return result


async def _volume(session: AsyncSession, rules: Rules, new: list[Entry], context: list[Entry]) -> list[Finding]:
    touched = {(e.principal_id, _hour(e.recorded_at)) for e in new if e.principal_id is not None}
    counts = {key: reads for key, reads in hourly_applicants([*context, *new]).items() if key in touched}
    if not counts:
        return []
    since = min(hour for _, hour in counts) - timedelta(days=float(rules[R.VOLUME]["history_days"]))
    history = await repo.hourly_reads(session, [p for p, _ in counts], since)
    await repo.save_hourly_reads(session, {key: len(reads) for key, reads in counts.items()})
    roles = {e.principal_id: (e.role, e.department_code) for e in new if e.principal_id is not None}
    return volume(counts, history, roles, rules[R.VOLUME])


def volume(
    counts: dict[tuple[int, datetime], dict[str, int]],
    history: dict[int, dict[datetime, int]],
    roles: dict[int, tuple[str, str]],
    params: dict[str, Any],
) -> list[Finding]:
    """More distinct applicants in an hour than the role's limit, or than the principal's usual level."""
    # A principal's busy hours: those stored by previous runs and those of this run; the usual level
    # is drawn once per principal from all of them (median and MAD shrug off the few unusual ones).
    seen: dict[int, dict[datetime, int]] = defaultdict(dict)
    for principal_id, hours in history.items():
        seen[principal_id].update(hours)
    for (principal_id, hour), reads in counts.items():
        seen[principal_id][hour] = len(reads)
    usual: dict[int, tuple[float, float, int]] = {}
    for principal_id, hours in seen.items():
        if len(hours) > params["min_hours"]:
            levels = list(hours.values())
            usual[principal_id] = (robust_limit(levels, params["mad_k"]), statistics.median(levels), len(levels))
    findings = []
    for (principal_id, hour), reads in counts.items():
        role, department = roles.get(principal_id, ("", ""))
        limit = params["role_limits"].get(role)
        why = None
        if limit is not None and len(reads) > limit:
            why = f"the {role} limit of {limit}"
        elif principal_id in usual:
            level, median, hours_seen = usual[principal_id]
            if len(reads) > level and len(reads) >= median + params["min_excess"]:
                why = f"its usual level ({level:.1f}: median + {params['mad_k']} MAD of {hours_seen} busy hours)"
        if why is None:
            continue
        key = f"{R.VOLUME}:{principal_id}:{hour.isoformat()}"
        findings.append(
            Finding(
                R.VOLUME,
                key,
                principal_id,
                department,
                f"principal {principal_id} ({role}, {department}) read {len(reads)} applicants in the hour from "
                f"{hour.astimezone(CHINA):%Y-%m-%d %H:00}, over {why}",
                sorted(reads.values())[:MAX_EVIDENCE],
            )
        )
    return findings


def off_hours(reads: Iterable[Entry], params: dict[str, Any]) -> list[Finding]:
    """Reads on a day off of the official calendar, or outside working hours on a working day."""
    found: dict[str, Finding] = {}
    working: dict[date, bool | None] = {}
    for e in reads:
        local = e.recorded_at.astimezone(CHINA)
        day = local.date()
        if day not in working:
            try:
                working[day] = is_working_day(day)
            except CalendarOutOfRange:
                working[day] = None
        if working[day] is None:
            continue
        if working[day] and params["start_hour"] <= local.hour < params["end_hour"]:
            continue
        key = f"{R.OFF_HOURS}:{e.principal_id}:{day.isoformat()}"
        finding = found.setdefault(
            key,
            Finding(
                R.OFF_HOURS,
                key,
                e.principal_id,
                e.department_code,
                f"{_who(e)} read applicant data on {day.isoformat()} "
                + ("outside working hours" if working[day] else "a day off"),
            ),
        )
        if len(finding.seqs) < MAX_EVIDENCE:
            finding.seqs.append(e.seq)
    return list(found.values())


def _probing_window(rules: Rules) -> timedelta:
    return timedelta(minutes=float(rules[R.PROBING]["window_minutes"]))


def probing(new: Sequence[Entry], context: Sequence[Entry], params: dict[str, Any]) -> list[Finding]:
    """At least `denials` refusals of one principal within `window_minutes`."""
    window = timedelta(minutes=float(params["window_minutes"]))
    needed = int(params["denials"])
    first_new = new[0].seq if new else 0
    recent: dict[int, deque[Entry]] = defaultdict(deque)
    found: dict[str, Finding] = {}
    for e in [*context, *new]:
        if e.outcome != "denied" or e.principal_id is None:
            continue
        queue = recent[e.principal_id]
        queue.append(e)
        while e.recorded_at - queue[0].recorded_at > window:
            queue.popleft()
        if len(queue) < needed or e.seq < first_new:
            continue
        key = f"{R.PROBING}:{e.principal_id}:{_hour(queue[0].recorded_at).isoformat()}"
        finding = found.setdefault(
            key,
            Finding(
                R.PROBING,
                key,
                e.principal_id,
                e.department_code,
                f"{_who(e)} was refused {needed} times or more within {params['window_minutes']} minutes",
            ),
        )
        finding.seqs = sorted(set(finding.seqs) | {q.seq for q in queue})[:MAX_EVIDENCE]
    return list(found.values())


def watch_list(reads: Iterable[Entry], watched: frozenset[str]) -> list[Finding]:
    """Any read of a watch-listed applicant (a public figure)."""
    found: dict[str, Finding] = {}
    for e in reads:
        if e.applicant_ref not in watched:
            continue
        day = e.recorded_at.astimezone(CHINA).date()
        key = f"{R.WATCH_LIST}:{e.principal_id}:{e.applicant_ref}:{day.isoformat()}"
        finding = found.setdefault(
            key,
            Finding(
                R.WATCH_LIST,
                key,
                e.principal_id,
                e.department_code,
                f"{_who(e)} read watch-listed applicant {e.applicant_ref}",
            ),
        )
        if len(finding.seqs) < MAX_EVIDENCE:
            finding.seqs.append(e.seq)
    return list(found.values())


def neighbours(reads: Iterable[Entry], households: dict[str, tuple[str, str]]) -> list[Finding]:
    """One principal reading two or more applicants who share a surname and an address (a household)."""
    groups: dict[tuple[int | None, str, str], dict[str, Entry]] = defaultdict(dict)
    for e in reads:
        name, address = households.get(e.applicant_ref, ("", ""))
        if name and address.strip():
            # The surname is the first character of a Chinese name (compound surnames aside).
            groups[(e.principal_id, name[0], address.strip())].setdefault(e.applicant_ref, e)
    findings = []
    for (principal_id, surname, address), members in groups.items():
        if len(members) < 2:
            continue
        first = next(iter(members.values()))
        # The key names the household by a hash, never by the address itself.
        household = hashlib.sha256(f"{surname}|{address}".encode()).hexdigest()[:16]
        key = f"{R.NEIGHBOUR}:{principal_id}:{household}"
        findings.append(
            Finding(
                R.NEIGHBOUR,
                key,
                principal_id,
                first.department_code,
                f"{_who(first)} read {len(members)} applicants sharing a surname and an address: "
                + ", ".join(sorted(members)),
                sorted(e.seq for e in members.values())[:MAX_EVIDENCE],
            )
        )
    return findings
