"""The digest by e-mail, received by a real SMTP server with STARTTLS and AUTH.

Most tests call the send step (flows.runs.send_digest) with a real store, as a run does;
a few run the whole CLI. Messages are read back with the stdlib email package.
"""

from __future__ import annotations

import csv
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from flows import runs
from flows.cli import cli
from flows.digest import build_digest
from flows.errors import StoreError
from flows.mail import MailError, MailParts, build_message, message_id, send_messages
from flows.render import render_digest, render_mail
from flows.settings import load_settings
from flows.store import Store
from tests.conftest import ROOT
from tests.eutils_server import EutilsServer, corpus_records
from tests.factories import paper
from tests.smtp_server import PASSWORD, DripServer, SmtpServer

SINCE, UNTIL = date(2026, 11, 2), date(2026, 11, 8)
WINDOW = ["run", "--since", str(SINCE), "--until", str(UNTIL)]
KEY = f"{SINCE}:{UNTIL}:0123456789abcdef"
SUBJECT = "kratom-watch test"
ONE, TWO = "reader.one@example.org", "reader.two@example.org"


@pytest.fixture
def smtp(tmp_path, monkeypatch):
    with SmtpServer(tmp_path) as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        yield server


@pytest.fixture
def env(kw_env, smtp, monkeypatch):
    server = EutilsServer(corpus_records(lambda row: SINCE + timedelta(int(row["pmid"]) % 7)))
    monkeypatch.setenv("KRATOM_WATCH_EUTILS_URL", server.base_url)
    monkeypatch.setenv("KRATOM_WATCH_RETRY_BACKOFF", "0.01")
    yield kw_env
    server.stop()


@pytest.fixture
def mail_env(kw_env, smtp, monkeypatch):
    """Settings for the send step alone: its own store, the test SMTP server, quick retries."""
    monkeypatch.setenv("KRATOM_WATCH_RETRY_BACKOFF", "0.01")
    return kw_env


def make_parts(folder: Path, papers=None, attachment_limit: int | None = None) -> MailParts:
    papers = (
        [paper("1"), paper("2", "rct"), paper("3", "animal", relevant=False)]
        if papers is None
        else papers
    )
    digest = build_digest(papers, SINCE, UNTIL)
    paths = render_digest(digest, folder / "reports")
    if attachment_limit is None:
        return render_mail(digest, paths)
    return render_mail(digest, paths, attachment_limit)


@pytest.fixture
def parts(tmp_path) -> MailParts:
    return make_parts(tmp_path)


def send(parts: MailParts, resend: bool = False) -> list[str]:
    """The send step of a new run, as a run calls it."""
    settings = load_settings()
    with runs.open_store(settings) as store:
        run_id = store.start_run("manual", SINCE, UNTIL, settings.query)
    return runs.send_digest(settings, run_id, KEY, parts, SUBJECT, resend)


def deliveries() -> dict[str, tuple[str, str, str | None]]:
    """recipient: (status, Message-ID, the server's answer) of the digest KEY."""
    with Store(os.environ["KRATOM_WATCH_DB"]) as store:
        return {r: (d.status, d.message_id, d.answer) for r, d in store.deliveries(KEY).items()}


