"""Access anomaly rules over the signed log, evaluated incrementally by sequence number.

The evaluation reads only entries after its watermark (the last sequence number it judged) up to
the log's sequenced size, and then moves the watermark: nothing is judged twice, nothing rescanned.
Rules over a window of time (distinct applicants per hour, denials per few minutes) also see the
already judged entries of that window, as context only. An alert is stored once per rule and
subject (its dedupe key), with the sequence numbers of the entries that raised it, so its
evidence can be proven against a signed checkpoint (hub/supervision/alerts.py).

Millions of entries are judged at the rate the database hands them over: each batch arrives as
plain driver tuples (the time as microseconds since the epoch), every rule is judged in one pass
over it, and what the rules look up is worked out once per evaluation (each hour's China date,
hour and working day; each applicant's case departments and household). The window rules' context
is carried from one batch to the next in memory, read from the database only when a run starts.

Rules and their parameters are data (hub/supervision/rules.py); docs/supervision.md explains each.
"""

from __future__ import annotations

import hashlib
import statistics
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
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

# An entry as the rules read it (storage/repositories/supervision.py, `entry_tuples_between`):
# seq, recorded at (µs since the epoch, UTC), principal, department, role, action, outcome,
# applicant, purpose.
Row = Sequence[Any]
SEQ, MICROS, PRINCIPAL, DEPARTMENT, ROLE, ACTION, OUTCOME, APPLICANT, PURPOSE = range(9)
HOUR = 3_600_000_000  # µs
_RULES = (R.NO_RELATIONSHIP, R.VOLUME, R.OFF_HOURS, R.PROBING, R.WATCH_LIST, R.NEIGHBOUR)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


@dataclass(frozen=True, slots=True)
class Hour:
    """One hour (UTC) as the rules see it: China's time is a whole number of hours ahead of UTC, so
    every entry of the hour has the same China date and hour."""

    start: datetime
    day: date  # China date
    china_hour: int
    working: bool | None  # a working day of the official calendar; None outside its years


class Hours(dict[int, Hour]):
    """Hours since the epoch -> Hour, each worked out once."""

    def __missing__(self, hour: int) -> Hour:
        start = _EPOCH + timedelta(hours=hour)
        local = start.astimezone(CHINA)
        try:
            working: bool | None = is_working_day(local.date())
        except CalendarOutOfRange:
            working = None
        value = self[hour] = Hour(start, local.date(), local.hour, working)
        return value


def _who(row: Row) -> str:
    return f"principal {row[PRINCIPAL]} ({row[ROLE]}, {row[DEPARTMENT]})"


def _add(found: dict[str, Finding], rule: str, key: str, row: Row, summary: Callable[..., str], *args: Any) -> None:
    """Add the entry to the finding of `key`, which its first entry makes (with `summary(row, *args)`)."""
    finding = found.get(key)
    if finding is None:
        finding = found[key] = Finding(rule, key, row[PRINCIPAL], row[DEPARTMENT], summary(row, *args))
    if len(finding.seqs) < MAX_EVIDENCE:
        finding.seqs.append(row[SEQ])


def _unrelated(row: Row) -> str:
    return f"{_who(row)} read applicant {row[APPLICANT]} with no case at {row[DEPARTMENT]} and no legal basis"


def _off_hours(row: Row, when: Hour) -> str:
    return f"{_who(row)} read applicant data on {when.day.isoformat()} " + (
        "outside working hours" if when.working else "a day off"
    )


def _watched(row: Row) -> str:
    return f"{_who(row)} read watch-listed applicant {row[APPLICANT]}"


