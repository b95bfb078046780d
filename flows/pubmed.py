"""PubMed access through NCBI E-utilities with Biopython's Bio.Entrez.

Bio.Entrez builds every request; we decide where it goes and how it is
retried. Biopython hard-codes NCBI's base URL, retries 429/5xx at once without
waiting, passes no timeout and reads the body outside its retry loop (see
field-notes), so:

- Entrez.urlopen is replaced once by `_route`, which sends the request to the
  configured base URL (KRATOM_WATCH_EUTILS_URL) with a timeout, after a
  process-wide pacer that holds every thread to NCBI's rate limit;
- Entrez.max_tries is 1 and `EutilsClient._call` retries instead, reading the
  whole body inside the loop, with exponential backoff, jitter and Retry-After.

Errors never carry the request URL: it holds the API key.
"""

from __future__ import annotations

import contextvars
import email.utils
import fcntl
import http.client
import logging
import os
import random
import re
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TypeVar

from Bio import Entrez
from lxml import etree

from flows.errors import PubMedError
from flows.settings import NCBI_EUTILS_URL, Settings

log = logging.getLogger("kratom_watch.pubmed")
T = TypeVar("T")

# ESearch lists at most this many ids, whatever retmax asks for (NCBI documents
# 10,000; live answers have been seen to stop at 9,999, so stay below both).
ESEARCH_MAX_IDS = 9_999
MAX_ATTEMPTS = 5
MAX_RETRY_AFTER = 120.0

# <ERROR> messages NCBI sends when its own back end hiccups; worth a retry.
_TRANSIENT_MESSAGES = ("backend failed", "pubone", "temporarily unavailable", "try again")


@dataclass(frozen=True)
class SearchResult:
    count: int
    webenv: str
    query_key: str
    pmids: tuple[str, ...]


class _Pacer:
    """At most one request per `interval` seconds across every thread and process of the user.

    NCBI counts requests per user, so a scheduled run and a manual rerun at
    the same time must share one pace: the time before which no request may
    leave lives in a small file under the temp folder, read and written under
    an exclusive lock. A request claims its turn only when that time has come,
    and sets the next one from the moment it claimed: a waiter that wakes up
    late (a busy machine) delays the requests after it instead of sending two
    of them closer together than `interval`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def wait(self, interval: float) -> None:
        while True:
            with self._lock, open(self.path, "a+", encoding="ascii") as slot:
                fcntl.flock(slot, fcntl.LOCK_EX)
                slot.seek(0)
                try:
                    free_at = float(slot.read() or 0)
                except ValueError:
                    free_at = 0.0
                now = time.time()
                if free_at - now > 60:  # the clock went back, or a stray file: start afresh
                    free_at = now
                if free_at <= now:
                    slot.seek(0)
                    slot.truncate()
                    slot.write(repr(now + interval))
                    slot.flush()
                    return
            time.sleep(free_at - now)


_PACER = _Pacer(Path(tempfile.gettempdir()) / f"kratom-watch-pacing-{os.getuid()}")


@dataclass(frozen=True)
class _Route:
    base_url: str
    timeout: float
    interval: float


_current_route: contextvars.ContextVar[_Route | None] = contextvars.ContextVar(
    "kratom_watch_route", default=None
)


def _route(request: urllib.request.Request, *args, **kwargs):
    """Stand-in for Bio.Entrez.urlopen: same request, our base URL, pacing and timeout."""
    route = _current_route.get()
    if route is None:  # Entrez used outside EutilsClient: leave it untouched.
        return urllib.request.urlopen(request, *args, **kwargs)
    if request.full_url.startswith(NCBI_EUTILS_URL):
        request.full_url = route.base_url + request.full_url[len(NCBI_EUTILS_URL) :]
    _PACER.wait(route.interval)
    return urllib.request.urlopen(request, timeout=route.timeout)


Entrez.urlopen = _route
Entrez.max_tries = 1  # our _call retries, with backoff


class _Transient(Exception):
    """A failure worth another attempt; `wait` is the server's Retry-After if it sent one."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


class WindowTooLarge(PubMedError):
    """More records than ESearch lists; the caller searches shorter windows."""

    def __init__(self, count: int) -> None:
        super().__init__(
            f"the window matches {count} records, more than the {ESEARCH_MAX_IDS} ESearch lists"
        )
        self.count = count


