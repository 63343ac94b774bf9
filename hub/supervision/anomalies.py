"""Access anomaly rules over the signed log, evaluated incrementally by sequence number.

The evaluation reads only entries after its watermark (the last sequence number it judged) up to
the log's sequenced size, and then moves the watermark: nothing is judged twice, nothing rescanned.
Rules over a window of time (distinct applicants per hour, denials per few minutes) also see the
already judged entries of that window, as context only. An alert is stored once per rule and
subject (its dedupe key), with the sequence numbers of the entries that raised it, so its
evidence can be proven against a signed checkpoint (hub/supervision/alerts.py).

Millions of entries are judged at about the rate the database reads them: for each batch of the
log the database answers set questions in C (storage/repositories/supervision.py): which entries
are refusals, reads in off-hours periods (the calendar worked out per hour here, once), reads of
watch-listed applicants or reads with no case relationship (an anti-join); how many distinct
applicants each principal read in each hour; which reads share a household. Only those entries and
groups become Python objects; an entry no rule can flag never does.

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

_READS = repo.Reads(DISCLOSING_ACTIONS)
# Purposes that justify a read by themselves: a legal basis, the supervision office's own work.
_DECLARED_BASES = ("basis:", "supervision:")

# An entry as the rules read it (storage/repositories/supervision.py, `entries_to_judge`): seq,
# recorded at (µs since the epoch, UTC), principal, department, role, action, outcome, applicant,
# purpose, and 1 for a read with no case relationship and no basis declared.
Row = Sequence[Any]
SEQ, MICROS, PRINCIPAL, DEPARTMENT, ROLE, ACTION, OUTCOME, APPLICANT, PURPOSE, UNRELATED = range(10)
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
    trusted = bool(start) and await repo.watermark(session, VOLUME_JUDGED) == start
    evaluation = _Evaluation(session, rules, volume_sets_trusted=trusted)
    context = ContextStarts(bound)
    if start and head - start > BATCH:
        # Where earlier runs' entries end, for this run's later batches (a run of one batch, such as
        # the served hub's every few seconds, has none: it reads its context from the stored bound).
        context.judged_before(start, await repo.latest_recorded_between(session, bound.seq, start))
    # (first seq, latest time) of each batch: where the next run's context can start.
    batches: list[tuple[int, int]] = []
    done = start
    while done < head:
        upto = min(done + BATCH, head)
        span = await repo.span_between(session, done, upto)
        if span is not None:
            first_seq, earliest, latest = span
            # The hours and probing windows of the batch's entries, its earliest one's included
            # (entries are sequenced in about the order they are recorded, not exactly).
            since = min(earliest - earliest % HOUR, earliest - evaluation.probing_window)
            fill_since = min(since - since % HOUR, (latest // HOUR - (KEPT_HOURS - 1)) * HOUR)
            hours = await evaluation.judge(
                Batch(
                    done,
                    upto,
                    first_seq,
                    earliest,
                    latest,
                    since,
                    context.first_seq(since),
                    fill_since,
                    context.first_seq(fill_since),
                )
            )
            batches.append((first_seq, latest))
            context.judged_before(upto, latest, hours)
        done = upto
        if progress is not None:
            progress(done - start, head - start)
    await evaluation.save()
    if evaluation.enabled[R.VOLUME]:
        await repo.save_watermark(session, VOLUME_JUDGED, head)
    stored = await _store(session, list(evaluation.findings.values()), hub.clock())
    if batches:
        await _move_context_bound(session, bound, batches, start, head, context_trail(rules))
    await repo.save_watermark(session, WATERMARK, head)
    return AnomalyRun(head - start, head, stored)


# Where the window rules' context can start reading, so that an incremental run over a long log
# reads the last hours of it, not all of it: every entry before seq `CONTEXT_SEQ` was recorded
# before `CONTEXT_MICROS` (two more watermarks). Entries are sequenced in about the order they are
# recorded, so the bound trails the latest judged entry by the longest context a rule reads (the
# volume rule's hour, the probing window) and an hour more: a run whose context reaches further
# back (an entry sequenced over an hour late) reads from the log's start, as before. A day's trail
# made every pass of the served hub scan the log's last day (measured: 1,000,000 entries a day, a
# scan of the whole table, 281 ms, against 77 ms with two hours; docs/supervision.md).
CONTEXT_SEQ = "access_log.context_seq"
CONTEXT_MICROS = "access_log.context_us"
LATE_ENTRIES = HOUR

# The end of what the volume rule last judged: an evaluation starting anywhere else (the rule was
# off for a while, the log is judged again from its start) cannot trust the distinct applicants kept
# per principal and hour, and fills them from the log for its first batch. The sets are kept for
# the last KEPT_HOURS hours judged; a batch reaching an earlier hour (a late entry) reads the log.
VOLUME_JUDGED = "access_log.volume_judged"
KEPT_HOURS = 3


def context_trail(rules: Rules) -> int:
    """How far (µs) the stored context bound trails the latest judged entry."""
    window = timedelta(minutes=float(rules[R.PROBING]["window_minutes"])) // timedelta(microseconds=1)
    return max(HOUR, window) + LATE_ENTRIES


@dataclass(frozen=True, slots=True)
class ContextBound:
    seq: int
    micros: int

    def first_seq(self, since: int) -> int:
        return self.seq if since >= self.micros else 0


class ContextStarts:
    """Seq numbers before which every entry was recorded before a known time: the stored bound, the
    end of what earlier runs judged, and in each batch of this run the first entry of each hour and
    the batch's end. A batch's context is read from the last of them that lies before its window, so
    the database reads about the window's entries, not the log from its start nor a whole batch."""

    def __init__(self, bound: ContextBound) -> None:
        # (seq, latest time of any entry before it): both grow along the log.
        self.starts: list[tuple[int, int]] = [(bound.seq, bound.micros - 1)] if bound.seq else []

    def judged_before(self, upto: int, latest: int | None, first_seqs: dict[int, int] | None = None) -> None:
        """Every entry up to seq `upto` is known, the latest of those after the last start at `latest`;
        `first_seqs` (hour -> the first seq of those entries recorded in it) adds a start per hour, so
        that the next batch's context starts within its window's hour, not a batch back."""
        before = self.starts[-1][1] if self.starts else -1
        # The first seq of the entries recorded in each hour or later: every entry before it was
        # recorded before that hour.
        later: list[tuple[int, int]] = []
        seq = upto + 1
        for hour, first in sorted((first_seqs or {}).items(), reverse=True):
            seq = min(seq, first)
            later.append((seq, max(before, hour * HOUR - 1)))
        self.starts += reversed(later)
        self.starts.append((upto + 1, max(before, latest if latest is not None else -1)))

    def first_seq(self, since: int) -> int:
        """A seq before which every entry was recorded before `since` (µs)."""
        return next((seq for seq, latest in reversed(self.starts) if latest < since), 0)


