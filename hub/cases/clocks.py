"""When a department's clock stood still, from plain rows: one rule for case views and supervision.

A department's clock stops while it waits for the applicant's correction (补正, art. 32: from a
`NEEDS_CORRECTION` opinion until a material is handed in to the case or the department answers
again) and during the periods it excluded (art. 45, stored in `review_pauses`; one still open when
the department settled ends with that decision, so a forgotten `endPause` cannot hold a clock still
for ever). The case views (hub/cases/views.py) and the supervision office's timing
(hub/supervision/timing.py) both ask this module, so a department waiting for a correction is on
time in both or in neither.

The functions take plain values (no session, no ORM object): the views pass their loaded rows, the
office's timing passes the columns it reads for 100,000 cases at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from hub.calendar.workdays import WorkingCalendar, local_date
from hub.cases.deadlines import Pause
from storage.models.cases import Decision, PauseReason

_SETTLING = (Decision.APPROVE.value, Decision.REJECT.value)


@dataclass(frozen=True, slots=True)
class OpinionFact:
    """One revision of a department's opinion, as far as its clock is concerned."""

    department_id: int
    decision: str
    recorded_at: datetime
    comments: str = ""


@dataclass(frozen=True, slots=True)
class StoredPauseFact:
    """An excluded period as stored (art. 45)."""

    department_id: int
    reason: str
    started_at: datetime
    ended_at: datetime | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class ClockStop:
    """A stretch a department's clock stood still; `ended_at` None while it lasts."""

    department_id: int
    reason: PauseReason
    started_at: datetime
    ended_at: datetime | None
    note: str

    @property
    def open(self) -> bool:
        return self.ended_at is None

    @property
    def span(self) -> Pause:
        return Pause(local_date(self.started_at), local_date(self.ended_at) if self.ended_at else None)

    def working_days(self, calendar: WorkingCalendar, reference: date) -> int:
        """Working days it kept off the count, an open stop counted up to `reference`."""
        start = local_date(self.started_at)
        end = local_date(self.ended_at) if self.ended_at else reference
        return max(calendar.working_days_between(start, end), 0)


def settled_at(own: Sequence[OpinionFact]) -> datetime | None:
    """When the department's standing answer (its last revision) settled its review, if it has."""
    if own and own[-1].decision in _SETTLING:
        return own[-1].recorded_at
    return None


def stored_stop(row: StoredPauseFact, settled: datetime | None) -> ClockStop:
    """An excluded period; one still open when the department decided ends with that decision."""
    ended_at = row.ended_at
    if ended_at is None and settled is not None and settled >= row.started_at:
        ended_at = settled
    return ClockStop(row.department_id, PauseReason(row.reason), row.started_at, ended_at, row.note)


def correction_stops(own: Sequence[OpinionFact], handed_in: Sequence[datetime]) -> list[ClockStop]:
    """补正: from each correction request until a material is handed in to the case, or the
    department answers again, whichever comes first; open while neither has happened."""
    result = []
    for index, opinion in enumerate(own):
        if opinion.decision != Decision.NEEDS_CORRECTION.value:
            continue
        ends = [moment for moment in handed_in if moment > opinion.recorded_at]
        if index + 1 < len(own):
            ends.append(own[index + 1].recorded_at)
        result.append(
            ClockStop(
                opinion.department_id,
                PauseReason.CORRECTION,
                opinion.recorded_at,
                min(ends) if ends else None,
                opinion.comments,
            )
        )
    return result


def clock_stops(
    opinions: Iterable[OpinionFact], stored: Iterable[StoredPauseFact], handed_in: Sequence[datetime]
) -> dict[int, list[ClockStop]]:
    """One case's clock stops by department, oldest first.

    `opinions`: every revision of the case, oldest first per department; `stored`: its excluded
    periods; `handed_in`: when materials were handed in to it (promises excluded).
    """
    by_department: dict[int, list[OpinionFact]] = {}
    for opinion in opinions:
        by_department.setdefault(opinion.department_id, []).append(opinion)
    result: dict[int, list[ClockStop]] = {}
    for row in stored:
        result.setdefault(row.department_id, []).append(
            stored_stop(row, settled_at(by_department.get(row.department_id, [])))
        )
    for department_id, own in by_department.items():
        stops = correction_stops(own, handed_in)
        if stops:
            result.setdefault(department_id, []).extend(stops)
    for stops in result.values():
        stops.sort(key=lambda s: s.started_at)
    return result