class Ledger:
    """A ledger for send_messages alone: what it was told, in order."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def attempted(self, recipient, message_id):
        self.events.append(("attempted", recipient))

    def delivered(self, recipient, message_id):
        self.events.append(("delivered", recipient))

    def refused(self, recipient, message_id, answer):
        self.events.append(("refused", recipient, answer))


# The message


def test_message_structure(tmp_path, smtp, parts):
    mail = load_settings(require_email=False).mail
    sent_id = message_id(KEY, ONE, mail.sender)
    message = build_message(parts, SUBJECT, mail.sender, ONE, sent_id)

    send_messages(mail, {ONE: message}, Ledger())

    (received,) = smtp.messages
    got = received.message
    assert received.rcpt_tos == [ONE]
    assert smtp.logins == ["digest-bot"]
    assert got["Subject"] == SUBJECT
    assert got["Date"] and got["Message-ID"] == sent_id
    assert sent_id.endswith("@example.org>")
    assert got["List-Unsubscribe"] == "<mailto:kratom-watch@example.org?subject=unsubscribe>"
    assert got.get_content_type() == "multipart/mixed"
    body, *attachments = got.iter_parts()
    assert body.get_content_type() == "multipart/alternative"
    text, related = body.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert "Paper 1 on Mitragyna speciosa" in text.get_content()
    assert related.get_content_type() == "multipart/related"
    html, image = related.iter_parts()
    assert html.get_content_type() == "text/html"
    assert "https://pubmed.ncbi.nlm.nih.gov/2/" in html.get_content()
    assert image.get_content_type() == "image/png"
    assert image.get_content() == parts.chart_png
    rows = list(csv.DictReader(attachments[0].get_content().splitlines()))
    assert [r["pmid"] for r in rows] == ["2", "1", "3"]
    assert [(a.get_filename(), a.get_content_type()) for a in attachments] == [
        ("kratom-watch_2026-11-02_2026-11-08.csv", "text/csv"),
        ("kratom-watch_2026-11-02_2026-11-08.ris", "application/x-research-info-systems"),
    ]


def test_the_chart_is_inline_inside_the_card(smtp, parts):
    mail = load_settings(require_email=False).mail
    message = build_message(parts, SUBJECT, mail.sender, ONE, message_id(KEY, ONE, mail.sender))
    send_messages(mail, {ONE: message}, Ledger())

    got = smtp.messages[0].message
    (image,) = (p for p in got.walk() if p.get_content_type() == "image/png")
    assert image.get_content_disposition() == "inline"
    assert [a.get_content_type() for a in got.iter_attachments()] == ["text/csv"] + [
        "application/x-research-info-systems"
    ]
    html = got.get_body(("html",)).get_content()
    where = CidImage(image["Content-ID"][1:-1])
    where.feed(html)
    # In the digest's card, before its footer, as a reader scrolls to it.
    assert where.inside == ["div.wrap", "p.chart"]
    assert where.after_footer is False


class CidImage(HTMLParser):
    """Where in the page the <img src="cid:..."> of one Content-ID is."""

    def __init__(self, cid: str) -> None:
        super().__init__()
        self.cid, self.open, self.inside, self.after_footer = cid, [], None, None
        self.footer_seen = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img" and attrs.get("src") == f"cid:{self.cid}":
            self.inside, self.after_footer = list(self.open), self.footer_seen
        elif tag not in ("area", "br", "col", "hr", "img", "input", "link", "meta", "wbr"):
            self.open.append(f"{tag}.{attrs.get('class', '')}")
        if "footer" in (attrs.get("class") or ""):
            self.footer_seen = True

    def handle_endtag(self, tag):
        if self.open and self.open[-1].startswith(f"{tag}."):
            self.open.pop()

    def feed(self, data):
        super().feed(data)
        self.inside = [t for t in self.inside or [] if not t.startswith(("html.", "body."))]


def test_a_quiet_week_attaches_nothing(tmp_path):
    quiet = make_parts(tmp_path, papers=[])

    message = build_message(quiet, SUBJECT, "kw@example.org", ONE, "<1@example.org>")

    assert message.get_content_type() == "multipart/alternative"
    assert list(message.iter_attachments()) == []
    assert "No new papers" in message.get_body(("plain",)).get_content()
    assert any(p.get_content_type() == "image/png" for p in message.walk())


def test_attachments_too_large_for_mail_stay_in_the_reports_folder(tmp_path):
    full = make_parts(tmp_path)
    size = sum(len(a.content) for a in full.attachments)

    small = make_parts(tmp_path, attachment_limit=size - 1)
    message = build_message(small, SUBJECT, "kw@example.org", "r@example.org", "<1@example.org>")

    assert [part.get_filename() for part in message.iter_attachments()] == []
    for kind in ("plain", "html"):
        body = message.get_body((kind,)).get_content()
        assert "too large to attach" in " ".join(body.split())
        assert "kratom-watch_2026-11-02_2026-11-08.csv" in body
        assert "kratom-watch_2026-11-02_2026-11-08.ris" in body
    html = message.get_body(("html",)).get_content()
    assert html.index("too large to attach") < html.index('class="footer"')
    # At the limit they are attached.
    assert len(make_parts(tmp_path, attachment_limit=size).attachments) == 2
    assert "too large to attach" not in full.text + full.html


# Each recipient on its own


def test_a_refused_recipient_does_not_stop_the_others(mail_env, smtp, parts, monkeypatch):
    bad = "no.such.reader@example.org"
    monkeypatch.setenv("KRATOM_WATCH_MAIL_TO", f"{ONE}, {bad}, {TWO}")
    smtp.refuse(bad)

    with pytest.raises(MailError) as failed:
        send(parts)

    error = str(failed.value)
    assert "\n" not in error and PASSWORD not in error
    assert f"refused the digest for {bad}: 550 5.1.1 <{bad}>: Recipient address rejected" in error
    assert f"delivered to {ONE}, {TWO}" in error
    assert "refused addresses too (they may have been fixed)" in error
    assert [m.rcpt_tos for m in smtp.messages] == [[ONE], [TWO]]
    recorded = deliveries()
    assert recorded[ONE][0] == recorded[TWO][0] == "delivered"
    assert recorded[bad][0] == "refused" and recorded[bad][2].startswith("550 5.1.1")

    # The address fixed, a rerun sends it to that recipient alone.
    smtp.refused.clear()
    assert send(parts) == [bad]
    assert [m.rcpt_tos for m in smtp.messages] == [[ONE], [TWO], [bad]]
    assert deliveries()[bad][0] == "delivered"


def test_a_deferred_recipient_is_tried_again_with_backoff(mail_env, smtp, parts):
    smtp.defer(ONE, times=2)

    assert send(parts) == [TWO, ONE]

    assert smtp.rcpts == [ONE, TWO, ONE, ONE]
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == [ONE, TWO]
    assert {r: d[0] for r, d in deliveries().items()} == {ONE: "delivered", TWO: "delivered"}


def test_a_recipient_deferred_every_time_fails_the_run_naming_it(mail_env, smtp, parts):
    smtp.defer(ONE, times=100, answer="452 4.2.2 Mailbox full")

    with pytest.raises(MailError) as failed:
        send(parts)

    assert str(failed.value) == (
        f"127.0.0.1:{smtp.port} kept deferring the digest for {ONE}: 452 4.2.2 Mailbox full; "
        f"delivered to {TWO}; a rerun sends it to everyone not delivered"
    )
    assert smtp.rcpts.count(ONE) == 4
    assert deliveries()[ONE][0::2] == (
        "refused",
        "452 4.2.2 Mailbox full (temporary; gave up after 4 attempts)",
    )


def test_a_deferred_message_is_sent_again_to_its_recipient_only(mail_env, smtp, parts):
    smtp.fail_next(None, "451 4.3.0 Try again later")

    assert send(parts) == [ONE, TWO]

    assert [m.rcpt_tos[0] for m in smtp.messages] == [ONE, TWO]
    assert smtp.rcpts == [ONE, TWO, TWO]


def test_wrong_password_is_one_clear_line(mail_env, smtp, parts, monkeypatch):
    monkeypatch.setenv("KRATOM_WATCH_SMTP_PASSWORD", "wrong-password-xyz")
    smtp.echo_failed_logins = True

    with pytest.raises(MailError) as failed:
        send(parts)

    error = str(failed.value)
    assert f"could not send the digest to {ONE}, {TWO}: the mail server 127.0.0.1:" in error
    assert "refused the login for KRATOM_WATCH_SMTP_USER: 535" in error
    assert "535 5.7.8 No user digest-bot with password ***" in error
    assert "wrong-password-xyz" not in error and "\n" not in error
    assert smtp.messages == [] and deliveries() == {}


# At least once, recognisably


def test_a_lost_confirmation_is_sent_again_under_the_same_message_id(mail_env, smtp, parts):
    smtp.drop_after_data(times=1)

    assert send(parts) == [ONE, TWO]

    assert [m.rcpt_tos[0] for m in smtp.messages] == [ONE, ONE, TWO]
    first, again, other = (m.message["Message-ID"] for m in smtp.messages)
    assert first == again == deliveries()[ONE][1]
    assert other != first
    assert deliveries()[ONE][0] == deliveries()[TWO][0] == "delivered"


def test_sigterm_while_the_250_is_delayed_then_a_rerun_resends_the_same_copy(
    mail_env, smtp, parts, tmp_path
):
    smtp.delay_reply(60)
    (tmp_path / "parts.pickle").write_bytes(pickle.dumps(parts))
    code = (
        "import pickle, sys; from tests.test_mail import send; "
        "send(pickle.loads(open(sys.argv[1], 'rb').read()))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "parts.pickle")],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        smtp.wait_for_messages(1, timeout=30)
        assert deliveries()[ONE][0] == "attempted"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) != 0
    finally:
        process.kill()
    smtp.delay_reply(0)

    assert send(parts) == [ONE, TWO]

    assert [m.rcpt_tos[0] for m in smtp.messages] == [ONE, ONE, TWO]
    assert smtp.messages[0].message["Message-ID"] == smtp.messages[1].message["Message-ID"]
    assert {r: d[0] for r, d in deliveries().items()} == {ONE: "delivered", TWO: "delivered"}


def test_a_store_that_cannot_record_the_delivery_stops_and_the_rerun_resends(
    mail_env, smtp, parts, monkeypatch
):
    real = Store.record_delivery

    def disk_full(self, *args):
        raise StoreError(f"cannot write the store {self.path}: database or disk is full")

    monkeypatch.setattr(Store, "record_delivery", disk_full)
    with pytest.raises(MailError) as failed:
        send(parts)
    monkeypatch.setattr(Store, "record_delivery", real)

    error = str(failed.value)
    sent_id = smtp.messages[0].message["Message-ID"]
    assert f"{ONE} got the digest but the store could not record it" in error
    assert "database or disk is full" in error and sent_id in error
    assert f"could not send the digest to {TWO}" in error
    assert deliveries() == {ONE: ("attempted", sent_id, None)}

    assert send(parts) == [ONE, TWO]
    assert [m.rcpt_tos[0] for m in smtp.messages] == [ONE, ONE, TWO]
    assert smtp.messages[1].message["Message-ID"] == sent_id


def test_resend_sends_a_new_copy_under_a_new_message_id(mail_env, smtp, parts):
    send(parts)
    assert send(parts) == []

    assert send(parts, resend=True) == [ONE, TWO]

    ids = [m.message["Message-ID"] for m in smtp.messages]
    assert len(ids) == len(set(ids)) == 4


# Servers that cannot work as configured, or too slowly


def test_a_dripped_greeting_ends_at_the_deadline(tmp_path, smtp):
    mail = load_settings(require_email=False).mail
    message = build_message(make_parts(tmp_path), SUBJECT, mail.sender, ONE, "<1@example.org>")

    with DripServer(interval=0.5) as drip:
        dripping = type(mail)(**{**mail.__dict__, "port": drip.port})
        started = time.monotonic()
        with pytest.raises(MailError, match="the conversation with 127.0.0.1:[0-9]+ took over 2 s"):
            send_messages(dripping, {ONE: message}, Ledger(), max_attempts=1, deadline=2)
        took = time.monotonic() - started

    # One byte every 0.5 s would take 22 s to greet, then EHLO waits for a read timeout.
    assert took < 4


def test_a_server_without_starttls_is_a_permanent_error(tmp_path, monkeypatch):
    with SmtpServer(tmp_path, starttls=False) as plain:
        for name, value in plain.env().items():
            monkeypatch.setenv(name, value)
        mail = load_settings(require_email=False).mail
        message = build_message(make_parts(tmp_path), SUBJECT, mail.sender, ONE, "<1@x.org>")
        started = time.monotonic()
        with pytest.raises(MailError) as failed:
            # A retry would wait about 30 s first.
            send_messages(mail, {ONE: message}, Ledger(), backoff=30)

    assert time.monotonic() - started < 5
    assert str(failed.value) == (
        f"could not send the digest to {ONE}: the mail server 127.0.0.1:{plain.port} does "
        "not offer STARTTLS; set KRATOM_WATCH_SMTP_SECURITY=ssl (and its port) or none; "
        "a rerun sends it to everyone not delivered"
    )
    assert plain.messages == [] and plain.logins == []


def test_unreachable_server_is_retried_then_reported(tmp_path, smtp):
    mail = load_settings(require_email=False).mail
    closed = type(mail)(**{**mail.__dict__, "port": 1})
    message = build_message(make_parts(tmp_path), "x", mail.sender, ONE, "<1@example.org>")

    with pytest.raises(MailError, match="after 2 attempts: cannot connect to 127.0.0.1:1"):
        send_messages(closed, {ONE: message}, Ledger(), backoff=0, max_attempts=2)


# Whole runs


def test_run_mails_each_recipient_once(prefect_harness, env, smtp):
    first = CliRunner().invoke(cli, WINDOW)
    assert first.exit_code == 0, first.output
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == [ONE, TWO]
    subject = " ".join(smtp.messages[0].message["Subject"].split())  # unfolded
    assert subject.startswith("kratom-watch 2026-11-02 to 2026-11-08: ")
    assert " new papers, " in subject

    again = CliRunner().invoke(cli, WINDOW)
    assert again.exit_code == 0, again.output
    assert len(smtp.messages) == 2

    resent = CliRunner().invoke(cli, [*WINDOW, "--resend"])
    assert resent.exit_code == 0, resent.output
    assert len(smtp.messages) == 4

    quiet = CliRunner().invoke(cli, [*WINDOW, "--no-email", "--resend"])
    assert quiet.exit_code == 0, quiet.output
    assert len(smtp.messages) == 4


def test_permanent_failure_fails_the_run_and_keeps_the_digest(prefect_harness, env, smtp):
    smtp.fail_next("554 5.7.1 Message refused")

    result = CliRunner().invoke(cli, WINDOW, env={"KRATOM_WATCH_RETRY_BACKOFF": "0"})

    assert result.exit_code == 1
    assert "Error: the mail server 127.0.0.1:" in result.stderr
    assert f"refused the digest for {ONE}: 554 5.7.1 Message refused" in result.stderr
    assert f"delivered to {TWO}" in result.stderr
    assert "Traceback" not in result.stderr
    assert PASSWORD not in result.stderr + result.stdout
    reports = sorted(p.name for p in Path(env["KRATOM_WATCH_REPORTS"]).iterdir())
    assert "kratom-watch_2026-11-02_2026-11-08.html" in reports
    with sqlite3.connect(env["KRATOM_WATCH_DB"]) as db:
        assert db.execute("SELECT status FROM runs").fetchall() == [("failed",)]
