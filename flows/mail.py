"""The digest by e-mail: one message per recipient, each delivery standing on its own.

The message is a stdlib EmailMessage assembled from the renderer's MailParts:
multipart/alternative (plain text, and HTML with the chart as an inline related image),
inside multipart/mixed when the CSV and RIS are attached. prefect-email's message puts
text and HTML side by side in multipart/mixed and has no Date or Message-ID (see
docs/field-notes.md), hence our own.

SMTP can promise a message at least once, never exactly once: when the connection drops
after the message was sent and before the server's 250, nobody knows whether it arrived.
So each digest has one Message-ID per recipient (derived from the digest key and the
address), the attempt is recorded before DATA and the delivery after the 250, and a rerun
sends an unconfirmed copy again under the same Message-ID, which mail clients and servers
that deduplicate on Message-ID show once.

Transport is smtplib (SSL, STARTTLS or plain, with login when a user is set), one
conversation for all recipients, and each conversation has a deadline: a server that
answers one byte at a time never trips a per-read timeout.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import logging
import smtplib
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import formatdate
from typing import Protocol
from urllib.parse import quote

from flows.backoff import retry_delay
from flows.deadline import Deadline
from flows.errors import KratomWatchError
from flows.settings import MailSettings

log = logging.getLogger("kratom_watch.mail")

# Conversations per run: a recipient deferred (4xx) or a connection that failed is tried
# again this many times in all, with backoff.
MAX_ATTEMPTS = 4
# Attachments larger than this in all stay in the reports folder, and the message says so:
# mail servers refuse messages over 10 to 25 MB (base64 adds a third), and a backfill's CSV
# and RIS run to tens of megabytes.
ATTACHMENT_LIMIT = 10_000_000
# Seconds for one read or write on the socket.
READ_TIMEOUT = 30.0
# Seconds for the opening of a conversation (connect, greeting, EHLO, STARTTLS, login), and
# again for each message, plus the time the message takes at MIN_RATE bytes a second.
SMTP_DEADLINE = 60.0
MIN_RATE = 50_000


class MailError(KratomWatchError):
    """The digest could not be delivered to everyone; it stays on disk."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str  # "text/csv"


@dataclass(frozen=True)
class MailParts:
    """What the renderer made for the e-mail; build_message only puts it together.

    `html` shows the chart as `cid:<chart_cid>` and the oversize note in place; `text`
    carries the note too. A quiet week has no attachments.
    """

    text: str
    html: str
    chart_png: bytes | None
    chart_cid: str  # without the angle brackets
    attachments: tuple[Attachment, ...]


def message_id(key: str, recipient: str, sender: str, salt: str = "") -> str:
    """The one Message-ID of a digest for a recipient: a resend of it is recognisable.

    `salt` makes a new one, for a copy the user asked for (`--resend`): mail systems that
    deduplicate on Message-ID would otherwise drop it.
    """
    token = hashlib.sha256(f"{key}\n{recipient}\n{salt}".encode()).hexdigest()[:24]
    return f"<{token}@{_domain(sender)}>"


