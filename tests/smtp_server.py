"""A real SMTP server on 127.0.0.1 for tests: aiosmtpd with STARTTLS and AUTH.

    with SmtpServer(tmp_path) as smtp:
        ...  # KRATOM_WATCH_SMTP_HOST=127.0.0.1, KRATOM_WATCH_SMTP_PORT=smtp.port
        smtp.messages  # what it accepted: (mail_from, rcpt_tos, parsed message)

It requires STARTTLS before AUTH (as a real submission server on 587 does)
with a certificate for 127.0.0.1 made for the test; point SSL_CERT_FILE at
`ca_file` so the client trusts it. Hostile modes, as real servers misbehave:
`fail_next` scripts answers to the next DATA commands (a "451" to defer, a
"554" to refuse, None to take the message); `refuse` answers a recipient's
RCPT with a permanent 5xx and `defer` with a 4xx a number of times;
`drop_after_data` keeps the message and closes the connection instead of
answering 250; `delay_reply` keeps it and answers late; `echo_failed_logins`
quotes a refused password back;
`SmtpServer(..., starttls=False)` offers no STARTTLS; and `DripServer` sends
its greeting one byte at a time.
"""

from __future__ import annotations

import asyncio
import datetime
import email
import email.policy
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER = "digest-bot"
PASSWORD = "SMTPpass-very-secret-42"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage
    raw: bytes


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost; returns (cert, key) paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kratom-watch test SMTP")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options) -> str:
        server = self.server
        server.rcpts.append(address)
        if address in server.refused:
            return server.refused[address]
        if server.deferred.get(address):
            times, answer = server.deferred[address]
            server.deferred[address] = (times - 1, answer) if times > 1 else None
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp, session, envelope) -> str:
        server = self.server
        if server.scripted and (answer := server.scripted.pop(0)) is not None:
            return answer
        raw = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        server.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed, raw))
        if server.drops:
            # Kept, and the connection cut where the 250 was due: the client cannot know.
            server.drops -= 1
            smtp.transport.abort()
            return "250 2.0.0 OK: queued (never sent)"
        if server.delay:
            await asyncio.sleep(server.delay)
        return "250 2.0.0 OK: queued"


class SmtpServer:
    def __init__(
        self, folder: Path, user: str = USER, password: str = PASSWORD, *, starttls: bool = True
    ) -> None:
        self.ca_file, key_file = make_certificate(folder)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, key_file)
        self.user, self.password = user, password
        self.messages: list[Received] = []
        self.rcpts: list[str] = []  # every RCPT TO, accepted or not
        self.scripted: list[str | None] = []
        self.refused: dict[str, str] = {}
        self.deferred: dict[str, tuple[int, str] | None] = {}
        self.drops = 0
        self.delay = 0.0
        self.logins: list[str] = []
        self.echo_failed_logins = False  # a refused login quoted back, password and all
        self.port = _free_port()
        self._controller = Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context if starttls else None,
            require_starttls=starttls,
            authenticator=self._authenticate,
            auth_require_tls=starttls,
            auth_required=starttls,  # without TLS, a login would send the password in clear
        )

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            self.logins.append(login)
            if (login, password) == (self.user, self.password):
                return AuthResult(success=True)
            if self.echo_failed_logins:
                said = f"535 5.7.8 No user {login} with password {password}"
                return AuthResult(success=False, handled=False, message=said)
        return AuthResult(success=False, handled=False)

    def fail_next(self, *answers: str | None) -> None:
        """Answer the next DATA commands so (None: take that message as usual)."""
        self.scripted.extend(answers)

    def refuse(self, recipient: str, answer: str = "") -> None:
        """Answer RCPT TO:<recipient> with a permanent refusal, every time."""
        self.refused[recipient] = answer or (
            f"550 5.1.1 <{recipient}>: Recipient address rejected: User unknown"
        )

    def defer(self, recipient: str, times: int, answer: str = "450 4.2.1 Mailbox busy") -> None:
        """Answer RCPT TO:<recipient> with a temporary refusal, the next `times` times."""
        self.deferred[recipient] = (times, answer)

    def drop_after_data(self, times: int = 1) -> None:
        """Keep the next `times` messages, then close the connection instead of the 250."""
        self.drops = times

    def delay_reply(self, seconds: float) -> None:
        """Keep each message, then wait `seconds` before the 250."""
        self.delay = seconds

    def wait_for_messages(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.messages)} of {count} messages arrived")
            time.sleep(0.02)

    def env(self) -> dict[str, str]:
        """The kratom-watch settings that send to this server."""
        return {
            "KRATOM_WATCH_SMTP_HOST": "127.0.0.1",
            "KRATOM_WATCH_SMTP_PORT": str(self.port),
            "KRATOM_WATCH_SMTP_USER": self.user,
            "KRATOM_WATCH_SMTP_PASSWORD": self.password,
            "KRATOM_WATCH_SMTP_SECURITY": "starttls",
            "KRATOM_WATCH_MAIL_FROM": "kratom-watch@example.org",
            "KRATOM_WATCH_MAIL_TO": "reader.one@example.org, reader.two@example.org",
            "SSL_CERT_FILE": str(self.ca_file),
        }

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()


class DripServer:
    """An SMTP server that sends its greeting one byte every `interval` seconds, and nothing
    else: each read a client makes is answered well within any read timeout, so only a
    deadline on the whole conversation ends it."""

    def __init__(self, interval: float = 2.0) -> None:
        self.interval = interval
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            for byte in b"220 slow.example.org ESMTP at your service\r\n":
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return
                if self._stop.wait(self.interval):
                    return

    def __enter__(self) -> DripServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._listener.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
