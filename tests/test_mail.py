"""The digest by e-mail, received by a real SMTP server with STARTTLS and AUTH."""

from __future__ import annotations

import csv
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from flows.cli import cli
from flows.digest import build_digest
from flows.mail import DigestFiles, MailError, build_message, send_messages
from flows.render import render_digest
from flows.settings import load_settings
from tests.eutils_server import EutilsServer, corpus_records
from tests.smtp_server import PASSWORD, SmtpServer
from tests.test_digest import paper

SINCE, UNTIL = date(2026, 11, 2), date(2026, 11, 8)
WINDOW = ["run", "--since", str(SINCE), "--until", str(UNTIL)]


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


def digest_files(tmp_path) -> DigestFiles:
    papers = [paper("1"), paper("2", "rct"), paper("3", "animal", relevant=False)]
    paths = render_digest(build_digest(papers, SINCE, UNTIL), tmp_path / "reports", papers)
    return DigestFiles.from_paths(paths)


def test_message_structure(tmp_path, smtp):
    mail = load_settings(require_email=False).mail
    files = digest_files(tmp_path)
    message = build_message(files, "kratom-watch test", mail.sender, "reader.one@example.org")

    send_messages(mail, {"reader.one@example.org": message}, lambda *_: None)

    (received,) = smtp.messages
    got = received.message
    assert received.rcpt_tos == ["reader.one@example.org"]
    assert smtp.logins == ["digest-bot"]
    assert got["Subject"] == "kratom-watch test"
    assert got["Date"] and got["Message-ID"].endswith("@example.org>")
    assert got.get_content_type() == "multipart/mixed"
    body, *attachments = got.iter_parts()
    assert body.get_content_type() == "multipart/alternative"
    text, related = body.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert "Paper 1 on Mitragyna speciosa" in text.get_content()
    assert related.get_content_type() == "multipart/related"
    html, image = related.iter_parts()
    assert html.get_content_type() == "text/html"
    assert image.get_content_type() == "image/png"
    assert f'src="cid:{image["Content-ID"][1:-1]}"' in html.get_content()
    assert "https://pubmed.ncbi.nlm.nih.gov/2/" in html.get_content()
    assert image.get_content() == files.chart.read_bytes()
    assert [(a.get_filename(), a.get_content_type()) for a in attachments] == [
        (files.attachments[0].name, "text/csv"),
        (files.attachments[1].name, "application/x-research-info-systems"),
    ]
    rows = list(csv.DictReader(attachments[0].get_content().splitlines()))
    assert [r["pmid"] for r in rows] == ["2", "1", "3"]


def test_attachments_too_large_for_mail_stay_in_the_reports_folder(tmp_path):
    files = digest_files(tmp_path)
    size = sum(path.stat().st_size for path in files.attachments)

    message = build_message(files, "kratom-watch test", "kw@example.org", "r@example.org", size - 1)

    assert [part.get_filename() for part in message.iter_attachments()] == []
    for kind in ("plain", "html"):
        body = message.get_body((kind,)).get_content()
        assert "too large to attach" in " ".join(body.split())
        assert files.attachments[0].name in body and files.attachments[1].name in body
    # At the limit they are attached.
    message = build_message(files, "kratom-watch test", "kw@example.org", "r@example.org", size)
    assert len(list(message.iter_attachments())) == 2


def test_run_mails_each_recipient_once(prefect_harness, env, smtp):
    first = CliRunner().invoke(cli, WINDOW)
    assert first.exit_code == 0, first.output
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == [
        "reader.one@example.org",
        "reader.two@example.org",
    ]
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


def test_transient_failure_is_retried_for_the_undelivered_only(prefect_harness, env, smtp):
    answers = defer_second_message(smtp)

    result = CliRunner().invoke(cli, WINDOW)

    assert result.exit_code == 0, result.output
    assert answers == ["250", "451", "250"]
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == [
        "reader.one@example.org",
        "reader.two@example.org",
    ]


def defer_second_message(smtp: SmtpServer) -> list[str]:
    """Accept the first message, defer the second once (451), accept the rest."""
    handler = smtp._controller.handler
    real = handler.handle_DATA
    answers: list[str] = []

    async def handle_data(server, session, envelope):
        if len(answers) == 1:
            answers.append("451")
            return "451 4.3.0 Try again later"
        answers.append("250")
        return await real(server, session, envelope)

    handler.handle_DATA = handle_data
    return answers


def test_permanent_failure_fails_the_run_and_keeps_the_digest(prefect_harness, env, smtp):
    smtp.fail_next("554 5.7.1 Message refused")

    result = CliRunner().invoke(cli, WINDOW, env={"KRATOM_WATCH_RETRY_BACKOFF": "0"})

    assert result.exit_code == 1
    assert "Error: the mail server 127.0.0.1:" in result.stderr
    assert "554 5.7.1 Message refused" in result.stderr
    assert "Traceback" not in result.stderr
    assert PASSWORD not in result.stderr + result.stdout
    reports = sorted(p.name for p in Path(env["KRATOM_WATCH_REPORTS"]).iterdir())
    assert "kratom-watch_2026-11-02_2026-11-08.html" in reports
    with sqlite3.connect(env["KRATOM_WATCH_DB"]) as db:
        assert db.execute("SELECT status FROM runs").fetchall() == [("failed",)]


def test_wrong_password_is_one_clear_line(prefect_harness, env, smtp):
    result = CliRunner().invoke(
        cli, WINDOW, env={"KRATOM_WATCH_SMTP_PASSWORD": "wrong-password-xyz"}
    )

    assert result.exit_code == 1
    assert "refused the login for KRATOM_WATCH_SMTP_USER: 535" in result.stderr
    assert "wrong-password-xyz" not in result.stderr
    assert "Traceback" not in result.stderr
    assert smtp.messages == []


def test_unreachable_server_is_retried_then_reported(tmp_path, smtp):
    mail = load_settings(require_email=False).mail
    closed = type(mail)(**{**mail.__dict__, "port": 1})
    message = build_message(digest_files(tmp_path), "x", mail.sender, "reader.one@example.org")

    with pytest.raises(MailError, match="after 2 attempts: cannot connect to 127.0.0.1:1"):
        send_messages(
            closed, {"reader.one@example.org": message}, lambda *_: None, backoff=0, max_attempts=2
        )
