"""The SQLite store: papers keyed on PMID, and a record of every run.

The schema lives here and only here, as numbered migrations over `PRAGMA user_version`:
a store is brought up to date once, by the first connection that finds it behind (an older
store is migrated in place, a new one built from step 1). Writes are keyed upserts, so a
rerun of any window, or a rerun after a crash, leaves no duplicates.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from flows.designs import DESIGNS
from flows.errors import StoreError
from flows.models import AbstractSection, Paper, YearDesign
from flows.updates import changes

# Step N brings a store from version N-1 to N. Never edit a step that has shipped: add one.
MIGRATIONS: tuple[str, ...] = (
    # 1: papers, runs, what was reported and delivered.
    """
CREATE TABLE IF NOT EXISTS papers (
    pmid TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    abstract TEXT NOT NULL,            -- JSON [[label, fragment], ...]
    authors TEXT NOT NULL,             -- JSON list
    journal TEXT NOT NULL,
    pub_year INTEGER,
    pub_date TEXT NOT NULL,
    entry_date TEXT,                   -- ISO date the record was created in PubMed
    doi TEXT NOT NULL,
    publication_types TEXT NOT NULL,   -- JSON list
    mesh_terms TEXT NOT NULL,          -- JSON list
    notices TEXT NOT NULL,             -- JSON [[RefType, RefSource], ...]
    design TEXT NOT NULL,
    depression_relevant INTEGER NOT NULL,
    evidence TEXT NOT NULL,            -- JSON list
    confidence REAL NOT NULL,
    classifier_version TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_updated TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS papers_entry_date ON papers (entry_date);

CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,                -- manual | scheduled
    since TEXT NOT NULL,
    until TEXT NOT NULL,
    query TEXT NOT NULL,
    status TEXT NOT NULL,              -- running | completed | failed | abandoned
    pid INTEGER,                       -- the process running it, to spot runs killed mid-way
    found INTEGER,                     -- Count esearch reported
    stored INTEGER,                    -- papers of the window now in the store
    new INTEGER,                       -- of those, first seen in this run
    error TEXT,
    started TEXT NOT NULL,
    finished TEXT
);

CREATE TABLE IF NOT EXISTS run_papers (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    pmid TEXT NOT NULL REFERENCES papers (pmid),
    PRIMARY KEY (run_id, pmid)
);

-- Papers a scheduled digest has reported (or a manual run with --mark-sent):
-- later scheduled runs leave them out.
CREATE TABLE IF NOT EXISTS sent_papers (
    pmid TEXT PRIMARY KEY REFERENCES papers (pmid),
    run_id INTEGER NOT NULL REFERENCES runs (id),
    sent TEXT NOT NULL
);

-- One row per digest and recipient that received it: a digest goes once.
CREATE TABLE IF NOT EXISTS deliveries (
    digest TEXT NOT NULL,              -- since:until:hash of what it reports
    recipient TEXT NOT NULL,
    message_id TEXT NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs (id),
    sent TEXT NOT NULL,
    PRIMARY KEY (digest, recipient)
);
""",
    # 2: a delivery is recorded before DATA (attempted), then delivered or refused; updates
    # to reported papers are kept until a delivered digest has reported them.
    """
ALTER TABLE deliveries ADD COLUMN status TEXT NOT NULL DEFAULT 'delivered';
ALTER TABLE deliveries ADD COLUMN answer TEXT;   -- the server's answer to a refusal
CREATE TABLE pending_updates (
    pmid TEXT NOT NULL REFERENCES papers (pmid),
    kind TEXT NOT NULL,                -- flows.updates.UPDATE_KINDS
    detail TEXT NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs (id),   -- the run that noticed it
    noted TEXT NOT NULL,
    reported_in TEXT,                  -- the delivered digest that reported it
    PRIMARY KEY (pmid, kind, detail)
);
""",
    # 3: why a paper is (or is not) about depression, what it found and how big it was.
    """
