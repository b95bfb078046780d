"""A real SMTP server on 127.0.0.1 for tests: aiosmtpd with STARTTLS and AUTH.

    with SmtpServer(tmp_path) as smtp:
        ...  # KRATOM_WATCH_SMTP_HOST=127.0.0.1, KRATOM_WATCH_SMTP_PORT=smtp.port
        smtp.messages  # what it accepted: (mail_from, rcpt_tos, parsed message)

It requires STARTTLS before AUTH (as a real submission server on 587 does)
with a certificate for 127.0.0.1 made for the test; point SSL_CERT_FILE at
`ca_file` so the client trusts it. `fail_next` scripts answers to the next
DATA commands (a "451" to defer, a "554" to refuse).
"""

from __future__ import annotations

import datetime
import email
import email.policy
import ipaddress
import socket
import ssl
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

    async def handle_DATA(self, smtp, session, envelope) -> str:
        if self.server.scripted:
            return self.server.scripted.pop(0)
        raw = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        self.server.messages.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), parsed, raw)
        )
        return "250 2.0.0 OK: queued"


class SmtpServer:
    def __init__(self, folder: Path, user: str = USER, password: str = PASSWORD) -> None:
        self.ca_file, key_file = make_certificate(folder)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, key_file)
        self.user, self.password = user, password
        self.messages: list[Received] = []
        self.scripted: list[str] = []
        self.logins: list[str] = []
        self.port = _free_port()
        self._controller = Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context,
            require_starttls=True,
            authenticator=self._authenticate,
            auth_require_tls=True,
            auth_required=True,
        )

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            self.logins.append(login)
            if (login, password) == (self.user, self.password):
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def fail_next(self, *answers: str) -> None:
        self.scripted.extend(answers)

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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
