"""Settings, read once from the environment and passed explicitly.

Every setting has one environment variable; a missing required setting or a
malformed value is a SettingsError at start-up, not a failure deep in a
scheduled run.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flows.errors import SettingsError

NCBI_EUTILS_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"

# Kratom and its named alkaloids AND the mood/depression vocabulary, each side
# in MeSH and in title/abstract words. "depression" alone also finds
# respiratory depression; the classifier's depression_relevant flag sorts
# those papers out rather than the query dropping them.
DEFAULT_QUERY = (
    '(kratom[tiab] OR "Mitragyna"[MeSH Terms] OR mitragyna[tiab] OR mitragynine[tiab]'
    ' OR "7-hydroxymitragynine"[tiab] OR speciociliatine[tiab] OR paynantheine[tiab]'
    ' OR speciogynine[tiab] OR "mitragynine pseudoindoxyl"[tiab])'
    ' AND ("Depression"[MeSH Terms] OR "Depressive Disorder"[MeSH Terms]'
    ' OR "Antidepressive Agents"[MeSH Terms] OR "Anhedonia"[MeSH Terms] OR "Affect"[MeSH Terms]'
    " OR depression[tiab] OR depressive[tiab] OR antidepressant*[tiab] OR mood[tiab]"
    " OR dysphoria[tiab] OR anhedonia[tiab])"
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SMTP_PORTS = {"ssl": 465, "starttls": 587, "none": 25}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
KNOWN_VARIABLES = frozenset(
    {
        "NCBI_EMAIL",
        "NCBI_API_KEY",
        "NCBI_TOOL",
        "KRATOM_WATCH_EUTILS_URL",
        "KRATOM_WATCH_QUERY",
        "KRATOM_WATCH_DB",
        "KRATOM_WATCH_REPORTS",
        "KRATOM_WATCH_TIMEZONE",
        "KRATOM_WATCH_BATCH_SIZE",
        "KRATOM_WATCH_TIMEOUT",
        "KRATOM_WATCH_RETRY_BACKOFF",
        "KRATOM_WATCH_STORE_TIMEOUT",
        "KRATOM_WATCH_SMTP_HOST",
        "KRATOM_WATCH_SMTP_PORT",
        "KRATOM_WATCH_SMTP_USER",
        "KRATOM_WATCH_SMTP_PASSWORD",
        "KRATOM_WATCH_SMTP_SECURITY",
        "KRATOM_WATCH_MAIL_FROM",
        "KRATOM_WATCH_MAIL_TO",
        "KRATOM_WATCH_SCHEDULE_DAY",
        "KRATOM_WATCH_SCHEDULE_TIME",
        "KRATOM_WATCH_OVERLAP_DAYS",
    }
)


class Secret:
    """A string that never shows itself in repr, str or f-strings."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    security: str  # ssl | starttls | none
    sender: str
    recipients: tuple[str, ...]
    user: str | None = None
    password: Secret | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Schedule:
    day: str = "mon"  # cron day-of-week name
    time: str = "07:00"
    overlap_days: int = 7

    def cron(self) -> str:
        hour, minute = self.time.split(":")
        return f"{int(minute)} {int(hour)} * * {self.day}"


@dataclass(frozen=True)
class Settings:
    ncbi_email: str
    ncbi_api_key: Secret | None = field(default=None, repr=False)
    ncbi_tool: str = "kratom-watch"
    eutils_url: str = NCBI_EUTILS_URL
    query: str = DEFAULT_QUERY
    db_path: Path = Path("kratom-watch.sqlite")
    reports_dir: Path = Path("reports")
    timezone: str = "UTC"
    batch_size: int = 500
    timeout: float = 60.0
    retry_backoff: float = 1.0  # first retry delay in seconds; doubles each attempt
    store_timeout: float = 30.0  # how long to wait for another writer to release the store
    mail: MailSettings | None = None
    schedule: Schedule = Schedule()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_settings(env: Mapping[str, str] | None = None, *, require_email: bool = True) -> Settings:
    """Build Settings from environment variables (os.environ by default).

    A TOML config file named by KRATOM_WATCH_CONFIG (or ./kratom-watch.toml
    when present) may hold the same variables; the environment wins.
    """
    env = os.environ if env is None else env
    env = {**read_config_file(env), **env}

    def get(name: str) -> str | None:
        if name not in KNOWN_VARIABLES:  # keeps the config file's list in step with the code
            raise AssertionError(f"{name} is missing from KNOWN_VARIABLES")
        value = env.get(name, "").strip()
        return value or None

    email = get("NCBI_EMAIL")
    if email is None:
        if require_email:
            raise SettingsError(
                "NCBI_EMAIL is not set: NCBI requires a contact e-mail address with every "
                "E-utilities request (export NCBI_EMAIL=you@example.org)"
            )
        email = ""
    elif not _EMAIL.match(email):
        raise SettingsError(f"NCBI_EMAIL={email!r} is not an e-mail address")

    api_key = get("NCBI_API_KEY")
    if api_key is not None and not re.fullmatch(r"[A-Za-z0-9]+", api_key):
        # Said without the value: the key is a secret even when mistyped.
        raise SettingsError("NCBI_API_KEY has characters an NCBI API key never has")

    timezone = get("KRATOM_WATCH_TIMEZONE") or "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"KRATOM_WATCH_TIMEZONE={timezone!r} is not a known time zone "
            "(use an IANA name such as Europe/Berlin)"
        ) from None

    query = get("KRATOM_WATCH_QUERY") or DEFAULT_QUERY
    return Settings(
        ncbi_email=email,
        ncbi_api_key=Secret(api_key) if api_key else None,
        ncbi_tool=get("NCBI_TOOL") or "kratom-watch",
        eutils_url=_base_url(get("KRATOM_WATCH_EUTILS_URL") or NCBI_EUTILS_URL),
        query=query,
        db_path=Path(get("KRATOM_WATCH_DB") or "kratom-watch.sqlite"),
        reports_dir=Path(get("KRATOM_WATCH_REPORTS") or "reports"),
        timezone=timezone,
        batch_size=_int_setting(get, "KRATOM_WATCH_BATCH_SIZE", 500, 1, 10_000),
        timeout=float(_int_setting(get, "KRATOM_WATCH_TIMEOUT", 60, 1, 3600)),
        retry_backoff=_float_setting(get, "KRATOM_WATCH_RETRY_BACKOFF", 1.0, 0.0, 60.0),
        store_timeout=_float_setting(get, "KRATOM_WATCH_STORE_TIMEOUT", 30.0, 0.0, 3600.0),
        mail=_mail_settings(get),
        schedule=_schedule(get),
    )


