"""The digest by e-mail: one well-formed message, delivered once to each recipient.

The message is multipart/alternative (plain text and HTML) with the chart as an
inline related image and the CSV and RIS exports attached: a stdlib
EmailMessage, because prefect-email's message puts text and HTML side by side
in multipart/mixed and has no Date or Message-ID (see field-notes).
Transport is smtplib: SSL, STARTTLS or plain, with login when a user is set.
"""

from __future__ import annotations

import contextlib
import logging
import mimetypes
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html import escape
from pathlib import Path

from flows.backoff import retry_delay
from flows.errors import KratomWatchError
from flows.settings import MailSettings

log = logging.getLogger("kratom_watch.mail")

MAX_ATTEMPTS = 4
# Attachments larger than this in all stay in the reports folder, and the message says so:
# mail servers refuse messages over 10 to 25 MB (base64 adds a third), and a backfill's CSV
# and RIS run to tens of megabytes.
ATTACHMENT_LIMIT = 10_000_000


class MailError(KratomWatchError):
    """The digest could not be delivered; it stays on disk."""


@dataclass(frozen=True)
class DigestFiles:
    """The rendered files of one digest, as render_digest wrote them."""

    html: Path
    text: Path
    attachments: tuple[Path, ...]  # CSV, RIS
    chart: Path | None = None

    @classmethod
    def from_paths(cls, paths: Iterable[Path]) -> DigestFiles:
        by_suffix: dict[str, Path] = {}
        for path in paths:
            if path.name not in ("index.html", "feed.xml"):
                by_suffix.setdefault(path.suffix, path)
        return cls(
            html=by_suffix[".html"],
            text=by_suffix[".txt"],
            attachments=tuple(by_suffix[s] for s in (".csv", ".ris") if s in by_suffix),
            chart=by_suffix.get(".png"),
        )


def build_message(
    files: DigestFiles,
    subject: str,
    sender: str,
    recipient: str,
    attachment_limit: int = ATTACHMENT_LIMIT,
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    text = files.text.read_text(encoding="utf-8")
    html = files.html.read_text(encoding="utf-8")
    size = sum(path.stat().st_size for path in files.attachments)
    attachments = files.attachments if size <= attachment_limit else ()
    if files.attachments and not attachments:
        folder = files.attachments[0].parent
        names = " and ".join(path.name for path in files.attachments)
        note = (
            f"The CSV and RIS files ({size / 1e6:.0f} MB) are too large to attach; "
            f"they are in {folder}: {names}."
        )
        text = f"{text.rstrip()}\n\n{note}\n"
        html = html.replace("</body>", f'<p style="margin:24px 0 0">{escape(note)}</p></body>', 1)
    message.set_content(text)
    chart_id = make_msgid(domain=sender.rpartition("@")[2])
    if files.chart is not None:
        # In mail the chart travels inline, below the papers.
        figure = (
            f'<p style="margin:24px 0 0"><img src="cid:{chart_id[1:-1]}" width="600" '
            'style="max-width:100%;height:auto" '
            'alt="Papers in the store per publication year, by study design"></p>'
        )
        html = html.replace("</body>", figure + "</body>", 1)
    message.add_alternative(html, subtype="html")
    if files.chart is not None:
        html_part = message.get_payload()[1]
        html_part.add_related(
            files.chart.read_bytes(), "image", "png", cid=chart_id, filename=files.chart.name
        )
    for path in attachments:
        maintype, subtype = _content_type(path)
        message.add_attachment(
            path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name
        )
    return message


def _content_type(path: Path) -> tuple[str, str]:
    if path.suffix == ".ris":
        return "application", "x-research-info-systems"
    guessed = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    maintype, _, subtype = guessed.partition("/")
    return maintype, subtype


class _TransientMailError(Exception):
    pass


def send_messages(
    mail: MailSettings,
    messages: dict[str, EmailMessage],
    on_delivered: Callable[[str, str], None],
    *,
    backoff: float = 2.0,
    max_attempts: int = MAX_ATTEMPTS,
) -> None:
    """Deliver each recipient's message; `on_delivered(recipient, message_id)` after each.

    A transient failure (no connection, a 4xx answer, a dropped connection) is
    retried with backoff for the recipients not yet delivered; a permanent one
    (authentication, a 5xx answer) stops at once. Either way the error message
    names the server and what it said, never the password.
    """
    pending = dict(messages)
    for attempt in range(1, max_attempts + 1):
        try:
            with _connect(mail) as smtp:
                for recipient, message in list(pending.items()):
                    smtp.send_message(message, from_addr=mail.sender, to_addrs=[recipient])
                    on_delivered(recipient, message["Message-ID"])
                    del pending[recipient]
            return
        except _TransientMailError as error:
            if attempt == max_attempts:
                raise MailError(
                    f"could not send the digest to {', '.join(pending)} after {attempt} "
                    f"attempts: {error}"
                ) from None
            delay = retry_delay(backoff, attempt)
            log.warning("sending the digest: %s; retrying in %.1f s", error, delay)
            time.sleep(delay)


class _connect:
    """An SMTP session as a context manager that turns smtplib errors into ours."""

    def __init__(self, mail: MailSettings) -> None:
        self.mail = mail
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> smtplib.SMTP:
        mail = self.mail
        where = f"{mail.host}:{mail.port}"
        try:
            context = ssl.create_default_context()
            if mail.security == "ssl":
                self.smtp = smtplib.SMTP_SSL(mail.host, mail.port, timeout=30, context=context)
            else:
                self.smtp = smtplib.SMTP(mail.host, mail.port, timeout=30)
                if mail.security == "starttls":
                    self.smtp.starttls(context=context)
            if mail.user:
                password = mail.password.reveal() if mail.password else ""
                self.smtp.login(mail.user, password)
        except BaseException as error:
            self._close()
            raise _translate(error, where) from None
        return self.smtp

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.smtp.quit()
            return False
        self._close()
        if isinstance(exc, (smtplib.SMTPException, OSError)):
            raise _translate(exc, f"{self.mail.host}:{self.mail.port}") from None
        return False

    def _close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(OSError):
                self.smtp.close()


def _translate(error: BaseException, where: str) -> Exception:
    """Transient (worth a retry) or permanent (MailError), with a message fit for a user."""
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return MailError(
            f"the mail server {where} refused the login for KRATOM_WATCH_SMTP_USER: "
            f"{error.smtp_code} {_said(error.smtp_error)}"
        )
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        refused = ", ".join(error.recipients)
        if all(400 <= c < 500 for c in codes):
            return _TransientMailError(f"{where} deferred {refused}")
        return MailError(f"the mail server {where} refused the recipient(s) {refused}")
    if isinstance(error, smtplib.SMTPResponseException):
        text = f"{where} answered {error.smtp_code} {_said(error.smtp_error)}"
        if 400 <= error.smtp_code < 500:
            return _TransientMailError(text)
        return MailError(f"the mail server {text}")
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return _TransientMailError(f"{where} closed the connection")
    if isinstance(error, ssl.SSLError):
        return MailError(f"TLS with the mail server {where} failed: {error.reason or error}")
    if isinstance(error, (TimeoutError, socket.timeout)):
        return _TransientMailError(f"{where} did not answer in time")
    if isinstance(error, OSError):
        return _TransientMailError(f"cannot connect to {where} ({error.strerror or error})")
    if isinstance(error, smtplib.SMTPException):
        return MailError(f"mail to {where} failed: {error}")
    return error  # not ours to translate (KeyboardInterrupt and the like)


def _said(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return " ".join(text.split())
