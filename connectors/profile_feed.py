"""A department's profile feed: the applicant records a department system exports, loaded into the
shared profile so it starts populated with values the department verified (docs/connectors.md).

Two formats, chosen by the file's extension:

- `.jsonl`: one JSON object per line, `{"idNumber": …, "name": …, "fields": {…}, "verified": true}`;
- `.csv`: a header `idNumber,name,verified` plus one column per profile field; empty cells ignored.

The file is streamed. Each record is applied by `hub.profiles.apply_feed_record` as the principal
whose token is given, with the declared purpose, in a transaction of its own: a refused record is
rolled back (its access entries kept) and the feed goes on. Reports name a record by its line and
masked ID number, never a profile value or a whole number.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.access.context import Hub, RequestContext
from hub.access.principals import principal_context
from hub.errors import HubError, InvalidInput
from hub.profiles.applicants import FeedOutcome, FeedResult, apply_feed_record

ENCODING = "utf-8-sig"  # UTF-8, with or without the byte-order mark spreadsheets write
CSV_COLUMNS = ("idNumber", "name", "verified")
CSV_FLAGS = {"": False, "true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


@dataclass(frozen=True, slots=True)
class FeedRecord:
    line: int
    id_number: str
    name: str
    fields: dict[str, str]
    verified: bool


@dataclass(frozen=True, slots=True)
class UnreadableRecord:
    """A line that is not a record at all: refused before it reaches the hub."""

    line: int
    id_number: str
    error: InvalidInput


@dataclass
class FeedSummary:
    records: int = 0
    outcomes: Counter[FeedResult] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    # Materials issued elsewhere that pulls bring in (connectors/issued.py): "issued", "reissued", "same".
    materials: Counter[str] = field(default_factory=Counter)

    @property
    def all_applied(self) -> bool:
        return not self.refused

    def __str__(self) -> str:
        counts = ", ".join(f"{self.outcomes[result]} {result.value}" for result in FeedResult)
        refused = sum(self.refused.values())
        by_code = ", ".join(f"{code} {n}" for code, n in sorted(self.refused.items()))
        text = f"{self.records} records: {counts}, {refused} refused" + (f" ({by_code})" if by_code else "")
        if self.materials:
            text += "; materials: " + ", ".join(f"{self.materials[k]} {k}" for k in ("issued", "reissued", "same"))
        return text


def masked(id_number: str) -> str:
    """An ID number fit for a report: only its first six (region) and last two characters."""
    value = id_number.strip()
    if len(value) <= 8:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 8) + value[-2:]


def _record(line: int, raw: Any) -> FeedRecord | UnreadableRecord:
    """Check the shape of one record; the hub checks its content."""
    if not isinstance(raw, dict):
        return UnreadableRecord(line, "", InvalidInput("a record is a JSON object"))
    id_number, name = raw.get("idNumber"), raw.get("name", "")
    fields, verified = raw.get("fields", {}), raw.get("verified", False)
    problem = ""
    if not isinstance(id_number, str) or not id_number.strip():
        problem, id_number = "idNumber is missing or not text", ""
    elif not isinstance(name, str):
        problem = "name is not text"
    elif not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
        problem = "fields is not an object of text values"
    elif not isinstance(verified, bool):
        problem = "verified is not true or false"
    if problem:
        return UnreadableRecord(line, id_number, InvalidInput(problem))
    return FeedRecord(line, id_number, name, fields, verified)


def _jsonl_records(lines: Iterable[str]) -> Iterator[FeedRecord | UnreadableRecord]:
    for line, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            raw = json.loads(text)
        except ValueError:
            yield UnreadableRecord(line, "", InvalidInput("not a JSON object"))
            continue
        yield _record(line, raw)


def _csv_records(lines: Iterable[str]) -> Iterator[FeedRecord | UnreadableRecord]:
    reader = csv.reader(lines)
    header = [column.strip() for column in next(reader, [])]
    missing = [column for column in CSV_COLUMNS[:2] if column not in header]
    if missing or len(set(header)) != len(header):
        raise InvalidInput(f"the CSV header needs {', '.join(CSV_COLUMNS[:2])} once each, then field columns")
    end_of_previous = reader.line_num
    for cells in reader:
        line, end_of_previous = end_of_previous + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            yield UnreadableRecord(line, "", InvalidInput("more cells than the header has columns"))
            continue
        row = dict(zip(header, cells, strict=False))  # short rows: missing cells
        flag = row.pop("verified", "").strip().lower()
        yield _record(
            line,
            {
                "idNumber": row.pop("idNumber"),
                "name": row.pop("name"),
                "verified": CSV_FLAGS.get(flag, flag),
                "fields": {column: value for column, value in row.items() if value.strip()},
            },
        )


FORMATS: dict[str, Callable[[Iterable[str]], Iterator[FeedRecord | UnreadableRecord]]] = {
    ".jsonl": _jsonl_records,
    ".csv": _csv_records,
}


async def load_profile_feed(
    hub: Hub, path: Path, token: str, purpose: str | None, *, report: Callable[[str], None]
) -> FeedSummary:
    """Apply every record of the feed at `path` as the principal holding `token`.

    Raises a HubError before anything is applied if the file or the token is unusable; `report`
    receives one line per refused record.
    """
    read = FORMATS.get(path.suffix.lower())
    if read is None:
        raise InvalidInput(f"a feed is a {' or '.join(FORMATS)} file", field="file")
    if not path.is_file():
        raise InvalidInput(f"no feed file at {path}", field="file")
    async with principal_context(hub, token, purpose) as ctx:
        summary = FeedSummary()
        with path.open(encoding=ENCODING, newline="") as lines:
            try:
                for record in read(lines):
                    summary.records += 1
                    error = await apply_record(ctx, record, summary)
                    if error is not None:
                        summary.refused[error.code] += 1
                        report(refusal(record, error))
            except (UnicodeDecodeError, csv.Error) as error:
                raise InvalidInput(f"{path.name} is unreadable after {summary.records} records: {error}") from None
        return summary


def refusal(record: FeedRecord | UnreadableRecord, error: HubError) -> str:
    who = f" {masked(record.id_number)}" if record.id_number else ""
    return f"line {record.line}: {error.code}{who}: {error.message}"


async def apply_record(
    ctx: RequestContext, record: FeedRecord | UnreadableRecord, summary: FeedSummary
) -> HubError | None:
    if isinstance(record, UnreadableRecord):
        return record.error
    try:
        outcome: FeedOutcome = await apply_feed_record(
            ctx, record.id_number, record.name, record.fields, verified=record.verified
        )
    except HubError as error:
        await ctx.rollback_keeping_log()
        return error
    summary.outcomes[outcome.result] += 1
    return None
