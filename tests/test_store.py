from __future__ import annotations

from datetime import date

import pytest

from flows.errors import StoreError
from flows.models import AbstractSection, Paper
from flows.store import Store


def paper(pmid: str, **changes) -> Paper:
    fields = dict(
        pmid=pmid,
        title="<i>Mitragyna speciosa</i> and mood",
        abstract=[
            AbstractSection("METHODS", "A survey."),
            AbstractSection("RESULTS", "r<sup>2</sup>"),
        ],
        authors=["Smith J", "Doe A"],
        journal="J Test",
        pub_year=2026,
        pub_date="2026 Nov",
        entry_date=date(2026, 11, 3),
        doi="10.1/x",
        publication_types=["Journal Article"],
        mesh_terms=[],
        design="cross_sectional",
        depression_relevant=True,
        evidence=["survey"],
        confidence=0.8,
        classifier_version="1",
    )
    fields.update(changes)
    return Paper(**fields)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "s.sqlite") as s:
        yield s


def test_round_trip(store):
    assert store.upsert_papers([paper("1")]).new == ["1"]
    assert store.papers(["1"]) == [paper("1")]


def test_upsert_is_keyed_on_pmid_and_reports_changes(store):
    store.upsert_papers([paper("1"), paper("2")])
    changed = paper("1", design="rct", notices=[("RetractionIn", "J Test. 2027")])

    result = store.upsert_papers([changed, paper("2")])

    assert result.new == []
    assert result.changed == [(paper("1"), changed)]
    assert store.count_papers() == 2
    assert store.papers(["1", "2"]) == [changed, paper("2")]


def test_unchanged_paper_is_not_rewritten(store):
    store.upsert_papers([paper("1")])
    (stamp,) = store.db.execute("SELECT last_updated FROM papers").fetchone()
    store.db.execute("UPDATE papers SET last_updated = 'earlier'")

    assert store.upsert_papers([paper("1")]).changed == []
    assert store.db.execute("SELECT last_updated FROM papers").fetchone() == ("earlier",)
    assert stamp != "earlier"


def test_papers_keep_requested_order_and_skip_unknown(store):
    store.upsert_papers([paper("1"), paper("2")])
    assert [p.pmid for p in store.papers(["2", "9", "1"])] == ["2", "1"]


def test_runs_are_recorded(store):
    run_id = store.start_run("manual", date(2026, 11, 2), date(2026, 11, 8), "kratom")
    store.finish_run(run_id, "completed", found=2, stored=2, new=1)
    (run,) = store.runs()
    assert (run.kind, run.since, run.until, run.status, run.found, run.new) == (
        "manual",
        date(2026, 11, 2),
        date(2026, 11, 8),
        "completed",
        2,
        1,
    )
    assert run.finished is not None


def test_corrupt_file_is_a_clear_error(tmp_path):
    path = tmp_path / "s.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open the store"):
        Store(path)


def test_a_version_1_store_is_migrated_in_place_keeping_its_rows(tmp_path):
    import sqlite3

    from flows.store import MIGRATIONS, SCHEMA_VERSION

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # a store as kratom-watch 0.1 (schema 1) left it
        db.executescript(MIGRATIONS[0])
        db.execute("PRAGMA user_version = 1")
        db.execute(
            "INSERT INTO runs (kind, since, until, query, status, started) "
            "VALUES ('scheduled', '2026-11-02', '2026-11-08', 'kratom', 'completed', 'x')"
        )
        db.execute(
            "INSERT INTO deliveries (digest, recipient, message_id, run_id, sent) "
            "VALUES ('k', 'a@example.org', '<m@x>', 1, 'x')"
        )

    with Store(path) as store:
        version = store.db.execute("PRAGMA user_version").fetchone()[0]
        assert version == SCHEMA_VERSION == len(MIGRATIONS)
        (delivery,) = store.deliveries("k").values()
        assert (delivery.recipient, delivery.status) == ("a@example.org", "delivered")
        assert store.delivered_to("k") == {"a@example.org"}
        assert [r.kind for r in store.runs()] == ["scheduled"]
        assert store.pending_updates() == []
    with Store(path) as again:  # current: nothing applied twice
        assert again.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_store_from_a_newer_version_is_refused(tmp_path):
    import sqlite3

    path = tmp_path / "new.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="newer kratom-watch"):
        Store(path)


def test_changes_to_a_reported_paper_are_kept_as_pending_updates_until_reported(store):
    from datetime import date as day

    first = store.start_run("scheduled", day(2026, 11, 2), day(2026, 11, 8), "q")
    store.upsert_papers([paper("1"), paper("2")], first)
    store.record_run_papers(first, ["1", "2"])
    store.finish_run(first, "completed")
    second = store.start_run("scheduled", day(2026, 11, 9), day(2026, 11, 15), "q")
    retracted = paper("1", notices=[("RetractionIn", "J Test. 2026;9:1")])
    unreported = paper("3")

    store.upsert_papers([retracted, paper("2", design="cohort"), unreported], second)
    store.upsert_papers([paper("3", design="rct")], second)  # never in a digest: no update

    assert store.pending_updates() == [
        ("1", "retracted", "Retraction in: J Test. 2026;9:1"),
        ("2", "relabelled", "Cross-sectional / survey → Cohort study"),
    ]
    store.mark_updates_reported(store.pending_updates()[:1], "digest-key")
    assert store.pending_updates() == [
        ("2", "relabelled", "Cross-sectional / survey → Cohort study")
    ]


def test_the_delivery_lock_waits_a_bounded_time_then_fails_in_one_line(tmp_path):
    import subprocess
    import sys
    import time

    from flows.errors import KratomWatchError
    from flows.runs import delivery_lock

    db = tmp_path / "s.sqlite"
    holder = subprocess.Popen(  # another run, in the middle of mailing a digest
        [sys.executable, "-c", (
            "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX);"
            " print('held', flush=True); time.sleep(30)"
        ), f"{db}.lock"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline() == "held\n"
        started = time.monotonic()
        mailing = "another kratom-watch run has been mailing"
        with pytest.raises(KratomWatchError, match=mailing), delivery_lock(db, timeout=0.5):
            pass
        assert 0.5 <= time.monotonic() - started < 5
    finally:
        holder.kill()
        holder.wait()
    with delivery_lock(db, timeout=0.5):  # released when its holder is gone
        pass
