"""When steps fall due: delays, "next day at 10:00", send windows (Japan time)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from journeys.models import DelayUnit, Step
from journeys.sequences import step_due_at

JST = ZoneInfo("Asia/Tokyo")


def at(day, hour, minute=0):
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=JST)


@pytest.mark.parametrize(
    ("unit", "value", "at_time", "after", "due"),
    [
        (DelayUnit.MINUTES, 30, None, at(24, 9), at(24, 9, 30)),
        (DelayUnit.HOURS, 3, None, at(24, 22), at(25, 1)),
        (DelayUnit.DAYS, 2, None, at(24, 9), at(26, 9)),
        (DelayUnit.DAYS_AT, 1, dt.time(10, 0), at(24, 23, 50), at(25, 10)),
        (DelayUnit.DAYS_AT, 1, dt.time(10, 0), at(24, 0, 10), at(25, 10)),
        (DelayUnit.DAYS_AT, 0, dt.time(10, 0), at(24, 9), at(24, 10)),
        # "Today at 10:00" asked at 11:00 is not in the past: it goes at once.
        (DelayUnit.DAYS_AT, 0, dt.time(10, 0), at(24, 11), at(24, 11)),
    ],
)
def test_delays(unit, value, at_time, after, due):
    step = Step(delay_unit=unit, delay_value=value, at_time=at_time)
    assert step_due_at(step, after=after) == due


def test_a_due_time_outside_the_send_window_moves_to_its_next_opening():
    step = Step(
        delay_unit=DelayUnit.HOURS,
        delay_value=2,
        window_start=dt.time(9, 0),
        window_end=dt.time(20, 0),
    )
    assert step_due_at(step, after=at(24, 10)) == at(24, 12)
    assert step_due_at(step, after=at(24, 19)) == at(25, 9)
    assert step_due_at(step, after=at(24, 5)) == at(24, 9)