def read_config_file(env: Mapping[str, str]) -> dict[str, str]:
    """Settings from the TOML config file: the same names as the environment variables."""
    named = env.get("KRATOM_WATCH_CONFIG", "").strip()
    path = Path(named) if named else Path("kratom-watch.toml")
    if not named and not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SettingsError(f"cannot read the config file {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"the config file {path} is not valid TOML: {error}") from None
    unknown = sorted(k for k in data if k not in KNOWN_VARIABLES)
    if unknown:
        raise SettingsError(f"the config file {path} has unknown settings: {', '.join(unknown)}")
    return {key: str(value) for key, value in data.items()}


def _mail_settings(get) -> MailSettings | None:
    host = get("KRATOM_WATCH_SMTP_HOST")
    if host is None:
        return None
    security = (get("KRATOM_WATCH_SMTP_SECURITY") or "starttls").lower()
    if security not in _SMTP_PORTS:
        raise SettingsError(
            f"KRATOM_WATCH_SMTP_SECURITY={security!r} must be one of ssl, starttls, none"
        )
    sender = get("KRATOM_WATCH_MAIL_FROM")
    recipients = tuple(
        r.strip() for r in (get("KRATOM_WATCH_MAIL_TO") or "").split(",") if r.strip()
    )
    if not sender or not recipients:
        raise SettingsError(
            "KRATOM_WATCH_SMTP_HOST is set, so KRATOM_WATCH_MAIL_FROM and KRATOM_WATCH_MAIL_TO "
            "(comma-separated) must be set too"
        )
    for address in (sender, *recipients):
        if not _EMAIL.match(address):
            raise SettingsError(f"{address!r} is not an e-mail address")
    password = get("KRATOM_WATCH_SMTP_PASSWORD")
    return MailSettings(
        host=host,
        port=_int_setting(get, "KRATOM_WATCH_SMTP_PORT", _SMTP_PORTS[security], 1, 65535),
        security=security,
        sender=sender,
        recipients=recipients,
        user=get("KRATOM_WATCH_SMTP_USER"),
        password=Secret(password) if password else None,
    )


def _schedule(get) -> Schedule:
    day = (get("KRATOM_WATCH_SCHEDULE_DAY") or "mon").lower()[:3]
    if day not in _DAYS:
        raise SettingsError(
            f"KRATOM_WATCH_SCHEDULE_DAY={get('KRATOM_WATCH_SCHEDULE_DAY')!r} is not a weekday"
        )
    at = get("KRATOM_WATCH_SCHEDULE_TIME") or "07:00"
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", at)
    if not match:
        raise SettingsError(f"KRATOM_WATCH_SCHEDULE_TIME={at!r} is not a time such as 07:00")
    return Schedule(
        day=day,
        time=f"{int(match[1]):02d}:{match[2]}",
        overlap_days=_int_setting(get, "KRATOM_WATCH_OVERLAP_DAYS", 7, 0, 90),
    )


def _base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise SettingsError(
            f"KRATOM_WATCH_EUTILS_URL={url!r} is not an http(s) base URL such as {NCBI_EUTILS_URL}"
        )
    return url if url.endswith("/") else url + "/"


def _float_setting(get, name: str, default: float, low: float, high: float) -> float:
    return _number_setting(get, name, default, low, high, float, "a number")


def _int_setting(get, name: str, default: int, low: int, high: int) -> int:
    return _number_setting(get, name, default, low, high, int, "a whole number")


def _number_setting(get, name, default, low, high, kind, described):
    raw = get(name)
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not {described}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={value:g} is outside {low:g}..{high:g}")
    return value


def check_reports_folder(settings: Settings) -> None:
    """Fail at start-up, not after the fetching, when the digest could not be written."""
    folder = settings.reports_dir.resolve()
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        why = f"{existing} is not a folder"
    elif not os.access(existing, os.W_OK | os.X_OK):
        why = f"{existing} is read-only"
    else:
        return
    raise SettingsError(
        f"KRATOM_WATCH_REPORTS={str(settings.reports_dir)!r} cannot be written ({why})"
    )