ALTER TABLE papers ADD COLUMN depression_evidence TEXT NOT NULL DEFAULT '';
ALTER TABLE papers ADD COLUMN depression_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE papers ADD COLUMN finding TEXT NOT NULL DEFAULT '';
ALTER TABLE papers ADD COLUMN study_size INTEGER;
ALTER TABLE papers ADD COLUMN study_size_unit TEXT NOT NULL DEFAULT '';
ALTER TABLE papers ADD COLUMN study_size_phrase TEXT NOT NULL DEFAULT '';
""",
    # 4: the Prefect flow run that made a run, to find its logs and artifacts.
    """
ALTER TABLE runs ADD COLUMN prefect_flow_run TEXT;   -- its id, NULL for a run outside Prefect
""",
)
SCHEMA_VERSION = len(MIGRATIONS)
DELIVERY_STATUSES = ("attempted", "delivered", "refused")

# The papers table's columns, named as Paper's fields (a row is read back as Paper(**row)).
_PAPER_COLUMNS = (
    "pmid",
    "title",
    "abstract",
    "authors",
    "journal",
    "pub_year",
    "pub_date",
    "entry_date",
    "doi",
    "publication_types",
    "mesh_terms",
    "notices",
    "design",
    "depression_relevant",
    "evidence",
    "confidence",
    "classifier_version",
    "depression_evidence",
    "depression_reason",
    "finding",
    "study_size",
    "study_size_unit",
    "study_size_phrase",
)


@dataclass(frozen=True)
class Upserted:
    new: list[str]  # PMIDs stored for the first time
    changed: list[tuple[Paper, Paper]]  # (as stored before, as stored now)


@dataclass(frozen=True)
class Delivery:
    recipient: str
    status: str  # one of DELIVERY_STATUSES
    message_id: str
    answer: str | None  # what the server said when it refused
    run_id: int
    at: str  # when the status was recorded (UTC, ISO)


@dataclass(frozen=True)
class Run:
    id: int
    kind: str
    since: date
    until: date
    status: str
    found: int | None
    stored: int | None
    new: int | None
    error: str | None
    started: str
    finished: str | None


class Store:
    def __init__(self, path: Path | str, timeout: float = 30.0) -> None:
        self.path = Path(path)
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA journal_mode = WAL")
            self._migrate()
        except (sqlite3.Error, OSError) as error:
            raise StoreError(f"cannot open the store {self.path}: {_describe(error)}") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _version(self) -> int:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the store {self.path} was written by a newer kratom-watch "
                f"(schema {version}, this one knows {SCHEMA_VERSION})"
            )
        return version

    def _migrate(self) -> None:
        """Apply the steps this store is missing, in one transaction (none when current)."""
        if self._version() == SCHEMA_VERSION:
            return  # a read of the header: the usual case, no lock taken
        with self._transaction():
            version = self._version()  # again: another process may have just migrated it
            for step in MIGRATIONS[version:]:
                for statement in step.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        except sqlite3.Error as error:
            raise StoreError(f"cannot write the store {self.path}: {_describe(error)}") from None

    # Papers

    def upsert_papers(self, papers: Iterable[Paper], run_id: int | None = None) -> Upserted:
        """Insert or update papers by PMID in one transaction.

        A known paper is rewritten only when something in it changed, so
        last_updated means what it says; the result tells which were new and
        which changed (with their stored version before the change). With the
        `run_id` of the run storing them, what changed in papers an earlier digest
        reported is noted as pending updates in the same transaction (flows.updates).
        """
        papers = list(papers)
        columns = ", ".join(_PAPER_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _PAPER_COLUMNS[1:])
        differs = " OR ".join(f"papers.{c} IS NOT excluded.{c}" for c in _PAPER_COLUMNS[1:])
        statement = (
            f"INSERT INTO papers ({columns}, first_seen, last_updated) "
            f"VALUES ({', '.join('?' * len(_PAPER_COLUMNS))}, ?, ?) "
            f"ON CONFLICT (pmid) DO UPDATE SET {updates}, last_updated = excluded.last_updated "
            f"WHERE {differs}"
        )
        now = _now()
        with self._transaction():
            before = {p.pmid: p for p in self.papers(p.pmid for p in papers)}
            # Rows made as SQLite takes them: a batch's rows are never all held at once.
            self.db.executemany(statement, ((*_paper_row(p), now, now) for p in papers))
            changed = [
                (before[p.pmid], p)
                for p in papers
                if p.pmid in before and _paper_row(before[p.pmid]) != _paper_row(p)
            ]
            if run_id is not None and changed:
                self._note_updates(run_id, changed, now)
        return Upserted(new=[p.pmid for p in papers if p.pmid not in before], changed=changed)

    def _note_updates(self, run_id: int, changed: list[tuple[Paper, Paper]], now: str) -> None:
        reported = self.reported_before(run_id, (new.pmid for _, new in changed))
        self.db.executemany(
            "INSERT OR IGNORE INTO pending_updates (pmid, kind, detail, run_id, noted) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (new.pmid, kind, detail, run_id, now)
                for old, new in changed
                if new.pmid in reported
                for kind, detail in changes(old, new)
            ],
        )

    def pending_updates(self) -> list[tuple[str, str, str]]:
        """(pmid, kind, detail) of every update no delivered digest has reported yet."""
        rows = self.db.execute(
            "SELECT pmid, kind, detail FROM pending_updates WHERE reported_in IS NULL "
            "ORDER BY pmid, kind, detail"
        )
        return [tuple(row) for row in rows]

    def mark_updates_reported(self, updates: Iterable[tuple[str, str, str]], digest: str) -> None:
        with self._transaction():
            self.db.executemany(
                "UPDATE pending_updates SET reported_in = ? "
                "WHERE pmid = ? AND kind = ? AND detail = ? AND reported_in IS NULL",
                [(digest, *update) for update in updates],
            )

    def papers(self, pmids: Iterable[str]) -> list[Paper]:
        wanted = list(dict.fromkeys(pmids))
        select = f"SELECT {', '.join(_PAPER_COLUMNS)} FROM papers WHERE pmid IN"
        found = {row[0]: _paper_from_row(row) for row in self._select_in(select, wanted)}
        return [found[p] for p in wanted if p in found]

    def known_pmids(self, pmids: Iterable[str]) -> set[str]:
        return {row[0] for row in self._select_in("SELECT pmid FROM papers WHERE pmid IN", pmids)}

    def _select_in(self, select: str, values: Iterable[str], params: tuple = ()) -> Iterator[tuple]:
        """Rows of `select ... IN (values)`, in chunks below SQLite's variable limit."""
        values = list(values)
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            yield from self.db.execute(
                f"{select} ({', '.join('?' * len(chunk))})", (*params, *chunk)
            )

    def in_digest_order(self, pmids: Iterable[str]) -> Iterator[tuple[str, str, bool]]:
        """(pmid, design, depression_relevant) of the stored papers among `pmids`, in digest
        order: depression-relevant first, then by evidence rank, the largest study first (those
        that state no size after), newest entry first, then the highest PMID. SQLite sorts, so
        a window of 100,000 papers costs Python only the rows as they stream past."""
        rank = " ".join(f"WHEN '{d.label}' THEN {d.rank}" for d in DESIGNS)
        try:
            self.db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (pmid TEXT PRIMARY KEY)")
            self.db.execute("BEGIN")  # the temporary table only: no lock on the store
            self.db.execute("DELETE FROM temp.wanted")
            self.db.executemany(
                "INSERT OR IGNORE INTO temp.wanted (pmid) VALUES (?)", ((p,) for p in pmids)
            )
            self.db.execute("COMMIT")
        except sqlite3.Error as error:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise StoreError(f"cannot read the store {self.path}: {_describe(error)}") from None
        try:
            rows = self.db.execute(
                "SELECT p.pmid, p.design, p.depression_relevant "
                "FROM papers p JOIN temp.wanted w ON w.pmid = p.pmid "
                f"ORDER BY p.depression_relevant DESC, CASE p.design {rank} END, "
                "p.study_size IS NULL, p.study_size DESC, "
                "p.entry_date DESC, CAST(p.pmid AS INTEGER) DESC, p.pmid DESC"
            )
        except sqlite3.Error as error:
            raise StoreError(f"cannot read the store {self.path}: {_describe(error)}") from None
        return ((pmid, label, bool(relevant)) for pmid, label, relevant in rows)

    def years_and_designs(self, relevant: bool | None = None) -> list[YearDesign]:
        """The stored papers counted by publication year and design, for the chart: every
        paper, or only the depression-relevant ones (relevant=True) or the others."""
        where, params = (
            ("", ()) if relevant is None else ("WHERE depression_relevant = ? ", (int(relevant),))
        )
        rows = self.db.execute(
            f"SELECT pub_year, design, count(*) FROM papers {where}"
            "GROUP BY pub_year, design ORDER BY pub_year, design",
            params,
        )
        return [YearDesign(*row) for row in rows]

    def papers_not_of_version(self, classifier_version: str) -> list[Paper]:
        """The papers some other classifier version labelled."""
        rows = self.db.execute(
            f"SELECT {', '.join(_PAPER_COLUMNS)} FROM papers "
            "WHERE classifier_version IS NOT ? ORDER BY pmid",
            (classifier_version,),
        )
        return [_paper_from_row(row) for row in rows]

    def reported_before(self, run_id: int, pmids: Iterable[str]) -> set[str]:
        """Of `pmids`, those an earlier completed run reported."""
        select = (
            "SELECT rp.pmid FROM run_papers rp JOIN runs r ON r.id = rp.run_id "
            "WHERE r.id < ? AND r.status = 'completed' AND rp.pmid IN"
        )
        return {row[0] for row in self._select_in(select, pmids, (run_id,))}

    def count_papers(self) -> int:
        return self.db.execute("SELECT count(*) FROM papers").fetchone()[0]

    # Runs

    def start_run(
        self, kind: str, since: date, until: date, query: str, prefect_flow_run: str | None = None
    ) -> int:
        """Record a new run; runs whose process is gone (killed mid-way) become abandoned."""
        with self._transaction():
            running = self.db.execute("SELECT id, pid FROM runs WHERE status = 'running'")
            for run_id, pid in running.fetchall():
                if not _alive(pid):
                    self.db.execute(
                        "UPDATE runs SET status = 'abandoned', error = ? WHERE id = ?",
                        ("its process ended before the run finished", run_id),
                    )
            cursor = self.db.execute(
                "INSERT INTO runs (kind, since, until, query, status, pid, started, "
                "prefect_flow_run) VALUES (?, ?, ?, ?, 'running', ?, ?, ?)",
                (
                    kind,
                    since.isoformat(),
                    until.isoformat(),
                    query,
                    os.getpid(),
                    _now(),
                    prefect_flow_run,
                ),  # fmt: skip
            )
        return cursor.lastrowid

    def record_run_papers(self, run_id: int, pmids: Iterable[str]) -> None:
        with self._transaction():
            self.db.executemany(
                "INSERT OR IGNORE INTO run_papers (run_id, pmid) VALUES (?, ?)",
                [(run_id, p) for p in pmids],
            )

    def finish_run(
        self,
        run_id: int,
        status: str,
        *,
        found: int | None = None,
        stored: int | None = None,
        new: int | None = None,
        error: str | None = None,
    ) -> None:
        with self._transaction():
            self.db.execute(
                "UPDATE runs SET status = ?, found = ?, stored = ?, new = ?, error = ?, "
                "finished = ? WHERE id = ?",
                (status, found, stored, new, error, _now(), run_id),
            )

    def last_completed_run(self, kind: str) -> Run | None:
        runs = self._runs(
            "WHERE kind = ? AND status = 'completed' ORDER BY until DESC, id DESC", kind
        )
        return runs[0] if runs else None

    # What has been reported and delivered

    def sent_pmids(self, pmids: Iterable[str]) -> set[str]:
        return {
            row[0] for row in self._select_in("SELECT pmid FROM sent_papers WHERE pmid IN", pmids)
        }

    def mark_sent(self, run_id: int, pmids: Iterable[str]) -> None:
        now = _now()
        with self._transaction():
            self.db.executemany(
                "INSERT OR IGNORE INTO sent_papers (pmid, run_id, sent) VALUES (?, ?, ?)",
                [(p, run_id, now) for p in pmids],
            )

    def deliveries(self, digest: str) -> dict[str, Delivery]:
        """What happened to each recipient's copy of a digest (its key), by recipient."""
        rows = self.db.execute(
            "SELECT recipient, status, message_id, answer, run_id, sent FROM deliveries "
            "WHERE digest = ?",
            (digest,),
        )
        return {row[0]: Delivery(*row) for row in rows}

    def delivered_to(self, digest: str) -> set[str]:
        return {r for r, d in self.deliveries(digest).items() if d.status == "delivered"}

    def record_attempt(self, digest: str, recipient: str, message_id: str, run_id: int) -> None:
        """Said before DATA: if the outcome is never heard, a rerun knows it may have gone."""
        self._record(digest, recipient, message_id, run_id, "attempted", None)

    def record_delivery(self, digest: str, recipient: str, message_id: str, run_id: int) -> None:
        self._record(digest, recipient, message_id, run_id, "delivered", None)

    def record_refusal(
        self, digest: str, recipient: str, message_id: str, run_id: int, answer: str
    ) -> None:
        self._record(digest, recipient, message_id, run_id, "refused", answer)

    def _record(self, digest, recipient, message_id, run_id, status, answer) -> None:
        with self._transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO deliveries "
                "(digest, recipient, message_id, run_id, sent, status, answer) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (digest, recipient, message_id, run_id, _now(), status, answer),
            )

    def runs(self) -> list[Run]:
        return self._runs("ORDER BY id")

    def _runs(self, where_and_order: str, *params) -> list[Run]:
        rows = self.db.execute(
            "SELECT id, kind, since, until, status, found, stored, new, error, started, finished "
            f"FROM runs {where_and_order}",
            params,
        )
        return [
            Run(r[0], r[1], date.fromisoformat(r[2]), date.fromisoformat(r[3]), *r[4:])
            for r in rows
        ]

    # Evidence page queries (read-only; flows.evidence and flows.archive's feed use them)

    def design_relevance_counts(self) -> list[tuple[str, bool, int]]:
        """(design, depression_relevant, papers) for every pair the store holds."""
        rows = self.db.execute(
            "SELECT design, depression_relevant, count(*) FROM papers "
            "GROUP BY design, depression_relevant ORDER BY design, depression_relevant"
        )
        return [(label, bool(relevant), n) for label, relevant, n in rows]

    def papers_of_design(self, design: str, relevant: bool) -> list[Paper]:
        """Every stored paper of one design and relevance, highest PMID first."""
        rows = self.db.execute(
            f"SELECT {', '.join(_PAPER_COLUMNS)} FROM papers "
            "WHERE design = ? AND depression_relevant = ? "
            "ORDER BY CAST(pmid AS INTEGER) DESC, pmid DESC",
            (design, int(relevant)),
        )
        return [_paper_from_row(row) for row in rows]

    def listed_papers(self, limit: int) -> list[tuple[str, date, date, str, str | None]]:
        """(pmid, since, until, first_listed, last_changed) of the `limit` papers that changed
        last, of those a run has listed for its digest.

        A paper's first listing is the earliest run that recorded it (its window names that
        digest; first_listed is when the run started); last_changed is when the latest update
        to it was noted (a retraction, an erratum, a new label), or None.
        """
        rows = self.db.execute(
            "SELECT f.pmid, r.since, r.until, r.started, c.noted "
            "FROM (SELECT pmid, min(run_id) AS run_id FROM run_papers GROUP BY pmid) f "
            "JOIN runs r ON r.id = f.run_id "
            "LEFT JOIN (SELECT pmid, max(noted) AS noted FROM pending_updates GROUP BY pmid) c "
            "ON c.pmid = f.pmid "
            "ORDER BY max(r.started, coalesce(c.noted, r.started)) DESC, "
            "CAST(f.pmid AS INTEGER) DESC, f.pmid DESC LIMIT ?",
            (limit,),
        )
        return [
            (pmid, date.fromisoformat(since), date.fromisoformat(until), started, noted)
            for pmid, since, until, started, noted in rows
        ]

    def first_listings(self, pmids: Iterable[str]) -> dict[str, tuple[date, date, str]]:
        """pmid -> (since, until, started) of the earliest run that listed it, for `pmids`."""
        select = (
            "SELECT rp.pmid, r.id, r.since, r.until, r.started FROM run_papers rp "
            "JOIN runs r ON r.id = rp.run_id WHERE rp.pmid IN"
        )
        earliest: dict[str, tuple[int, str, str, str]] = {}
        for pmid, run_id, since, until, started in self._select_in(select, pmids):
            if pmid not in earliest or run_id < earliest[pmid][0]:
                earliest[pmid] = (run_id, since, until, started)
        return {
            pmid: (date.fromisoformat(since), date.fromisoformat(until), started)
            for pmid, (_, since, until, started) in earliest.items()
        }

    def updates_of(self, pmids: Iterable[str]) -> list[tuple[str, str, str, str, str | None]]:
        """(pmid, kind, detail, noted, reported_in) of every update noted for `pmids`, reported
        or still pending, oldest first."""
        select = "SELECT pmid, kind, detail, noted, reported_in FROM pending_updates WHERE pmid IN"
        rows = [tuple(row) for row in self._select_in(select, pmids)]
        return sorted(rows, key=lambda row: (row[3], row[0], row[1], row[2]))


