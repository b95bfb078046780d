from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from flows.errors import SettingsError
from flows.runs import split_window
from flows.settings import DEFAULT_QUERY, NCBI_EUTILS_URL, load_settings
from flows.windows import last_complete_week

BASE = {"NCBI_EMAIL": "me@example.org"}


def test_defaults():
    settings = load_settings(BASE)
    assert settings.eutils_url == NCBI_EUTILS_URL
    assert settings.query == DEFAULT_QUERY
    assert (settings.db_path, settings.reports_dir) == (
        Path("kratom-watch.sqlite"),
        Path("reports"),
    )
    assert settings.ncbi_api_key is None


def test_every_variable_is_read():
    settings = load_settings(
        {
            **BASE,
            "NCBI_API_KEY": "abc123",
            "NCBI_TOOL": "mytool",
            "KRATOM_WATCH_EUTILS_URL": "http://127.0.0.1:9/eutils",
            "KRATOM_WATCH_QUERY": "kratom[tiab]",
            "KRATOM_WATCH_DB": "/tmp/x.sqlite",
            "KRATOM_WATCH_REPORTS": "/tmp/r",
            "KRATOM_WATCH_TIMEZONE": "Europe/Berlin",
            "KRATOM_WATCH_BATCH_SIZE": "250",
            "KRATOM_WATCH_TIMEOUT": "5",
        }
    )
    assert settings.ncbi_api_key.reveal() == "abc123"
    assert settings.eutils_url == "http://127.0.0.1:9/eutils/"
    assert (settings.ncbi_tool, settings.query, settings.timezone) == (
        "mytool",
        "kratom[tiab]",
        "Europe/Berlin",
    )
    assert (settings.batch_size, settings.timeout) == (250, 5.0)


def test_api_key_never_shows():
    settings = load_settings({**BASE, "NCBI_API_KEY": "SECRETKEY123"})
    assert "SECRETKEY123" not in repr(settings)
    assert "SECRETKEY123" not in f"{settings.ncbi_api_key}"


@pytest.mark.parametrize(
    "env, message",
    [
        ({}, "NCBI_EMAIL is not set"),
        ({"NCBI_EMAIL": "nobody"}, "is not an e-mail address"),
        ({**BASE, "NCBI_API_KEY": "has space!"}, "NCBI_API_KEY has characters"),
        ({**BASE, "KRATOM_WATCH_BATCH_SIZE": "0"}, "outside 1..10000"),
        ({**BASE, "KRATOM_WATCH_TIMEOUT": "two"}, "KRATOM_WATCH_TIMEOUT='two' is not a whole"),
        ({**BASE, "KRATOM_WATCH_EUTILS_URL": "eutils.example"}, "is not an http(s) base URL"),
    ],
)
def test_bad_settings(env, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(env)


def test_bad_api_key_message_does_not_echo_it():
    with pytest.raises(SettingsError) as raised:
        load_settings({**BASE, "NCBI_API_KEY": "my-secret-key"})
    assert "my-secret-key" not in str(raised.value)


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