@dataclass(frozen=True, slots=True)
class Batch:
    """The entries of seq (after, upto], recorded from `earliest` to `latest` (µs); their window rules
    read the entries recorded since `since`, from seq `context_seq` on, as context."""

    after: int
    upto: int
    first_seq: int
    earliest: int
    latest: int
    since: int
    context_seq: int
    # Where the volume rule fills its sets from when it cannot trust them: the whole hours from the
    # batch's earliest, and the KEPT_HOURS before its latest (µs), and a seq before which every
    # entry was recorded earlier.
    fill_since: int
    fill_seq: int


async def _move_context_bound(
    session: AsyncSession, bound: ContextBound, batches: list[tuple[int, int]], start: int, head: int, trail: int
) -> None:
    micros = max(latest for _, latest in batches) - trail
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

    def __init__(self, session: AsyncSession, rules: Rules, *, volume_sets_trusted: bool) -> None:
        self.session = session
        self.rules = rules
        self.enabled = {rule: rules.enabled(rule) for rule in _RULES}
        self.probing_window = timedelta(minutes=float(rules[R.PROBING]["window_minutes"])) // timedelta(microseconds=1)
        self.watched = sorted(rules[R.WATCH_LIST]["applicants"]) if self.enabled[R.WATCH_LIST] else []
        self.hours = Hours()
        # Principal -> hour -> distinct applicants read: earlier runs' (from `history_since`) and
        # this run's; `counted` holds this run's alone, stored at its end.
        self.levels: dict[int, dict[datetime, int]] = {}
        self.history_since: datetime | None = None
        self.counted: dict[int, dict[datetime, int]] = defaultdict(dict)
        self.findings: dict[str, Finding] = {}
        # Whether `supervision_hour_applicants` holds every read judged so far (evaluate_anomalies),
        # and the latest hour this run judged (µs), below which old sets are dropped at its end.
        self.volume_sets_trusted = volume_sets_trusted
        self.latest_micros: int | None = None

    def is_off(self, when: Hour) -> bool:
        """A day off of the official calendar, or outside working hours on a working day."""
        start, end = self.rules[R.OFF_HOURS]["start_hour"], self.rules[R.OFF_HOURS]["end_hour"]
        return when.working is not None and not (when.working and start <= when.china_hour < end)

    def off_hours(self, batch: Batch) -> list[tuple[int, int]]:
        """The batch's hours outside working hours, as periods [start, end) in µs: the calendar is
        worked out per hour in Python, the database only compares times."""
        if not self.enabled[R.OFF_HOURS]:
            return []
        periods: list[tuple[int, int]] = []
        for hour in range(batch.earliest // HOUR, batch.latest // HOUR + 1):
            if not self.is_off(self.hours[hour]):
                continue
            if periods and periods[-1][1] == hour * HOUR:
                periods[-1] = (periods[-1][0], (hour + 1) * HOUR)
            else:
                periods.append((hour * HOUR, (hour + 1) * HOUR))
        return periods

    async def judge(self, batch: Batch) -> dict[int, int]:
        """Every enabled rule over one batch: the database picks out the entries and groups a rule
        could flag, and only those are looked at here. Returns the batch's first seq in each hour, if
        the volume rule counted them."""
        off_hours = self.off_hours(batch)
        rows = await repo.entries_to_judge(
            self.session,
            batch.after,
            batch.upto,
            _READS,
            refusals=self.enabled[R.PROBING],
            periods=off_hours,
            applicants=self.watched,
            unrelated_unless=_DECLARED_BASES if self.enabled[R.NO_RELATIONSHIP] else None,
            evidence=MAX_EVIDENCE,
        )
        hours, watched = self.hours, frozenset(self.watched)
        denials: list[Row] = []
        unrelated: dict[str, Finding] = {}
        off: dict[str, Finding] = {}
        watch_list: dict[str, Finding] = {}
        for row in rows:
            if row[OUTCOME] != "allowed":
                denials.append(row)
                continue
            principal, applicant = row[PRINCIPAL], row[APPLICANT]
            if row[UNRELATED]:
                _add(unrelated, R.NO_RELATIONSHIP, f"{R.NO_RELATIONSHIP}:{principal}:{applicant}", row, _unrelated)
            if off_hours and self.is_off(when := hours[row[MICROS] // HOUR]):
                _add(off, R.OFF_HOURS, f"{R.OFF_HOURS}:{principal}:{when.day.isoformat()}", row, _off_hours, when)
            if applicant in watched:
                key = f"{R.WATCH_LIST}:{principal}:{applicant}:{hours[row[MICROS] // HOUR].day.isoformat()}"
                _add(watch_list, R.WATCH_LIST, key, row, _watched)

        found: list[Finding] = [*unrelated.values()]
        first_seqs: dict[int, int] = {}
        if self.enabled[R.VOLUME]:
            refill = None
            if not self.volume_sets_trusted:
                # Every principal's reads of the hours a later batch may add to without the log.
                refill = repo.Refill(batch.fill_since, batch.fill_seq, everyone=True)
            elif batch.earliest // HOUR < batch.latest // HOUR - (KEPT_HOURS - 1):
                # A late entry, of an hour whose sets may be gone: its principals' reads of it.
                refill = repo.Refill(batch.since, batch.context_seq, everyone=False)
            busy = await repo.applicants_per_hour(self.session, _READS, batch.since, batch.after, batch.upto, refill)
            self.volume_sets_trusted = True  # whole now, and the next batch follows on
            self.latest_micros = max(batch.latest, self.latest_micros or batch.latest)
            found += await self._volume(batch, busy)
            first_seqs = busy.first_seqs
        found += off.values()
        if self.enabled[R.PROBING]:
            context = await repo.refusals_recorded_since(self.session, batch.since, batch.context_seq, batch.after)
            found += probing(context + denials, batch.first_seq, self.probing_window, self.rules[R.PROBING], hours)
        found += watch_list.values()
        if self.enabled[R.NEIGHBOUR]:
            found += neighbours(
                await repo.shared_households_read_between(self.session, _READS, batch.after, batch.upto)
            )
        for finding in found:
            _merge(self.findings, finding)
        return first_seqs

    async def _volume(self, batch: Batch, busy: repo.BusyHours) -> list[Finding]:
        if not busy.counts:
            return []
        counts = {(p, self.hours[hour].start): n for p, hour, n in busy.counts}
        params = self.rules[R.VOLUME]
        since = min(hour for _, hour in counts) - timedelta(days=float(params["history_days"]))
        principals = {p for p, _ in counts}
        await self._load_levels(principals, since)
        history = {p: {hour: n for hour, n in self.levels[p].items() if hour >= since} for p in principals}
        for (p, hour), n in counts.items():
            self.levels[p][hour] = self.counted[p][hour] = n
        found = volume(counts, history, busy.roles, params)
        subjects = {(p, int((hour - _EPOCH) // timedelta(hours=1))): finding for (p, hour), finding in found.items()}
        evidence = await repo.first_reads_in_hours(
            self.session, _READS, list(subjects), batch.since, batch.context_seq, batch.upto
        )
        for subject, finding in subjects.items():
            finding.seqs = evidence.get(subject, [])[:MAX_EVIDENCE]
        return list(found.values())

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
        if self.latest_micros is not None:
            # One hour more than a batch may reach back incrementally: slack for clocks that differ.
            await repo.forget_hour_applicants(self.session, self.latest_micros // HOUR - KEPT_HOURS - 1)


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
    counts: dict[tuple[int, datetime], int],
    history: dict[int, dict[datetime, int]],
    roles: dict[int, tuple[str, str]],
    params: dict[str, Any],
) -> dict[tuple[int, datetime], Finding]:
    """More distinct applicants in an hour than the role's limit, or than the principal's usual level;
    each finding's evidence (the hour's first reads) is for the caller to add."""
    # A principal's busy hours: those stored by previous runs and those of this run; the usual level
    # is drawn once per principal from all of them (median and MAD shrug off the few unusual ones).
    seen: dict[int, dict[datetime, int]] = defaultdict(dict)
    for principal_id, hours in history.items():
        seen[principal_id].update(hours)
    for (principal_id, hour), reads in counts.items():
        seen[principal_id][hour] = reads
    usual: dict[int, tuple[float, float, int]] = {}
    for principal_id, hours in seen.items():
        if len(hours) > params["min_hours"]:
            levels = list(hours.values())
            usual[principal_id] = (robust_limit(levels, params["mad_k"]), statistics.median(levels), len(levels))
    findings = {}
    for (principal_id, hour), reads in counts.items():
        role, department = roles.get(principal_id, ("", ""))
        limit = params["role_limits"].get(role)
        why = None
        if limit is not None and reads > limit:
            why = f"the {role} limit of {limit}"
        elif principal_id in usual:
            level, median, hours_seen = usual[principal_id]
            if reads > level and reads >= median + params["min_excess"]:
                why = f"its usual level ({level:.1f}: median + {params['mad_k']} MAD of {hours_seen} busy hours)"
        if why is None:
            continue
        key = f"{R.VOLUME}:{principal_id}:{hour.isoformat()}"
        findings[principal_id, hour] = Finding(
            R.VOLUME,
            key,
            principal_id,
            department,
            f"principal {principal_id} ({role}, {department}) read {reads} applicants in the hour from "
            f"{hour.astimezone(CHINA):%Y-%m-%d %H:00}, over {why}",
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


# A read of a shared household (storage/repositories/supervision.py, `shared_households_read_between`):
# principal, surname, address, applicant, seq of its first read, role and department of that read.
HouseholdRead = tuple[int | None, str, str, str, int, str, str]


def neighbours(reads: Sequence[HouseholdRead]) -> list[Finding]:
    """One principal reading two or more applicants who share a surname and an address (a household):
    `reads` holds the first read of each such applicant, in seq order."""
    groups: dict[tuple[int | None, str, str], list[HouseholdRead]] = defaultdict(list)
    for read in reads:
        groups[read[:3]].append(read)
    findings = []
    for (principal_id, surname, address), members in groups.items():
        _, _, _, _, _, role, department = members[0]
        # The key names the household by a hash, never by the address itself.
        household = hashlib.sha256(f"{surname}|{address}".encode()).hexdigest()[:16]
        key = f"{R.NEIGHBOUR}:{principal_id}:{household}"
        findings.append(
            Finding(
                R.NEIGHBOUR,
                key,
                principal_id,
                department,
                f"principal {principal_id} ({role}, {department}) read {len(members)} applicants sharing a "
                "surname and an address: " + ", ".join(sorted(member[3] for member in members)),
                sorted(member[4] for member in members)[:MAX_EVIDENCE],
            )
        )
    return findings
