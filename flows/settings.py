"""Settings, read once from the environment and passed explicitly.

Every setting has one environment variable (or key of the TOML config file); a
missing required setting, a malformed value, a name that is no setting (a typo
such as KRATOM_WATCH_BATCHSIZE, said with the closest known name) or a config
file that is not UTF-8 TOML is a SettingsError at start-up, not a failure deep
in a scheduled run. A setting set to nothing means its default, except the
query: an empty KRATOM_WATCH_QUERY is a mistake, not a wish for the default.

Secrets are held in `Secret`, which never prints itself. A config file holding
the SMTP password that others may read or write is warned about, and the
password is refused on an unencrypted connection to another machine.
"""

from __future__ import annotations

import difflib
import ipaddress
import logging
import math
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flows.errors import SettingsError

log = logging.getLogger("kratom_watch.settings")

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
    ' OR "Mood Disorders"[MeSH Terms] OR "Suicide"[MeSH Terms]'
    " OR depression[tiab] OR depressive[tiab] OR antidepressant*[tiab] OR mood[tiab]"
    " OR dysphoria[tiab] OR anhedonia[tiab] OR suicid*[tiab])"
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
        "KRATOM_WATCH_BASE_URL",
        "KRATOM_WATCH_TIMEZONE",
        "KRATOM_WATCH_BATCH_SIZE",
        "KRATOM_WATCH_TIMEOUT",
        "KRATOM_WATCH_MAX_ANSWER_MB",
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
# Names of ours that are no run setting, read from the environment only: the config file
# (which cannot name itself), and the folder the browser tests write screenshots to.
ENVIRONMENT_ONLY = frozenset({"KRATOM_WATCH_CONFIG", "KRATOM_WATCH_SCREENSHOTS"})
# Settings that are gone: still set somewhere, they do no harm, so a warning says so.
RETIRED = {
    "KRATOM_WATCH_WORKERS": "answers are read in the run's own process since 2026-12",
}
# The default answer limit: 50 kB for each record a batch asks for (2.3 times the
# 22 kB real records average, above the 44 kB of the largest recorded one), and never
# under 16 MB, which holds any one record.
ANSWER_BYTES_PER_RECORD = 50_000
MIN_ANSWER_MB = 16


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
    base_url: str | None = None  # where reports/ is served, ending in "/": absolute links
    timezone: str = "UTC"
    batch_size: int = 500
    timeout: float = 60.0  # for a whole E-utilities answer, from connecting to the last byte
    max_answer_mb: int | None = None  # None: by batch size (`answer_limit`)
    retry_backoff: float = 1.0  # first retry delay in seconds; doubles each attempt
    store_timeout: float = 30.0  # how long to wait for another writer to release the store
    mail: MailSettings | None = None
    schedule: Schedule = Schedule()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def answer_limit(self) -> int:
        """The most bytes an E-utilities answer may have."""
        if self.max_answer_mb is not None:
            return self.max_answer_mb * 1_000_000
        return 1_000_000 * default_answer_mb(self.batch_size)


def default_answer_mb(batch_size: int) -> int:
    """25 MB for the default batch of 500 records, 500 MB for the largest, 10,000."""
    return max(MIN_ANSWER_MB, math.ceil(batch_size * ANSWER_BYTES_PER_RECORD / 1_000_000))


def load_settings(env: Mapping[str, str] | None = None, *, require_email: bool = True) -> Settings:
    """Build Settings from environment variables (os.environ by default).

    A TOML config file named by KRATOM_WATCH_CONFIG (or ./kratom-watch.toml
    when present) may hold the same variables; the environment wins.
    """
    env = os.environ if env is None else env
    _check_names((n for n in env if n.startswith("KRATOM_WATCH_")), "the environment")
    config = read_config_file(env)
    # The environment wins, as for every setting; a list in the config file stays a list.
    recipients = env.get("KRATOM_WATCH_MAIL_TO", config.pop("KRATOM_WATCH_MAIL_TO", None))
    env = {**config, **env}

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

    query = DEFAULT_QUERY
    if "KRATOM_WATCH_QUERY" in env:
        query = get("KRATOM_WATCH_QUERY") or ""
        if not query:
            raise SettingsError(
                "KRATOM_WATCH_QUERY is set but empty: give a PubMed query, or unset it for "
                "the default kratom and depression query"
            )
    db_path = get("KRATOM_WATCH_DB") or "kratom-watch.sqlite"
    if db_path == ":memory:":
        raise SettingsError(
            f"KRATOM_WATCH_DB={db_path!r} is not a file: the store must keep papers, runs and "
            "deliveries from one task and run to the next (name a file such as "
            "kratom-watch.sqlite)"
        )
    batch_size = _int_setting(get, "KRATOM_WATCH_BATCH_SIZE", 500, 1, 10_000)
    return Settings(
        ncbi_email=email,
        ncbi_api_key=Secret(api_key) if api_key else None,
        ncbi_tool=get("NCBI_TOOL") or "kratom-watch",
        eutils_url=_base_url(get("KRATOM_WATCH_EUTILS_URL") or NCBI_EUTILS_URL),
        query=query,
        db_path=Path(db_path),
        reports_dir=Path(get("KRATOM_WATCH_REPORTS") or "reports"),
        base_url=reports_url(get("KRATOM_WATCH_BASE_URL")),
        timezone=timezone,
        batch_size=batch_size,
        timeout=float(_int_setting(get, "KRATOM_WATCH_TIMEOUT", 60, 1, 3600)),
        max_answer_mb=_int_setting(
            get, "KRATOM_WATCH_MAX_ANSWER_MB", default_answer_mb(batch_size), 1, 4000
        ),
        retry_backoff=_float_setting(get, "KRATOM_WATCH_RETRY_BACKOFF", 1.0, 0.0, 60.0),
        store_timeout=_float_setting(get, "KRATOM_WATCH_STORE_TIMEOUT", 30.0, 0.0, 3600.0),
        mail=_mail_settings(get, recipients),
        schedule=_schedule(get),
    )


