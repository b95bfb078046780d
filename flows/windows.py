"""Which days a run covers: plain date logic, importable without Prefect."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flows.errors import KratomWatchError
from flows.settings import Settings
from flows.store import Store


def last_complete_week(today: date) -> tuple[date, date]:
    """Monday to Sunday of the last week that has fully ended before `today`."""
    this_monday = today - timedelta(days=today.weekday())
    return this_monday - timedelta(days=7), this_monday - timedelta(days=1)


def resolve_window(
    settings: Settings, since: date | None, until: date | None, today: date | None = None
) -> tuple[date, date]:
    """The window a run covers; with no dates, the last complete week in the set time zone."""
    today = today or datetime.now(settings.tz).date()
    if since is None and until is None:
        return last_complete_week(today)
    if since is None:
        # Said in the parameters' own names: the CLI's --since/--until and the flow's
        # since/until parameters are the same words.
        raise KratomWatchError(f"until {until} needs since too: give both dates or neither")
    until = until or today
    if since > today:
        raise KratomWatchError(f"the window starts in the future ({since}; today is {today})")
    if since > until:
        raise KratomWatchError(f"the window is reversed: since {since} is after until {until}")
    return since, until


def scheduled_window(settings: Settings, store: Store, today: date) -> tuple[date, date]:
    """What is new since the last successful scheduled run, overlapping it by a margin.

    Records can enter PubMed with a created date a few days back (indexing
    lag), so the window starts `overlap_days` before the previous one ended;
    papers already sent are left out of the digest, so the overlap repeats
    nothing. A missed or failed run just makes the next window longer.
    """
    previous = store.last_completed_run("scheduled")
    if previous is None:
        return last_complete_week(today)
    since = previous.until - timedelta(days=settings.schedule.overlap_days)
    return since, max(since, today - timedelta(days=1))
