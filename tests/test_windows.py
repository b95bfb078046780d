"""Search windows: the last complete week, and a window split so each piece lists in full."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from flows.runs import split_window
from flows.windows import last_complete_week


@pytest.mark.parametrize(
    "today, week",
    [
        (date(2026, 11, 26), (date(2026, 11, 16), date(2026, 11, 22))),  # a Thursday
        (date(2026, 11, 23), (date(2026, 11, 16), date(2026, 11, 22))),  # a Monday
        (date(2026, 11, 22), (date(2026, 11, 9), date(2026, 11, 15))),  # a Sunday: not complete
    ],
)
def test_last_complete_week(today, week):
    assert last_complete_week(today) == week


@pytest.mark.parametrize(
    "days, count, cap, pieces",
    [(20, 1000, 200, 5), (7, 12_000, 9_999, 3), (2, 100_000, 9_999, 2), (31, 50_000, 9_999, 7)],
)
def test_split_window_covers_every_day_once(days, count, cap, pieces):
    since = date(2026, 1, 1)
    until = since + timedelta(days=days - 1)

    windows = split_window(since, until, count, cap)

    assert len(windows) == pieces
    covered = [w[0] + timedelta(days=i) for w in windows for i in range((w[1] - w[0]).days + 1)]
    assert covered == [since + timedelta(days=i) for i in range(days)]