class WebEnvExpired(PubMedError):
    """The history server forgot our search; search again."""


class EutilsClient:
    def __init__(
        self,
        settings: Settings,
        *,
        backoff: float | None = None,
        max_attempts: int = MAX_ATTEMPTS,
    ):
        self.settings = settings
        self.backoff = settings.retry_backoff if backoff is None else backoff
        self.max_attempts = max_attempts
        api_key = settings.ncbi_api_key
        self._route = _Route(
            base_url=settings.eutils_url,
            timeout=settings.timeout,
            # NCBI allows 3 requests/s without a key, 10 with one, counted as they arrive.
            # Requests leave at these intervals but can arrive late by a scheduling hiccup
            # here or a slow link: 4 requests span 1.35 s (a 0.35 s margin; at 0.4 s, two
            # runs at once on a busy machine were once seen 4 in a second), 11 span 1.2 s.
            interval=0.12 if api_key else 0.45,
        )
        self._secret = api_key.reveal() if api_key else None
        self._identity = {
            "tool": settings.ncbi_tool,
            "email": settings.ncbi_email,
            "api_key": api_key.reveal() if api_key else None,
        }

    def search_window(self, query: str, since: date, until: date) -> SearchResult:
        """All PMIDs matching `query` that were created in PubMed from `since` to `until`.

        The window is on [crdt], the date the record was created in PubMed,
        both days included; the search is kept on the history server.
        """
        term = f'({query}) AND ("{since:%Y/%m/%d}"[crdt] : "{until:%Y/%m/%d}"[crdt])'
        return self._call(
            "search",
            lambda: Entrez.esearch(
                db="pubmed", term=term, usehistory="y", retmax=ESEARCH_MAX_IDS, **self._identity
            ),
            _parse_search,
        )

    def search_modified(self, query: str, since: date, until: date) -> SearchResult:
        """PMIDs matching `query` whose PubMed record changed from `since` to `until` ([mdat])."""
        term = f'({query}) AND ("{since:%Y/%m/%d}"[mdat] : "{until:%Y/%m/%d}"[mdat])'
        return self._call(
            "search",
            lambda: Entrez.esearch(
                db="pubmed", term=term, usehistory="y", retmax=ESEARCH_MAX_IDS, **self._identity
            ),
            _parse_search,
        )

    def fetch_batch(self, search: SearchResult, start: int, size: int) -> bytes:
        """Records start..start+size of a search, in one efetch from the history server:
        the answer as PubMed sent it (flows.parse reads it)."""
        return self._call(
            "fetch",
            lambda: Entrez.efetch(
                db="pubmed",
                WebEnv=search.webenv,
                query_key=search.query_key,
                retstart=start,
                retmax=size,
                retmode="xml",
                **self._identity,
            ),
            _efetch_answer,
        )

    def fetch_ids(self, pmids: list[str]) -> bytes:
        """Records by PMID (Biopython POSTs long id lists, as NCBI asks): the answer."""
        return self._call(
            "fetch",
            lambda: Entrez.efetch(db="pubmed", id=",".join(pmids), retmode="xml", **self._identity),
            _efetch_answer,
        )

    def _call(self, name: str, open_request: Callable, parse: Callable[[bytes], T]) -> T:
        """Open, read and parse one E-utilities request, retrying transient failures."""
        token = _current_route.set(self._route)
        try:
            for attempt in range(1, self.max_attempts + 1):
                try:
                    return self._attempt(name, open_request, parse)
                except _Transient as failure:
                    if attempt == self.max_attempts:
                        raise PubMedError(
                            f"PubMed {name} failed after {attempt} attempts: {failure.reason}"
                        ) from None
                    delay = failure.wait
                    if delay is None:
                        delay = self.backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)
                    log.warning("%s: %s; retrying in %.1f s", name, failure.reason, delay)
                    time.sleep(delay)
        finally:
            _current_route.reset(token)
        raise AssertionError("unreachable")

    def _attempt(self, name: str, open_request: Callable, parse: Callable[[bytes], T]) -> T:
        try:
            return self._read_and_parse(name, open_request, parse)
        except (PubMedError, _Transient) as error:
            # Messages quote what the server said, and a server may echo the request URL.
            message = self._redact(str(error))
            if message != str(error):
                error.args = (message,)
                if isinstance(error, _Transient):
                    error.reason = message
            raise

    def _redact(self, text: str) -> str:
        text = _API_KEY_PARAMETER.sub("api_key=***", text)
        return text.replace(self._secret, "***") if self._secret else text

    def _read_and_parse(self, name: str, open_request: Callable, parse: Callable[[bytes], T]) -> T:
        try:
            with open_request() as handle:
                body = handle.read()
        except urllib.error.HTTPError as error:
            if error.code == 429 or error.code >= 500:
                raise _Transient(f"HTTP {error.code}", _retry_after(error.headers)) from None
            message = _error_message(error.read() or b"") or str(error.reason)
            raise _answer_error(name, message, f"HTTP {error.code}: ") from None
        except urllib.error.URLError as error:
            raise _Transient(f"cannot reach E-utilities ({_reason(error.reason)})") from None
        except http.client.IncompleteRead:
            raise _Transient("the answer was cut off mid-body") from None
        except TimeoutError:
            raise _Transient(f"no answer within {self._route.timeout:g} s") from None
        except (ConnectionError, http.client.HTTPException) as error:
            raise _Transient(f"connection failed ({type(error).__name__})") from None
        head = body[:4000]
        if b"<ERROR>" in head and b"<PubmedArticle" not in head:
            raise _answer_error(name, _error_message(body))
        try:
            return parse(body)
        except MalformedAnswer as error:
            raise _Transient(str(error)) from None


