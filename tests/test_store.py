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
