"""Settings, read once from the environment and passed explicitly.

Every setting has one environment variable; a missing required setting or a
malformed value is a SettingsError at start-up, not a failure deep in a
scheduled run.
"""

from __future__ import annotations

import os
import re
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

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_settings(env: Mapping[str, str] | None = None, *, require_email: bool = True) -> Settings:
    """Build Settings from environment variables (os.environ by default)."""
    env = os.environ if env is None else env

    def get(name: str) -> str | None:
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
    )


def _base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise SettingsError(
            f"KRATOM_WATCH_EUTILS_URL={url!r} is not an http(s) base URL such as {NCBI_EUTILS_URL}"
        )
    return url if url.endswith("/") else url + "/"


def _int_setting(get, name: str, default: int, low: int, high: int) -> int:
    raw = get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={value} is outside {low}..{high}")
    return value
