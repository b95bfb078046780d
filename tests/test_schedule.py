"""Scheduled runs: windows that overlap, nothing missed, nothing sent twice; the deployment."""

from __future__ import annotations

import asyncio
import csv
from datetime import date, timedelta
from pathlib import Path

import pytest

from flows.pipeline import weekly_digest
from flows.schedule import weekly_deployment
from flows.settings import load_settings
from tests.eutils_server import EutilsServer, corpus_records, load_corpus
from tests.smtp_server import SmtpServer

MONDAYS = [date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23)]


def sent_pmids(message) -> list[str]:
    tables = [p for p in message.iter_attachments() if p.get_filename().endswith(".csv")]
    if not tables:  # a quiet week attaches nothing
        return []
    (table,) = tables
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
    # The overlapping window says honestly what it left out, and the archive marks it.
    second = smtp.messages[1].message.get_body(("plain",)).get_content()
    first_week = len(sent_pmids(smtp.messages[0].message))
    assert (
        " ".join(second.split()).count(f"{first_week} were in earlier digests and are left out")
        == 2
    )  # the headline and "how this digest was made"
    index = (Path(kw_env["KRATOM_WATCH_REPORTS"]) / "index.html").read_text()
    assert index.count("scheduled: new since the last digest") == 3
    assert f"{first_week} records of the window were in earlier digests" in index


def test_manual_reruns_change_what_is_sent_only_when_asked(
    prefect_harness, kw_env, smtp, monkeypatch
):
    rows = [r for r in load_corpus() if r["pmid"]]
    first_week, second_week = rows[:6], rows[6:9]
    reports = Path(kw_env["KRATOM_WATCH_REPORTS"])
    with EutilsServer(corpus_records(lambda r: date(2026, 11, 4), first_week)) as server:
        monkeypatch.setenv("KRATOM_WATCH_EUTILS_URL", server.base_url)
        states = [
            weekly_digest(since=date(2026, 11, 2), until=date(2026, 11, 8), return_state=True)
        ]
        # The manual run marked nothing: the scheduled run of the same week lists all six,
        # but does not mail that same digest a second time.
        states.append(weekly_digest(kind="scheduled", as_of=MONDAYS[0], return_state=True))
        listed = csv_pmids(reports / "kratom-watch_2026-11-02_2026-11-08.csv")
        mails_after_scheduled = len(smtp.messages)
        # A manual run with mark_sent: later scheduled runs leave its papers out.
        server.add(corpus_records(lambda r: date(2026, 11, 11), second_week))
        states.append(
            weekly_digest(
                since=date(2026, 11, 9), until=date(2026, 11, 15), mark_sent=True, return_state=True
            )
        )
        states.append(weekly_digest(kind="scheduled", as_of=MONDAYS[1], return_state=True))

    assert all(s.is_completed() for s in states), [s.message for s in states]
    assert sorted(listed) == sorted(r["pmid"] for r in first_week)
    assert mails_after_scheduled == 1
    assert [len(sent_pmids(m.message)) for m in smtp.messages] == [6, 3, 0]
    last = " ".join(smtp.messages[-1].message["Subject"].split())
    assert last.startswith("kratom-watch 2026-11-01 to 2026-11-15: 0 new papers")


def csv_pmids(path: Path) -> list[str]:
    return [row["pmid"] for row in csv.DictReader(path.read_text(encoding="utf-8").splitlines())]


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


def retracted_later(row: dict, modified: date):
    """The row's record (created 2026-11-03) as PubMed serves it once a retraction notice
    is added, its modification date saying when."""
    (record,) = corpus_records(lambda r: date(2026, 11, 3), [row])
    notice = (
        '<CommentsCorrectionsList><CommentsCorrections RefType="RetractionIn">'
        "<RefSource>J Test. 2026 Nov;9:1</RefSource></CommentsCorrections>"
        "</CommentsCorrectionsList></MedlineCitation>"
    )
    record.xml = record.xml.replace("</MedlineCitation>", notice)
    record.modified = modified
    return record


def test_retraction_of_an_earlier_paper_reaches_a_later_digest(
    prefect_harness, kw_env, smtp, monkeypatch
):
    rows = [r for r in load_corpus() if r["pmid"]][:4]
    retracted = rows[0]
    with EutilsServer(corpus_records(lambda r: date(2026, 11, 3), rows)) as server:
        monkeypatch.setenv("KRATOM_WATCH_EUTILS_URL", server.base_url)
        first = weekly_digest(kind="scheduled", as_of=MONDAYS[0], return_state=True)
        second = weekly_digest(kind="scheduled", as_of=MONDAYS[1], return_state=True)
        # Long after it entered PubMed (outside any later created-date window), the
        # record gains a retraction notice; PubMed's modification date says when.
        server.add([retracted_later(retracted, modified=date(2026, 11, 20))])
        third = weekly_digest(kind="scheduled", as_of=MONDAYS[2], return_state=True)
        modified_searches = [r for r in server.requests if "[mdat]" in r.params.get("term", "")]

    assert all(s.is_completed() for s in (first, second, third))
    assert len(modified_searches) == 3  # one per scheduled run
    text = smtp.messages[-1].message.get_body(("plain",)).get_content()
    assert "Retracted" in text and "Retraction in: J Test. 2026 Nov;9:1" in text
    assert f"https://pubmed.ncbi.nlm.nih.gov/{retracted['pmid']}/" in text
    assert "Retraction in" not in smtp.messages[1].message.get_body(("plain",)).get_content()


def test_retraction_seen_by_a_run_that_fails_reaches_the_rerun(
    prefect_harness, kw_env, smtp, monkeypatch
):
    rows = [r for r in load_corpus() if r["pmid"]][:3]
    retracted = rows[0]
    with EutilsServer(corpus_records(lambda r: date(2026, 11, 3), rows)) as server:
        monkeypatch.setenv("KRATOM_WATCH_EUTILS_URL", server.base_url)
        first = weekly_digest(kind="scheduled", as_of=MONDAYS[0], return_state=True)
        server.add([retracted_later(retracted, modified=date(2026, 11, 12))])
        # The run that first sees the retraction stores the paper, then cannot mail.
        monkeypatch.setenv("KRATOM_WATCH_RETRY_BACKOFF", "0.01")
        monkeypatch.setenv("KRATOM_WATCH_SMTP_PORT", "9")
        failed = weekly_digest(kind="scheduled", as_of=MONDAYS[1], return_state=True)
        monkeypatch.setenv("KRATOM_WATCH_SMTP_PORT", str(smtp.port))
        rerun = weekly_digest(kind="scheduled", as_of=MONDAYS[1], return_state=True)
        later = weekly_digest(kind="scheduled", as_of=MONDAYS[2], return_state=True)

    assert first.is_completed() and failed.is_failed()
    assert rerun.is_completed() and later.is_completed()
    texts = [m.message.get_body(("plain",)).get_content() for m in smtp.messages]
    assert len(texts) == 3
    assert "Retraction in: J Test. 2026 Nov;9:1" in texts[1]
    assert f"https://pubmed.ncbi.nlm.nih.gov/{retracted['pmid']}/" in texts[1]
    assert "Retraction in" not in texts[2]  # reported once, then not again