class MalformedAnswer(PubMedError):
    """An answer that is not the XML it should be; worth another attempt."""


def _answer_error(name: str, message: str, prefix: str = "") -> Exception:
    """What an NCBI <ERROR> means: retry, search again, or give up and say why."""
    lowered = message.lower()
    if any(m in lowered for m in _TRANSIENT_MESSAGES):
        return _Transient(f"NCBI error: {message}")
    if "unable to obtain query" in lowered or "webenv" in lowered:
        return WebEnvExpired(f"the search expired on NCBI's history server ({message})")
    return PubMedError(f"PubMed rejected the {name}: {prefix}{message}")


def _efetch_answer(body: bytes) -> bytes:
    # An efetch answer is read by the caller (flows.parse), article by article; what is
    # checked here is only what makes it worth another request at once.
    if not body.strip():
        raise MalformedAnswer("efetch answered an empty body")
    return body


def _parse_search(body: bytes) -> SearchResult:
    try:
        root = etree.fromstring(body, etree.XMLParser(load_dtd=False, no_network=True))
    except etree.XMLSyntaxError as error:
        raise MalformedAnswer(f"esearch answered malformed XML: {error}") from None
    count = root.findtext("Count")
    webenv = root.findtext("WebEnv")
    query_key = root.findtext("QueryKey")
    if count is None or not count.isdigit() or not webenv or not query_key:
        raise MalformedAnswer("esearch answered without Count, WebEnv and QueryKey")
    pmids = tuple((e.text or "").strip() for e in root.iterfind("IdList/Id"))
    if int(count) > ESEARCH_MAX_IDS:
        raise WindowTooLarge(int(count))
    if len(pmids) != int(count):
        raise MalformedAnswer(f"esearch counted {count} records but listed {len(pmids)}")
    return SearchResult(count=int(count), webenv=webenv, query_key=query_key, pmids=pmids)


_API_KEY_PARAMETER = re.compile(r"api_key=[^&\s\"'<>]*")
_TAG = re.compile(r"<[^>]*>")


def _error_message(body: bytes) -> str:
    """NCBI's <ERROR> text, or the gist of an answer that is not E-utilities XML."""
    try:
        parser = etree.XMLParser(load_dtd=False, no_network=True, recover=True)
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError:
        root = None
    if root is not None:
        found = root.findtext(".//ERROR") if root.tag != "ERROR" else root.text
        if found:
            return _API_KEY_PARAMETER.sub("api_key=***", " ".join(found.split()))
    text = " ".join(_TAG.sub(" ", body[:400].decode("utf-8", "replace")).split())[:120]
    return _API_KEY_PARAMETER.sub("api_key=***", f"an answer that is not E-utilities XML ({text})")


def _retry_after(headers) -> float | None:
    """Retry-After in seconds, given as seconds or as an HTTP date (RFC 9110)."""
    value = (headers.get("Retry-After") or "").strip() if headers else ""
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - datetime.now(UTC)).total_seconds()), MAX_RETRY_AFTER)


def _reason(reason: object) -> str:
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return type(reason).__name__