def read_config_file(env: Mapping[str, str]) -> dict[str, str | tuple[str, ...]]:
    """Settings from the TOML config file: the same names as the environment variables.

    Values are strings, except KRATOM_WATCH_MAIL_TO, which may be a list of addresses.
    """
    named = env.get("KRATOM_WATCH_CONFIG", "").strip()
    path = Path(named) if named else Path("kratom-watch.toml")
    if not named and not path.exists():
        return {}
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise SettingsError(f"cannot read the config file {path}: {error.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")  # Notepad's "UTF-8 with BOM" is UTF-8 too
    except UnicodeDecodeError:
        found = "UTF-16 text" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "not UTF-8 text"
        raise SettingsError(
            f"the config file {path} is {found}: save it as UTF-8 (a plain text file)"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"the config file {path} is not valid TOML: {error}") from None
    _check_names(data, f"the config file {path}", allowed=KNOWN_VARIABLES)
    settings: dict[str, str | tuple[str, ...]] = {}
    for key, value in data.items():
        if key == "KRATOM_WATCH_MAIL_TO" and isinstance(value, list):
            if not all(isinstance(item, str) for item in value):
                raise SettingsError(f"{key} in {path} must be a list of addresses (strings)")
            settings[key] = tuple(value)
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            settings[key] = str(value)
        else:
            raise SettingsError(f"{key} in {path} must be a string or a number")
    if "KRATOM_WATCH_SMTP_PASSWORD" in settings:
        _check_private(path)
    return settings


def _check_names(names, where: str, allowed: frozenset[str] | None = None) -> None:
    """A name that is no setting is a typo until shown otherwise; say which one was meant."""
    known = KNOWN_VARIABLES | ENVIRONMENT_ONLY if allowed is None else allowed
    for name in sorted(names):
        if name in known:
            continue
        if name in RETIRED:
            log.warning("%s in %s is no longer used (%s)", name, where, RETIRED[name])
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        hint = f": did you mean {close[0]}?" if close else " (see README: Settings)"
        raise SettingsError(f"{name} in {where} is not a kratom-watch setting{hint}")


def _check_private(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # it was read a moment ago; nothing to say
    if mode & 0o066:  # read or write for group or others
        log.warning(
            "the config file %s holds KRATOM_WATCH_SMTP_PASSWORD and other users can read or "
            "write it (mode %o): chmod 600 %s",
            path,
            stat.S_IMODE(mode),
            path,
        )


def _mail_settings(get, recipients: str | tuple[str, ...] | None) -> MailSettings | None:
    host = get("KRATOM_WATCH_SMTP_HOST")
    if host is None:
        return None
    security = (get("KRATOM_WATCH_SMTP_SECURITY") or "starttls").lower()
    if security not in _SMTP_PORTS:
        raise SettingsError(
            f"KRATOM_WATCH_SMTP_SECURITY={security!r} must be one of ssl, starttls, none"
        )
    sender = get("KRATOM_WATCH_MAIL_FROM")
    listed = recipients if isinstance(recipients, tuple) else (recipients or "").split(",")
    recipients = tuple(r.strip() for r in listed if r.strip())
    if not sender or not recipients:
        raise SettingsError(
            "KRATOM_WATCH_SMTP_HOST is set, so KRATOM_WATCH_MAIL_FROM and KRATOM_WATCH_MAIL_TO "
            "(comma-separated, or a list in the config file) must be set too"
        )
    for address in (sender, *recipients):
        if not _EMAIL.match(address):
            raise SettingsError(f"{address!r} is not an e-mail address")
    password = get("KRATOM_WATCH_SMTP_PASSWORD")
    if password and security == "none":
        _check_clear_text(host)
    return MailSettings(
        host=host,
        port=_int_setting(get, "KRATOM_WATCH_SMTP_PORT", _SMTP_PORTS[security], 1, 65535),
        security=security,
        sender=sender,
        recipients=recipients,
        user=get("KRATOM_WATCH_SMTP_USER"),
        password=Secret(password) if password else None,
    )


def _check_clear_text(host: str) -> None:
    """A password over an unencrypted connection: said for this machine, refused for others.

    On the loopback interface it never leaves the machine (a local relay, the tests' own
    server); to any other host it crosses a network anyone on the way can read.
    """
    if _is_loopback(host):
        log.warning(
            "KRATOM_WATCH_SMTP_PASSWORD goes to %s in clear text (KRATOM_WATCH_SMTP_SECURITY="
            "none); it stays on this machine",
            host,
        )
        return
    raise SettingsError(
        f"KRATOM_WATCH_SMTP_PASSWORD would travel to {host} in clear text "
        "(KRATOM_WATCH_SMTP_SECURITY=none): use starttls or ssl"
    )


def _is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
    return _folder_url(url, "KRATOM_WATCH_EUTILS_URL", "an http(s) base URL", NCBI_EUTILS_URL)


def reports_url(url: str | None) -> str | None:
    """The public address the reports folder is served at, ending in "/"; None when unset."""
    if not url:
        return None
    return _folder_url(
        url,
        "KRATOM_WATCH_BASE_URL",
        "the http(s) address the reports folder is served at",
        "https://example.org/kratom-watch/",
    )


def _folder_url(url: str, name: str, what: str, example: str) -> str:
    """An http(s) address without query or fragment, ending in "/" (names under it follow)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise SettingsError(f"{name}={url!r} is not {what} such as {example}")
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
