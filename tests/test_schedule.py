"""Scheduled runs: windows that overlap, nothing missed, nothing sent twice; the deployment."""

from __future__ import annotations

import asyncio
import csv
from datetime import date, timedelta

import pytest

from flows.pipeline import weekly_digest
from flows.schedule import weekly_deployment
from flows.settings import load_settings
from tests.eutils_server import EutilsServer, corpus_records, load_corpus
from tests.smtp_server import SmtpServer

MONDAYS = [date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23)]


def sent_pmids(message) -> list[str]:
    (table,) = [p for p in message.iter_attachments() if p.get_filename().endswith(".csv")]
    return [row["pmid"] for row in csv.DictReader(table.get_content().splitlines())]


@pytest.fixture
def smtp(tmp_path, monkeypatch):
    with SmtpServer(tmp_path) as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("KRATOM_WATCH_MAIL_TO", "reader@example.org")
        yield server


def test_three_scheduled_weeks_send_every_record_exactly_once(
    prefect_harness, kw_env, smtp, monkeypatch
):
    rows = [r for r in load_corpus() if r["pmid"]]
    on_time, late = rows[:30], rows[30:]
    # On-time records enter PubMed in the week before each Monday run.
    week_of = {r["pmid"]: MONDAYS[i % 3] - timedelta(days=1 + i % 7) for i, r in enumerate(on_time)}
    server = EutilsServer()
    monkeypatch.setenv("KRATOM_WATCH_EUTILS_URL", server.base_url)
    # Late records carry a created date inside the previous window but only become
    # searchable after that window's run: the overlap must catch them.
    late_created = {r["pmid"]: MONDAYS[i % 2] - timedelta(days=2) for i, r in enumerate(late)}

    def due(start: date, end: date) -> list[dict]:
        return [r for r in on_time if start <= week_of[r["pmid"]] < end]

    arrivals = [
        due(date.min, MONDAYS[0]),
        due(MONDAYS[0], MONDAYS[1]) + late[::2],
        due(MONDAYS[1], MONDAYS[2]) + late[1::2],
    ]
    created = {**week_of, **late_created}
    try:
        for monday, arriving in zip(MONDAYS, arrivals, strict=True):
            server.add(corpus_records(lambda r: created[r["pmid"]], arriving))
            state = weekly_digest(kind="scheduled", as_of=monday, return_state=True)
            assert state.is_completed(), state.message
    finally:
        server.stop()

    assert len(smtp.messages) == 3
    sent = [pmid for m in smtp.messages for pmid in sent_pmids(m.message)]
    assert sorted(sent) == sorted(r["pmid"] for r in rows)  # all, and none twice
    subjects = [" ".join(m.message["Subject"].split()) for m in smtp.messages]
    assert subjects[0].startswith("kratom-watch 2026-11-02 to 2026-11-08:")
    assert subjects[1].startswith("kratom-watch 2026-11-01 to 2026-11-15:")
    assert subjects[2].startswith("kratom-watch 2026-11-08 to 2026-11-22:")


def test_manual_rerun_does_not_change_what_is_sent(prefect_harness, kw_env, smtp, monkeypatch):
    rows = [r for r in load_corpus() if r["pmid"]][:6]
    with EutilsServer(corpus_records(lambda r: date(2026, 11, 4), rows)) as server:
        monkeypatch.setenv("KRATOM_WATCH_EUTILS_URL", server.base_url)
        manual = weekly_digest(since=date(2026, 11, 2), until=date(2026, 11, 8), return_state=True)
        scheduled = weekly_digest(kind="scheduled", as_of=MONDAYS[0], return_state=True)
        marked = weekly_digest(
            since=date(2026, 11, 2),
            until=date(2026, 11, 8),
            mark_sent=True,
            resend=True,
            return_state=True,
        )
        again = weekly_digest(kind="scheduled", as_of=MONDAYS[1], return_state=True)

    assert all(s.is_completed() for s in (manual, scheduled, marked, again))
    counts = [len(sent_pmids(m.message)) for m in smtp.messages]
    # The manual run reports all 6 and marks nothing; the first scheduled run still
    # sends all 6; the manual rerun with --mark-sent reports them again; the next
    # scheduled run finds nothing new.
    assert counts == [6, 6, 6, 0]


def test_deployment_schedule_and_parameters(prefect_harness, monkeypatch):
    from prefect.client.orchestration import get_client

    monkeypatch.setenv("NCBI_EMAIL", "tests@example.org")
    monkeypatch.setenv("KRATOM_WATCH_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("KRATOM_WATCH_SCHEDULE_DAY", "Tuesday")
    monkeypatch.setenv("KRATOM_WATCH_SCHEDULE_TIME", "6:30")
    deployment = weekly_deployment(load_settings())
    deployment_id = deployment.apply()

    async def read():
        async with get_client() as client:
            found = await client.read_deployment(deployment_id)
            run = await client.create_flow_run_from_deployment(
                deployment_id, parameters={"since": "2026-11-02", "until": "2026-11-08"}
            )
            return found, run

    found, run = asyncio.run(read())
    (schedule,) = found.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("30 6 * * tue", "Europe/Berlin")
    assert schedule.active
    assert found.parameters == {"kind": "scheduled"}
    assert found.name == "weekly"
    assert run.parameters == {"kind": "scheduled", "since": "2026-11-02", "until": "2026-11-08"}
