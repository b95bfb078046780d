"""efetch answers that hold more than the search listed: each listed paper stored once, the
rest left out and said so; the run's counts stay true."""

from __future__ import annotations

import sqlite3
from datetime import date

from click.testing import CliRunner

from flows.cli import cli
from tests.eutils_server import EutilsServer, corpus_records, http_error, load_corpus, pubmed_set

DAY = date(2026, 11, 3)


def test_duplicate_and_unlisted_articles_are_not_stored_or_counted(
    prefect_harness, kw_env, monkeypatch
):
    rows = [r for r in load_corpus() if r["pmid"]]
    listed = corpus_records(lambda r: DAY, rows[:3])
    (stranger,) = corpus_records(lambda r: DAY, rows[3:4])  # in no search's answer
    body = pubmed_set([listed[0].xml, listed[0].xml, listed[1].xml, stranger.xml, listed[2].xml])
    with EutilsServer(listed) as server:
        monkeypatch.setenv("KRATOM_WATCH_EUTILS_URL", server.base_url)
        server.fail("efetch", http_error(200, body, {"Content-Type": "text/xml"}))
        result = CliRunner().invoke(
            cli, ["run", "--since", str(DAY), "--until", str(DAY), "--no-email"]
        )

    assert result.exit_code == 0, result.output
    with sqlite3.connect(kw_env["KRATOM_WATCH_DB"]) as db:
        stored = sorted(row[0] for row in db.execute("SELECT pmid FROM papers"))
        runs = db.execute("SELECT status, found, new FROM runs").fetchall()
    assert stored == sorted(r.pmid for r in listed)
    assert runs == [("completed", 3, 3)]