async def evaluate_anomalies(
    hub: Hub, session: AsyncSession, rules: Rules, progress: Progress | None = None
) -> AnomalyRun:
    """Judge the log's new entries with every enabled rule; store new alerts; move the watermark."""
    start = await repo.watermark(session, WATERMARK)
    head = await repo.sequenced_size(session)
    bound = ContextBound(await repo.watermark(session, CONTEXT_SEQ), await repo.watermark(session, CONTEXT_MICROS))
    evaluation = _Evaluation(session, rules)
    # Every judged entry recorded at or after `floor` (µs) is in `kept`, in seq order: the next
    # batch's context, without reading it again.
    kept: list[Row] = []
    floor: int | None = None
    # (first seq, latest time) of each batch: where the next run's context can start.
    batches: list[tuple[int, int]] = []
    done = start
    while done < head:
        upto = min(done + BATCH, head)
        new = await repo.entry_tuples_between(session, done, upto)
        if new:
            context: list[Row] = []
            if done:
                # The hours and probing windows of the batch's entries, its earliest one's included
                # (entries are sequenced in about the order they are recorded, not exactly).
                first = min(row[MICROS] for row in new)
                since = min(first - first % HOUR, first - evaluation.probing_window)
                if floor is not None and since >= floor:
                    context = [row for row in kept if row[MICROS] >= since]
                else:
                    context = await repo.entry_tuples_recorded_since(session, since, bound.first_seq(since), done)
                kept, floor = context + [row for row in new if row[MICROS] >= since], since
            else:  # nothing before the log's first entries
                kept, floor = list(new), min(row[MICROS] for row in new)
            await evaluation.judge(new, context)
            batches.append((new[0][SEQ], max(row[MICROS] for row in new)))
        done = upto
        if progress is not None:
            progress(done - start, head - start)
    await evaluation.save()
    stored = await _store(session, list(evaluation.findings.values()), hub.clock())
    if batches:
        await _move_context_bound(session, bound, batches, start, head)
    await repo.save_watermark(session, WATERMARK, head)
    return AnomalyRun(head - start, head, stored)


# Where the window rules' context can start reading, so that an incremental run over a long log
# reads the last hours of it, not all of it: every entry before seq `CONTEXT_SEQ` was recorded
# before `CONTEXT_MICROS` (two more watermarks). Entries are sequenced in about the order they are
# recorded, so the bound trails the latest judged entry by a day: a run whose context reaches
# further back (an entry sequenced a day late) reads from the log's start, as before.
CONTEXT_SEQ = "access_log.context_seq"
CONTEXT_MICROS = "access_log.context_us"
CONTEXT_TRAIL = 24 * HOUR


@dataclass(frozen=True, slots=True)
class ContextBound:
    seq: int
    micros: int

    def first_seq(self, since: int) -> int:
        return self.seq if since >= self.micros else 0


async def _move_context_bound(
    session: AsyncSession, bound: ContextBound, batches: list[tuple[int, int]], start: int, head: int
) -> None:
    micros = max(latest for _, latest in batches) - CONTEXT_TRAIL
    if micros <= bound.micros:
        return
    # This run's entries: those of the batches before the first with an entry at or after `micros`.
    seq = next((first for first, latest in batches if latest >= micros), head + 1)
    # Earlier runs' entries from the old bound on (about a day of the log) are looked at in the database.
    earlier = await repo.first_seq_recorded_since(session, micros, bound.seq, start)
    await repo.save_watermark(session, CONTEXT_SEQ, min(seq, earlier) if earlier is not None else seq)
    await repo.save_watermark(session, CONTEXT_MICROS, micros)


