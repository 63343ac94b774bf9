"""Time limits count working days on the official calendar: holidays off, adjusted weekends (调休) on.

The dates below are the State Council's announced schedules for 2025 and 2026, as shipped in the
holidays package (its China calendar with the makeup working days): a clerk promising "15 working days" before National Day must not promise
the same date as in an ordinary October.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from hub.calendar.workdays import (
    LAST_KNOWN_YEAR,
    add_working_days,
    is_working_day,
    local_date,
    working_days_between,
)
from hub.errors import CalendarOutOfRange


def test_national_day_2025_is_off_and_its_adjusted_weekend_days_are_on() -> None:
    assert is_working_day(date(2025, 9, 28))  # a Sunday, worked to make up for the holiday
    assert not any(is_working_day(date(2025, 10, day)) for day in range(1, 9))
    assert is_working_day(date(2025, 10, 11))  # a Saturday, worked too
    assert not is_working_day(date(2025, 10, 12))  # an ordinary Sunday


def test_a_promise_made_before_national_day_2025_runs_over_the_adjusted_days() -> None:
    friday_before = date(2025, 9, 26)
    assert add_working_days(friday_before, 1) == date(2025, 9, 28)
    assert add_working_days(friday_before, 3) == date(2025, 9, 30)
    assert add_working_days(friday_before, 4) == date(2025, 10, 9)
    assert add_working_days(friday_before, 6) == date(2025, 10, 11)
    # Fifteen working days end on 23 October, not on 17 October as Monday-to-Friday would say.
    assert add_working_days(friday_before, 15) == date(2025, 10, 23)


def test_spring_festival_2026_with_its_two_adjusted_saturdays() -> None:
    assert is_working_day(date(2026, 2, 14)) and is_working_day(date(2026, 2, 28))
    assert not any(is_working_day(date(2026, 2, day)) for day in range(15, 24))
    assert add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert add_working_days(date(2026, 2, 14), 1) == date(2026, 2, 24)
    assert add_working_days(date(2026, 2, 27), 1) == date(2026, 2, 28)


def test_spring_festival_2025_starts_after_a_working_sunday() -> None:
    assert add_working_days(date(2025, 1, 24), 1) == date(2025, 1, 26)
    assert add_working_days(date(2025, 1, 24), 2) == date(2025, 1, 27)
    assert add_working_days(date(2025, 1, 24), 3) == date(2025, 2, 5)
    assert add_working_days(date(2025, 2, 7), 1) == date(2025, 2, 8)  # Saturday 8 February is worked


def test_national_day_2026_and_the_mid_autumn_weekend_before_it() -> None:
    assert is_working_day(date(2026, 9, 20))  # Sunday, adjusted
    assert not is_working_day(date(2026, 9, 25))  # Friday, Mid-autumn Festival
    assert add_working_days(date(2026, 9, 24), 1) == date(2026, 9, 28)
    assert add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert add_working_days(date(2026, 10, 9), 1) == date(2026, 10, 10)  # Saturday, adjusted


def test_counting_working_days_between_dates() -> None:
    assert working_days_between(date(2025, 9, 30), date(2025, 10, 8)) == 0
    assert working_days_between(date(2025, 9, 30), date(2025, 10, 9)) == 1
    assert working_days_between(date(2025, 10, 9), date(2025, 9, 30)) == -1
    assert working_days_between(date(2026, 2, 13), date(2026, 2, 13)) == 0
    # 14 February (adjusted Saturday), 24 to 27 February, 28 February (adjusted Saturday), 2 March.
    assert working_days_between(date(2026, 2, 13), date(2026, 3, 2)) == 7


def test_counting_and_adding_agree_on_every_day_of_two_years() -> None:
    day = date(2025, 1, 1)
    while day <= date(2026, 10, 31):
        for days in (0, 1, 3, 15, 20):
            due = add_working_days(day, days)
            assert working_days_between(day, due) == days
            assert due == day or is_working_day(due)
        day += timedelta(days=1)


def test_a_deadline_outside_the_years_the_hub_keeps_is_refused_not_guessed() -> None:
    with pytest.raises(CalendarOutOfRange) as raised:
        add_working_days(date(LAST_KNOWN_YEAR, 12, 20), 20)
    assert str(LAST_KNOWN_YEAR + 1) in raised.value.message
    assert raised.value.extensions()["code"] == "CALENDAR_OUT_OF_RANGE"
    with pytest.raises(CalendarOutOfRange):
        is_working_day(date(2000, 6, 2))
    with pytest.raises(CalendarOutOfRange):
        working_days_between(date(LAST_KNOWN_YEAR, 12, 1), date(LAST_KNOWN_YEAR + 1, 1, 5))


def test_dates_are_taken_in_china_not_utc() -> None:
    assert local_date(datetime(2025, 9, 30, 16, 30, tzinfo=UTC)) == date(2025, 10, 1)
    assert local_date(datetime(2025, 9, 30, 15, 59, tzinfo=UTC)) == date(2025, 9, 30)


def test_the_china_calendar_loaded_alone_is_the_librarys_china_calendar() -> None:
    """The hub loads the library's China module without the 200-odd other countries (memory);
    the calendar it gives must be the very one the usual import gives."""
    from holidays.countries.china import China

    from hub.calendar.workdays import _china

    for year in (2001, 2020, 2025, 2026, 2027, 2050, 2099):
        alone, usual = _china().China(years=year), China(years=year)
        assert dict(alone) == dict(usual)
        assert alone.weekend_workdays == usual.weekend_workdays


def test_a_deadline_loads_no_other_country() -> None:
    import subprocess
    import sys

    probe = (
        "import sys; from datetime import date; from hub.calendar.workdays import add_working_days;"
        "add_working_days(date(2026, 9, 30), 5); print('holidays.countries' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout == "False\n"