def build_message(
    parts: MailParts, subject: str, sender: str, recipient: str, message_id: str
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id
    # As mailing lists do: clients show an unsubscribe button that writes to the sender.
    message["List-Unsubscribe"] = f"<mailto:{quote(sender, safe='@')}?subject=unsubscribe>"
    message.set_content(parts.text)
    message.add_alternative(parts.html, subtype="html")
    if parts.chart_png is not None:
        (html_part,) = (p for p in message.iter_parts() if p.get_content_subtype() == "html")
        # Inline, or clients list the chart among the attachments as well.
        html_part.add_related(
            parts.chart_png,
            "image",
            "png",
            cid=f"<{parts.chart_cid}>",
            disposition="inline",
            filename="chart.png",
        )
    for attachment in parts.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message


class DeliveryLedger(Protocol):
    """Where each recipient's delivery is recorded as it happens (the store, for a run)."""

    def attempted(self, recipient: str, message_id: str) -> None: ...

    def delivered(self, recipient: str, message_id: str) -> None: ...

    def refused(self, recipient: str, message_id: str, answer: str) -> None: ...


def send_messages(
    mail: MailSettings,
    messages: dict[str, EmailMessage],
    ledger: DeliveryLedger,
    *,
    backoff: float = 2.0,
    max_attempts: int = MAX_ATTEMPTS,
    deadline: float = SMTP_DEADLINE,
) -> list[str]:
    """Deliver each recipient's message; return the recipients delivered.

    Each recipient stands on its own: one refused (5xx) is recorded with the server's
    answer and the others still get theirs; one deferred (4xx), or all of them when the
    connection fails, is tried again with backoff, `max_attempts` conversations in all.
    A permanent failure of the conversation itself (login, TLS, no STARTTLS, the sender
    refused, the store unable to record) stops at once. When anyone is left undelivered,
    MailError names each of them and what the server said, never the password.
    """
    tally = _Tally(f"{mail.host}:{mail.port}", dict(messages))
    secrets = _secrets(mail)
    attempt = 0
    while tally.pending and attempt < max_attempts:
        if attempt:
            delay = retry_delay(backoff, attempt)
            log.warning("mail to %s: %s; trying again in %.1f s", tally.where, tally.why(), delay)
            time.sleep(delay)
        attempt += 1
        tally.trouble = ""
        try:
            with _conversation(mail, deadline, secrets) as session:
                for recipient, message in list(tally.pending.items()):
                    answer = _deliver(session, mail.sender, recipient, message, ledger, deadline)
                    tally.took(recipient, answer)
                    if answer is not None and answer.permanent:
                        _record(ledger.refused, recipient, message["Message-ID"], str(answer))
        except _Trouble as error:
            tally.trouble = str(error)
            if error.unconfirmed:
                tally.unconfirmed[error.unconfirmed] = str(error)
        except _Fatal as error:
            if error.delivered:
                tally.took(error.delivered, None)
            raise MailError(tally.summary(str(error))) from None
    try:
        for recipient, message in tally.pending.items():
            if recipient in tally.deferred and recipient not in tally.unconfirmed:
                answer = (
                    f"{tally.deferred[recipient]} (temporary; gave up after {attempt} attempts)"
                )
                _record(ledger.refused, recipient, message["Message-ID"], answer)
    except _Fatal as error:
        raise MailError(tally.summary(str(error))) from None
    if tally.pending or tally.refused:
        raise MailError(tally.summary(tally.trouble or "no answer", attempt))
    return tally.delivered


@dataclass
class _Tally:
    """Where each recipient's message stands during send_messages."""

    where: str
    pending: dict[str, EmailMessage]
    delivered: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # recipient: the server's answer
    deferred: dict[str, str] = field(default_factory=dict)  # recipient: last temporary answer
    unconfirmed: dict[str, str] = field(default_factory=dict)  # sent, never confirmed: why
    trouble: str = ""  # what went wrong with the last conversation itself

    def took(self, recipient: str, answer: _Answer | None) -> None:
        if answer is None:
            self.delivered.append(recipient)
            del self.pending[recipient]
            self.deferred.pop(recipient, None)
            self.unconfirmed.pop(recipient, None)
        elif answer.permanent:
            self.refused[recipient] = str(answer)
            del self.pending[recipient]
        else:
            self.deferred[recipient] = str(answer)

    def why(self) -> str:
        if self.trouble:
            return self.trouble
        return "deferred " + ", ".join(f"{r} ({a})" for r, a in self.deferred.items())

    def summary(self, trouble: str, attempts: int | None = None) -> str:
        """One line: who did not get the digest and why, who did, what a rerun does.

        `trouble` stopped the rest: the last conversation's failure after `attempts`, or
        (attempts None) a failure no retry could mend.
        """
        said = [
            f"the mail server {self.where} refused the digest for {recipient}: {answer}"
            for recipient, answer in self.refused.items()
        ]
        stopped = []
        for recipient in self.pending:
            if recipient in self.unconfirmed:
                said.append(
                    f"the digest for {recipient} was sent but never confirmed "
                    f"({self.unconfirmed[recipient]}; it may have arrived)"
                )
            elif recipient in self.deferred and attempts is not None:
                said.append(
                    f"{self.where} kept deferring the digest for {recipient}: "
                    f"{self.deferred[recipient]}"
                )
            else:
                stopped.append(recipient)
        tried = f" after {attempts} attempt{'s' if attempts != 1 else ''}" if attempts else ""
        if stopped:
            said.append(f"could not send the digest to {', '.join(stopped)}{tried}: {trouble}")
        elif attempts is None:
            said.append(trouble)
        if self.delivered:
            said.append(f"delivered to {', '.join(self.delivered)}")
        rerun = "a rerun sends it to everyone not delivered"
        if self.refused:
            rerun += ", refused addresses too (they may have been fixed)"
        if self.unconfirmed:
            rerun += ", under the same Message-ID"
        return "; ".join([*said, rerun])


def _record(write, recipient: str, message_id: str, *more: str) -> None:
    """A ledger write; a store that cannot take it stops the delivery (see _deliver)."""
    try:
        write(recipient, message_id, *more)
    except KratomWatchError as error:
        raise _Fatal(f"the store could not record what happened to {recipient} ({error})") from None


# One conversation


@dataclass(frozen=True)
class _Answer:
    """What the server said when it did not take a recipient's message."""

    code: int
    text: str

    @property
    def permanent(self) -> bool:
        return self.code >= 500

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


class _Trouble(Exception):
    """The conversation failed in a way worth another try (no connection, a timeout, a drop)."""

    def __init__(self, text: str, unconfirmed: str | None = None) -> None:
        super().__init__(text)
        self.unconfirmed = unconfirmed  # the recipient whose message was in flight


class _Fatal(Exception):
    """The conversation cannot succeed as configured (login, TLS, STARTTLS, the sender),
    or the store cannot record it."""

    def __init__(self, text: str, delivered: str | None = None) -> None:
        super().__init__(text)
        self.delivered = delivered  # a recipient the server took though the store failed


@dataclass
class _Session:
    smtp: smtplib.SMTP
    watchdog: Deadline
    where: str
    secrets: tuple[str, ...]


def _deliver(
    session: _Session,
    sender: str,
    recipient: str,
    message: EmailMessage,
    ledger: DeliveryLedger,
    deadline: float,
) -> _Answer | None:
    """One recipient's transaction; None when the server took the message."""
    smtp = session.smtp
    international = not (sender + recipient).isascii()
    if international and not smtp.has_extn("smtputf8"):
        return _Answer(553, "(not sent: the address is not ASCII and the server lacks SMTPUTF8)")
    options = ["SMTPUTF8", "BODY=8BITMIME"] if international else []
    data = _as_bytes(message, international)
    message_id = message["Message-ID"]
    session.watchdog.arm(deadline + len(data) / MIN_RATE)
    sent = False
    try:
        code, said = smtp.mail(sender, options)
        if code != 250:
            _reset(smtp)
            if code >= 500:
                raise _Fatal(
                    f"the mail server {session.where} refused the sender "
                    f"KRATOM_WATCH_MAIL_FROM={sender}: {code} {_said(said, session.secrets)}"
                )
            return _Answer(code, _said(said, session.secrets))
        code, said = smtp.rcpt(recipient)
        if code not in (250, 251):
            _reset(smtp)
            return _Answer(code, _said(said, session.secrets))
        try:
            ledger.attempted(recipient, message_id)
        except KratomWatchError as error:
            # Sent unrecorded, a copy whose fate is unknown would look never sent.
            _reset(smtp)
            raise _Fatal(f"the store could not record the attempt first ({error})") from None
        sent = True
        try:
            code, said = smtp.data(data)
        except smtplib.SMTPDataError as error:  # DATA itself refused: nothing was sent
            _reset(smtp)
            return _Answer(error.smtp_code, _said(error.smtp_error, session.secrets))
    except _Fatal:
        raise
    except BaseException as error:
        problem = _translate(error, session)
        if isinstance(problem, _Trouble) and sent:
            raise _Trouble(str(problem), unconfirmed=recipient) from None
        raise problem from None
    if code != 250:
        return _Answer(code, _said(said, session.secrets))
    try:
        ledger.delivered(recipient, message_id)
    except KratomWatchError as error:
        raise _Fatal(
            f"{recipient} got the digest but the store could not record it ({error}), "
            f"so a rerun sends it again under the same Message-ID {message_id}",
            delivered=recipient,
        ) from None
    return None


def _reset(smtp: smtplib.SMTP) -> None:
    code, _ = smtp.rset()
    if code != 250:
        raise smtplib.SMTPServerDisconnected("RSET failed")


def _as_bytes(message: EmailMessage, international: bool) -> bytes:
    buffer = io.BytesIO()
    BytesGenerator(buffer, policy=SMTPUTF8 if international else SMTP).flatten(message)
    return buffer.getvalue()


@contextlib.contextmanager
def _conversation(
    mail: MailSettings, deadline: float, secrets: tuple[str, ...]
) -> Iterator[_Session]:
    """An SMTP conversation, opened and logged in, under a deadline; smtplib's errors
    come out as _Trouble or _Fatal."""
    where = f"{mail.host}:{mail.port}"
    watchdog = Deadline()
    smtp: smtplib.SMTP | None = None
    watchdog.arm(deadline)
    try:
        context = ssl.create_default_context()
        if mail.security == "ssl":
            smtp = _WatchedSSL(
                watchdog, mail.host, mail.port, timeout=READ_TIMEOUT, context=context
            )
        else:
            smtp = _Watched(watchdog, mail.host, mail.port, timeout=READ_TIMEOUT)
        session = _Session(smtp, watchdog, where, secrets)
        smtp.ehlo()
        if mail.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise _Fatal(
                    f"the mail server {where} does not offer STARTTLS; set "
                    "KRATOM_WATCH_SMTP_SECURITY=ssl (and its port) or none"
                )
            smtp.starttls(context=context)
            smtp.ehlo()
        if mail.user:
            smtp.login(mail.user, mail.password.reveal() if mail.password else "")
    except (_Fatal, _Trouble):
        _close(smtp, watchdog)
        raise
    except BaseException as error:
        _close(smtp, watchdog)
        raise _translate(error, _Session(smtp, watchdog, where, secrets)) from None
    try:
        yield session
    except (_Fatal, _Trouble, KratomWatchError):
        _close(smtp, watchdog)
        raise
    except BaseException as error:
        _close(smtp, watchdog)
        raise _translate(error, session) from None
    watchdog.arm(deadline)
    with contextlib.suppress(smtplib.SMTPException, OSError):
        smtp.quit()
    _close(smtp, watchdog)


def _close(smtp: smtplib.SMTP | None, watchdog: Deadline) -> None:
    watchdog.finish()
    if smtp is not None:
        with contextlib.suppress(OSError):
            smtp.close()


def _translate(error: BaseException, session: _Session) -> BaseException:
    """Worth another try (_Trouble) or not (_Fatal), said fit for a user."""
    where, secrets = session.where, session.secrets
    if not isinstance(error, Exception):
        return error  # KeyboardInterrupt, SystemExit: not ours to translate
    if session.watchdog.expired:
        return _Trouble(
            f"the conversation with {where} took over {session.watchdog.seconds:g} s "
            "(the server answers too slowly)"
        )
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return _Fatal(
            f"the mail server {where} refused the login for KRATOM_WATCH_SMTP_USER: "
            f"{error.smtp_code} {_said(error.smtp_error, secrets)}"
        )
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return _Fatal(f"the mail server {where} cannot do what the settings ask: {error}")
    if isinstance(error, smtplib.SMTPResponseException):
        text = f"{where} answered {error.smtp_code} {_said(error.smtp_error, secrets)}"
        if 400 <= error.smtp_code < 500:
            return _Trouble(text)
        return _Fatal(f"the mail server {text}")
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return _Trouble(f"{where} closed the connection")
    if isinstance(error, ssl.SSLError):
        return _Fatal(f"TLS with the mail server {where} failed: {error.reason or error}")
    if isinstance(error, TimeoutError):
        return _Trouble(f"{where} did not answer in {READ_TIMEOUT:g} s")
    if isinstance(error, smtplib.SMTPException):
        return _Fatal(f"mail to {where} failed: {_said(str(error), secrets)}")
    if isinstance(error, OSError):
        return _Trouble(f"cannot connect to {where} ({error.strerror or error})")
    return error


def _said(raw: bytes | str, secrets: tuple[str, ...] = ()) -> str:
    """A server's words for one line of ours: printable, short, with no secret echoed."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    for secret in secrets:
        text = text.replace(secret, "***")
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text if len(text) <= 200 else text[:200] + "..."


def _secrets(mail: MailSettings) -> tuple[str, ...]:
    """The password and the base64 forms AUTH sends it in: a server may echo them back."""
    password = mail.password.reveal() if mail.password else ""
    if not password:
        return ()
    plain = f"\0{mail.user or ''}\0{password}"  # AUTH PLAIN
    return (password, *(base64.b64encode(f.encode()).decode() for f in (plain, password)))


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "kratom-watch"


# The connections a Deadline watches


class _Watched(smtplib.SMTP):
    """smtplib.SMTP that shows its socket to its deadline as soon as it connects."""

    def __init__(self, watchdog: Deadline, host: str, port: int, **options) -> None:
        self.watchdog = watchdog
        smtplib.SMTP.__init__(self, host, port, **options)

    def _get_socket(self, host, port, timeout):
        sock = super()._get_socket(host, port, timeout)
        self.watchdog.watch(sock)
        return sock


class _WatchedSSL(smtplib.SMTP_SSL, _Watched):
    """smtplib.SMTP_SSL whose plain socket its deadline sees before the TLS handshake."""

    def __init__(self, watchdog: Deadline, host: str, port: int, **options) -> None:
        self.watchdog = watchdog
        smtplib.SMTP_SSL.__init__(self, host, port, **options)