class _Evaluation:
    """One evaluation's rules, what they have looked up so far, and what they found."""

    def __init__(self, session: AsyncSession, rules: Rules) -> None:
        self.session = session
        self.rules = rules
        self.enabled = {rule: rules.enabled(rule) for rule in _RULES}
        self.probing_window = timedelta(minutes=float(rules[R.PROBING]["window_minutes"])) // timedelta(microseconds=1)
        self.watched = frozenset(rules[R.WATCH_LIST]["applicants"])
        self.hours = Hours()
        # Applicant -> departments with a case of theirs (received at its window or reviewed by it).
        self.related: dict[str, frozenset[str]] = {}
        # Principal -> hour -> distinct applicants read: earlier runs' (from `history_since`) and
        # this run's; `counted` holds this run's alone, stored at its end.
        self.levels: dict[int, dict[datetime, int]] = {}
        self.history_since: datetime | None = None
        self.counted: dict[int, dict[datetime, int]] = defaultdict(dict)
        self.findings: dict[str, Finding] = {}

    async def judge(self, new: list[Row], context: list[Row]) -> None:
        """Every enabled rule over one batch, in one pass over its entries."""
        hours = self.hours
        off_start, off_end = self.rules[R.OFF_HOURS]["start_hour"], self.rules[R.OFF_HOURS]["end_hour"]
        judge_off_hours, watched = self.enabled[R.OFF_HOURS], self.watched if self.enabled[R.WATCH_LIST] else ()
        # (principal, hour) -> applicant -> seq of its first read in that hour, context included.
        hourly: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
        denials: list[Row] = []
        for row in context:
            principal = row[PRINCIPAL]
            if principal is None:
                continue
            if row[OUTCOME] == "allowed":
                if row[APPLICANT] and row[ACTION] in _DISCLOSING:
                    hourly[(principal, row[MICROS] // HOUR)].setdefault(row[APPLICANT], row[SEQ])
            elif row[OUTCOME] == "denied":
                denials.append(row)
        touched: set[tuple[int, int]] = set()
        last_entry_of: dict[int, Row] = {}
        reads: list[Row] = []
        unexplained: list[Row] = []
        off_hours: dict[str, Finding] = {}
        watch_list: dict[str, Finding] = {}
        touch, read = touched.add, reads.append
        for row in new:
            seq, micros, principal, _, _, action, outcome, applicant, purpose = row
            hour = micros // HOUR
            if principal is not None:
                touch((principal, hour))
                last_entry_of[principal] = row
            if outcome != "allowed":
                if outcome == "denied" and principal is not None:
                    denials.append(row)
                continue
            if not applicant or action not in _DISCLOSING:
                continue
            read(row)
            if principal is not None:
                hourly[(principal, hour)].setdefault(applicant, seq)
            if not purpose.startswith(_DECLARED_BASES):
                unexplained.append(row)
            if judge_off_hours:
                when = hours[hour]
                if when.working is not None and not (when.working and off_start <= when.china_hour < off_end):
                    key = f"{R.OFF_HOURS}:{principal}:{when.day.isoformat()}"
                    _add(off_hours, R.OFF_HOURS, key, row, _off_hours, when)
            if applicant in watched:
                key = f"{R.WATCH_LIST}:{principal}:{applicant}:{hours[hour].day.isoformat()}"
                _add(watch_list, R.WATCH_LIST, key, row, _watched)

        found: list[Finding] = []
        if self.enabled[R.NO_RELATIONSHIP] and unexplained:
            found += await self._no_relationship(unexplained)
        if self.enabled[R.VOLUME]:
            roles = {p: (row[ROLE], row[DEPARTMENT]) for p, row in last_entry_of.items()}
            found += await self._volume(hourly, touched, roles)
        found += off_hours.values()
        if self.enabled[R.PROBING]:
            found += probing(denials, new[0][SEQ], self.probing_window, self.rules[R.PROBING], hours)
        found += watch_list.values()
        if self.enabled[R.NEIGHBOUR] and reads:
            found += await self._neighbours(reads)
        for finding in found:
            _merge(self.findings, finding)

    async def _no_relationship(self, unexplained: list[Row]) -> list[Finding]:
        """A read of an applicant with no case at the reader's department and no legal basis declared."""
        unknown = sorted({row[APPLICANT] for row in unexplained} - self.related.keys())
        if unknown:
            pairs = await repo.case_relationships(self.session, unknown)
            departments: dict[str, set[str]] = {ref: set() for ref in unknown}
            for department, ref in pairs:
                departments[ref].add(department)
            self.related.update((ref, frozenset(codes)) for ref, codes in departments.items())
        found: dict[str, Finding] = {}
        for row in unexplained:
            applicant = row[APPLICANT]
            if row[DEPARTMENT] in self.related[applicant]:
                continue
            _add(found, R.NO_RELATIONSHIP, f"{R.NO_RELATIONSHIP}:{row[PRINCIPAL]}:{applicant}", row, _unrelated)
        return list(found.values())

    async def _volume(
        self,
        hourly: dict[tuple[int, int], dict[str, int]],
        touched: set[tuple[int, int]],
        roles: dict[int, tuple[str, str]],
    ) -> list[Finding]:
        counts = {(p, self.hours[hour].start): reads for (p, hour), reads in hourly.items() if (p, hour) in touched}
        if not counts:
            return []
        params = self.rules[R.VOLUME]
        since = min(hour for _, hour in counts) - timedelta(days=float(params["history_days"]))
        principals = {p for p, _ in counts}
        await self._load_levels(principals, since)
        history = {p: {hour: n for hour, n in self.levels[p].items() if hour >= since} for p in principals}
        for (p, hour), reads in counts.items():
            self.levels[p][hour] = self.counted[p][hour] = len(reads)
        return volume(counts, history, roles, params)

    async def _load_levels(self, principals: set[int], since: datetime) -> None:
        """The principals' busy hours since `since`: those stored by earlier runs, read once per
        principal, with this run's counts over them."""
        if self.history_since is None or since < self.history_since:
            self.levels.clear()
            self.history_since = since
        missing = sorted(principals - self.levels.keys())
        if missing:
            stored = await repo.hourly_reads(self.session, missing, self.history_since)
            for p in missing:
                self.levels[p] = {**stored.get(p, {}), **self.counted.get(p, {})}

    async def save(self) -> None:
        """Store this run's busy hours (whole hours as counted, context included) for later runs."""
        await repo.save_hourly_reads(
            self.session, {(p, hour): n for p, hours in self.counted.items() for hour, n in hours.items()}
        )

    async def _neighbours(self, reads: list[Row]) -> list[Finding]:
        households = await repo.households_read_between(self.session, reads[0][SEQ] - 1, reads[-1][SEQ])
        return neighbours(reads, households)


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


# The rules that look at more than one entry. Each takes entries (and what it needs looked up) and
# returns findings.


def robust_limit(history: Sequence[int], k: float) -> float:
    """median + k * MAD (median absolute deviation): a usual level a few busy hours cannot inflate."""
    median = statistics.median(history)
    mad = statistics.median(abs(n - median) for n in history)
    return median + k * mad


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


def probing(denials: Sequence[Row], first_new: int, window: int, params: dict[str, Any], hours: Hours) -> list[Finding]:
    """At least `denials` refusals of one principal within `window_minutes` (`window` in µs);
    `denials` holds the context's refusals, then the new ones (from seq `first_new`)."""
    needed = int(params["denials"])
    recent: dict[int, deque[Row]] = defaultdict(deque)
    found: dict[str, Finding] = {}
    for row in denials:
        queue = recent[row[PRINCIPAL]]
        queue.append(row)
        while row[MICROS] - queue[0][MICROS] > window:
            queue.popleft()
        if len(queue) < needed or row[SEQ] < first_new:
            continue
        key = f"{R.PROBING}:{row[PRINCIPAL]}:{hours[queue[0][MICROS] // HOUR].start.isoformat()}"
        finding = found.get(key)
        if finding is None:
            summary = f"{_who(row)} was refused {needed} times or more within {params['window_minutes']} minutes"
            finding = found[key] = Finding(R.PROBING, key, row[PRINCIPAL], row[DEPARTMENT], summary)
        finding.seqs = sorted(set(finding.seqs) | {q[SEQ] for q in queue})[:MAX_EVIDENCE]
    return list(found.values())


_NO_HOUSEHOLD = ("", "")


def neighbours(reads: Sequence[Row], households: dict[str, tuple[str, str]]) -> list[Finding]:
    """One principal reading two or more applicants who share a surname and an address (a household)."""
    if not households:
        return []
    groups: dict[tuple[int | None, str, str], dict[str, Row]] = defaultdict(dict)
    for row in reads:
        name, address = households.get(row[APPLICANT], _NO_HOUSEHOLD)
        if name and address.strip():
            # The surname is the first character of a Chinese name (compound surnames aside).
            groups[(row[PRINCIPAL], name[0], address.strip())].setdefault(row[APPLICANT], row)
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
                first[DEPARTMENT],
                f"{_who(first)} read {len(members)} applicants sharing a surname and an address: "
                + ", ".join(sorted(members)),
                sorted(row[SEQ] for row in members.values())[:MAX_EVIDENCE],
            )
        )
    return findings