# As json.dumps(value, ensure_ascii=False) writes it (stored rows are compared as text), with
# one encoder for every row instead of a new one per call.
_to_json = json.JSONEncoder(ensure_ascii=False).encode


def _paper_row(paper: Paper) -> tuple:
    return (
        paper.pmid,
        paper.title,
        _to_json([[s.label, s.text] for s in paper.abstract]),
        _to_json(paper.authors),
        paper.journal,
        paper.pub_year,
        paper.pub_date,
        paper.entry_date.isoformat() if paper.entry_date else None,
        paper.doi,
        _to_json(paper.publication_types),
        _to_json(paper.mesh_terms),
        _to_json(paper.notices),
        paper.design,
        int(paper.depression_relevant),
        _to_json(paper.evidence),
        paper.confidence,
        paper.classifier_version,
        paper.depression_evidence,
        paper.depression_reason,
        paper.finding,
        paper.study_size,
        paper.study_size_unit,
        paper.study_size_phrase,
    )


# Read back with one decoder (json.loads makes its own checks on every call); a record's empty
# lists (MeSH terms, notices) are not decoded at all.
_from_json = json.JSONDecoder().decode


def _json_list(text: str) -> list:
    return [] if text == "[]" else _from_json(text)


def _paper_from_row(row: tuple) -> Paper:
    values = dict(zip(_PAPER_COLUMNS, row, strict=True))
    for name in ("authors", "publication_types", "mesh_terms", "evidence"):
        values[name] = _json_list(values[name])
    values["abstract"] = [
        AbstractSection(label, text) for label, text in _json_list(values["abstract"])
    ]
    values["notices"] = [tuple(notice) for notice in _json_list(values["notices"])]
    entry_date = values["entry_date"]
    values["entry_date"] = date.fromisoformat(entry_date) if entry_date else None
    values["depression_relevant"] = bool(values["depression_relevant"])
    return Paper(**values)


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__
