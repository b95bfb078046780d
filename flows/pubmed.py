"""PubMed access through NCBI E-utilities with Biopython's Bio.Entrez.

Bio.Entrez builds every request; we decide where it goes and how it is
retried. Biopython hard-codes NCBI's base URL, retries 429/5xx at once without
waiting, passes no timeout and reads the body outside its retry loop (see
docs/field-notes.md), so:

- Entrez.urlopen is replaced once by `_route`, which sends the request to the
  configured base URL (KRATOM_WATCH_EUTILS_URL) after a pacer that holds every
  thread and process of the user to NCBI's rate limit;
- Entrez.max_tries is 1 and `EutilsClient._call` retries instead, reading the
  whole body inside the loop, with exponential backoff, jitter and Retry-After.

An answer is bounded in time and size, whatever the server does. The socket
timeout applies to each read, so a server that drips a byte a second would never
trip it: each attempt also has a deadline for the whole answer (connecting,
headers, body: KRATOM_WATCH_TIMEOUT), after which its socket is shut down. The
body is read in chunks up to KRATOM_WATCH_MAX_ANSWER_MB; a larger answer is a
permanent error (the same request gets the same answer).

The pace is kept in a private per-user folder (`_Pacer`); what another user,
or a stray file, leaves at its path is never followed nor trusted.

Errors never carry the request URL, since it holds the API key; whatever a
server echoes back is cleared of the key, in every spelling, before it is cut
to fit a message. fetch_batch and fetch_ids return the efetch answer as bytes;
reading it is flows.parse's job.
"""

from __future__ import annotations

import contextlib
import contextvars
import email.utils
import errno
import fcntl
import html
import http.client
import io
import logging
import os
import re
import socket
import stat
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

from flows.backoff import retry_delay
from flows.deadline import Deadline
from flows.errors import PubMedError
from flows.parse import is_pmid
from flows.settings import NCBI_EUTILS_URL, Settings

log = logging.getLogger("kratom_watch.pubmed")
T = TypeVar("T")

# ESearch lists at most this many ids, whatever retmax asks for (NCBI documents
# 10,000; live answers have been seen to stop at 9,999, so stay below both).
ESEARCH_MAX_IDS = 9_999
MAX_ATTEMPTS = 5
MAX_RETRY_AFTER = 120.0
# An error page is read only for its gist; NCBI's are well under a kilobyte.
ERROR_PAGE_BYTES = 1 << 20
_CHUNK = 1 << 20
# Longest server text quoted in a message, after the key is taken out of it.
_QUOTED_CHARS = 120

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
    leave lives in a small file, read and written under an exclusive lock. A
    request claims its turn only when that time has come, and sets the next one
    from the moment it claimed: a waiter that wakes up late (a busy machine)
    delays the requests after it instead of sending two of them closer together
    than `interval`.

    The file lives in a folder of the user's own (created 0700; used only if it
    is a real folder, owned by the user and closed to others) and is opened
    without following a link, without blocking on a FIFO, and used only if it is
    a regular file of the user's. Anything else there, or a file that cannot be
    opened, makes this process pace its own requests (one warning): a run never
    stops for it. A time in the file that is not a plain number, or lies further
    ahead than any request could have set, counts as no time at all.
    """

    def __init__(self, directory: Path) -> None:
        self.path = directory / "pacing"
        self._lock = threading.Lock()
        self._free_at = 0.0  # this process's own pace: all there is when the file is unusable
        self._warned = False

    def wait(self, interval: float) -> None:
        while True:
            with self._lock:
                now = time.time()
                free_at = self._claim(now, interval)
            if free_at is None:
                return
            time.sleep(free_at - now)

    def _claim(self, now: float, interval: float) -> float | None:
        """Take the turn if it has come (None), else say when it comes."""
        slot = None
        try:
            slot = _open_private_file(self.path)
            fcntl.flock(slot, fcntl.LOCK_EX)
            shared = _read_time(slot)
        except (OSError, _Unsafe) as error:
            self._cannot_use(error)
            shared = None
        try:
            free_at = max(self._free_at, shared or 0.0)
            # No request sets a time further ahead than its interval: the clock went back,
            # or someone wrote there.
            if free_at > now + interval + _PACE_SLACK:
                free_at = now
            if free_at > now:
                return free_at
            self._free_at = now + interval
            if slot is not None:
                try:
                    _write_time(slot, self._free_at)
                except OSError as error:
                    self._cannot_use(error)
            return None
        finally:
            if slot is not None:
                os.close(slot)  # and with it the lock

    def _cannot_use(self, error: OSError | _Unsafe) -> None:
        if self._warned:
            return
        self._warned = True
        log.warning(
            "the pacing file %s cannot be used (%s): this process paces its own requests "
            "only, so another kratom-watch run at the same time may go over NCBI's rate limit",
            self.path,
            error if isinstance(error, _Unsafe) else _os_reason(error),
        )


# How far past now + interval a time in the pacing file may lie and still be believed
# (the intervals of runs with and without a key differ by 0.33 s).
_PACE_SLACK = 2.0
_TIME = re.compile(rb"\s*[0-9]{1,12}(?:\.[0-9]{1,9})?\s*")


class _Unsafe(Exception):
    """What was found at the pacing file's path is not ours to use."""


def _open_private_file(path: Path) -> int:
    """path (in a folder of the user's own, made 0700 if missing) opened read-write."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(path.parent, 0o700)
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        _check_own(os.fstat(folder), f"the folder {path.parent}", 0o077)
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        slot = os.open(path.name, flags, 0o600, dir_fd=folder)
    finally:
        os.close(folder)
    try:
        found = os.fstat(slot)
        if not stat.S_ISREG(found.st_mode):
            raise _Unsafe(f"{path.name} is not a regular file")
        _check_own(found, path.name, 0o022)
    except BaseException:
        os.close(slot)
        raise
    return slot


def _check_own(found: os.stat_result, what: str, closed_bits: int) -> None:
    if found.st_uid != os.getuid():
        raise _Unsafe(f"{what} belongs to another user")
    if found.st_mode & closed_bits:
        raise _Unsafe(f"{what} is open to other users (mode {stat.S_IMODE(found.st_mode):o})")


def _os_reason(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "a symbolic link is in its place"
    if error.errno == errno.EISDIR:
        return "a folder is in its place"
    if error.errno == errno.ENOTDIR:
        return "its folder is not a folder"
    return error.strerror or type(error).__name__


def _read_time(slot: int) -> float | None:
    text = os.pread(slot, 64, 0)
    return float(text) if _TIME.fullmatch(text) else None


def _write_time(slot: int, value: float) -> None:
    os.ftruncate(slot, 0)
    os.pwrite(slot, f"{value:.6f}".encode(), 0)


# In the temp folder (TMPDIR) rather than XDG_RUNTIME_DIR: a run started by cron or a
# systemd timer often has no XDG_RUNTIME_DIR, and it must find the same file as a run
# started from a login shell. The tests give each xdist worker its own TMPDIR.
_PACER = _Pacer(Path(tempfile.gettempdir()) / f"kratom-watch-{os.getuid()}")


@dataclass(frozen=True)
class _Route:
    base_url: str
    timeout: float
    interval: float


_current_route: contextvars.ContextVar[_Route | None] = contextvars.ContextVar(
    "kratom_watch_route", default=None
)


def _route(request: urllib.request.Request, *args, **kwargs):
    """Stand-in for Bio.Entrez.urlopen: same request, our base URL, pacing and deadline."""
    route = _current_route.get()
    if route is None:  # Entrez used outside EutilsClient: leave it untouched.
        return urllib.request.urlopen(request, *args, **kwargs)
    if request.full_url.startswith(NCBI_EUTILS_URL):
        request.full_url = route.base_url + request.full_url[len(NCBI_EUTILS_URL) :]
    _PACER.wait(route.interval)
    deadline = _current_deadline.get()
    if deadline is not None and not deadline.armed:
        deadline.arm(route.timeout)  # from when the request may leave, not from the queue
    return _OPENER.open(request, timeout=route.timeout)


Entrez.urlopen = _route
Entrez.max_tries = 1  # our _call retries, with backoff


_current_deadline: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "kratom_watch_deadline", default=None
)


def _watched_connection(address, timeout, source_address=None) -> socket.socket:
    sock = socket.create_connection(address, timeout, source_address)
    deadline = _current_deadline.get()
    if deadline is not None:
        deadline.watch(sock)
    return sock


class _Watched:
    """An http.client connection whose socket the current attempt's deadline can stop."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _watched_connection


class _HTTPConnection(_Watched, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_Watched, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_HTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_HTTPSConnection, req, context=self._context)


# urlopen's own opener (proxies from the environment, redirects, the default TLS context)
# with connections the deadline can stop.
_OPENER = urllib.request.build_opener(_HTTPHandler, _HTTPSHandler)


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


def window_term(query: str, since: date, until: date, field: str = "crdt") -> str:
    """The PubMed search for `query` over since..until (both days included) on a date field:
    [crdt] the record's creation in PubMed, [mdat] its last modification."""
    return f'({query}) AND ("{since:%Y/%m/%d}"[{field}] : "{until:%Y/%m/%d}"[{field}])'


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
        self._secret = _spellings(api_key.reveal()) if api_key else None
        self._longest_spelling = _LONGEST_SPELLING * len(api_key.reveal()) if api_key else 0
        self._limit = settings.answer_limit
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
        term = window_term(query, since, until, "crdt")
        return self._call(
            "search",
            lambda: Entrez.esearch(
                db="pubmed", term=term, usehistory="y", retmax=ESEARCH_MAX_IDS, **self._identity
            ),
            _parse_search,
        )

    def search_modified(self, query: str, since: date, until: date) -> SearchResult:
        """PMIDs matching `query` whose PubMed record changed from `since` to `until` ([mdat])."""
        term = window_term(query, since, until, "mdat")
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
                        delay = retry_delay(self.backoff, attempt)
                    log.warning("%s: %s; retrying in %.1f s", name, failure.reason, delay)
                    time.sleep(delay)
        finally:
            _current_route.reset(token)
        raise AssertionError("unreachable")

    def _attempt(self, name: str, open_request: Callable, parse: Callable[[bytes], T]) -> T:
        try:
            return self._read_and_parse(name, open_request, parse)
        except (PubMedError, _Transient) as error:
            # Server text is quoted already cleared of the key (and only then cut); this is
            # the last look, over the whole message.
            message = self._redact(str(error))
            if message != str(error):
                error.args = (message,)
                if isinstance(error, _Transient):
                    error.reason = message
            raise

    def _redact(self, text: str) -> str:
        text = _API_KEY_PARAMETER.sub("api_key=***", text)
        return self._secret.sub("***", text) if self._secret else text

    def _quote(self, text: str) -> str:
        """Server text fit for a one-line message: key out first, then whitespace, then cut."""
        text = " ".join(self._redact(text).split())
        return text if len(text) <= _QUOTED_CHARS else text[: _QUOTED_CHARS - 3] + "..."

    def _read_and_parse(self, name: str, open_request: Callable, parse: Callable[[bytes], T]) -> T:
        body = self._read(name, open_request)
        # An efetch answer is read whole by the caller, so an <ERROR> anywhere in it is
        # quoted here, where the key is known; in XML text "<" is always escaped, so the
        # tag cannot be part of an article.
        head = body if name == "fetch" else body[:4000]
        if b"<ERROR>" in head:
            raise _answer_error(name, self._error_message(body))
        try:
            return parse(body)
        except MalformedAnswer as error:
            raise _Transient(str(error)) from None

    def _read(self, name: str, open_request: Callable) -> bytes:
        """The body of one request, within the deadline and the size limit."""
        deadline = Deadline()
        token = _current_deadline.set(deadline)
        try:
            try:
                with open_request() as handle:
                    body = _read_body(handle, self._limit)
            except urllib.error.HTTPError as error:
                if error.code == 429 or error.code >= 500:
                    raise _Transient(f"HTTP {error.code}", _retry_after(error.headers)) from None
                page = _read_error_page(error)
                if deadline.expired:
                    raise self._late() from None
                message = self._error_message(page) if page.strip() else ""
                message = message or self._quote(str(error.reason))
                raise _answer_error(name, message, f"HTTP {error.code}: ") from None
            except _TooLarge:
                raise PubMedError(
                    f"PubMed {name} answer is larger than {self._limit / 1e6:g} MB "
                    "(KRATOM_WATCH_MAX_ANSWER_MB): raise it, or lower KRATOM_WATCH_BATCH_SIZE "
                    "if the records are that large"
                ) from None
            except (OSError, http.client.HTTPException) as error:
                if deadline.expired:
                    raise self._late() from None
                raise _transport_failure(error, self._route.timeout) from None
            if deadline.expired:  # an answer without a length looks complete when cut off
                raise self._late()
            return body
        finally:
            deadline.finish()
            _current_deadline.reset(token)

    def _late(self) -> _Transient:
        return _Transient(f"no complete answer within {self._route.timeout:g} s")

    def _error_message(self, body: bytes) -> str:
        """NCBI's <ERROR> text, or the gist of an answer that is not E-utilities XML."""
        found = _ERROR_TEXT.search(body)
        if found and found.group(1).strip():
            return self._quote(html.unescape(self._excerpt(found.group(1))))
        text = _TAG.sub(" ", self._excerpt(body))
        return f"an answer that is not E-utilities XML ({self._quote(text)})"

    def _excerpt(self, raw: bytes) -> str:
        """The start of `raw` as text, short enough to redact at once. When it is cut, its
        last characters go too: the start of a key that the cut split could be there."""
        if len(raw) <= _EXCERPT_BYTES:
            return raw.decode("utf-8", "replace")
        text = raw[:_EXCERPT_BYTES].decode("utf-8", "replace")
        return text[: -self._longest_spelling] if self._secret else text


class _TooLarge(Exception):
    """The answer is longer than the limit."""


def _read_body(handle, limit: int) -> bytes:
    """The whole body, at most `limit` bytes: read in chunks when its length is not said."""
    if isinstance(handle, io.TextIOWrapper):  # Biopython wraps answers sent as text/plain
        handle = handle.buffer
    declared = getattr(handle, "length", None)  # Content-Length, when the server sent one
    if declared is not None:
        if declared > limit:
            raise _TooLarge  # not worth reading
        return handle.read()  # exactly that much, in one piece (IncompleteRead if cut off)
    buffer = io.BytesIO()  # getvalue() hands over its buffer: the body is not copied
    while chunk := handle.read(_CHUNK):
        buffer.write(chunk)
        if buffer.tell() > limit:
            raise _TooLarge
    return buffer.getvalue()


def _read_error_page(error: urllib.error.HTTPError) -> bytes:
    try:
        return error.read(ERROR_PAGE_BYTES) or b""
    except (OSError, http.client.HTTPException):
        return b""


def _transport_failure(error: OSError | http.client.HTTPException, timeout: float) -> _Transient:
    if isinstance(error, urllib.error.URLError):
        return _Transient(f"cannot reach E-utilities ({_reason(error.reason)})")
    if isinstance(error, http.client.IncompleteRead):
        return _Transient("the answer was cut off mid-body")
    if isinstance(error, TimeoutError):
        return _Transient(f"no answer within {timeout:g} s")
    return _Transient(f"connection failed ({type(error).__name__})")


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
    count = (root.findtext("Count") or "").strip()
    webenv = root.findtext("WebEnv")
    query_key = root.findtext("QueryKey")
    # ASCII digits only: str.isdigit() takes "²", which int() then refuses.
    if not _COUNT.fullmatch(count) or not webenv or not query_key:
        raise MalformedAnswer("esearch answered without a valid Count, WebEnv and QueryKey")
    pmids = tuple((e.text or "").strip() for e in root.iterfind("IdList/Id"))
    odd = next((pmid for pmid in pmids if not is_pmid(pmid)), None)
    if odd is not None:
        raise MalformedAnswer(f"esearch listed {odd[:20]!r}, which is not a PMID")
    if int(count) > ESEARCH_MAX_IDS:
        raise WindowTooLarge(int(count))
    if len(pmids) != int(count):
        raise MalformedAnswer(f"esearch counted {count} records but listed {len(pmids)}")
    return SearchResult(count=int(count), webenv=webenv, query_key=query_key, pmids=pmids)


_COUNT = re.compile(r"[0-9]{1,12}")
# The parameter as sent, URL-encoded and encoded twice; the value ends where the next
# parameter starts ("&", "%26", "%2526"): an NCBI key has letters and digits only.
_API_KEY_PARAMETER = re.compile(r"api_key(?:=|%3D|%253D)[^&\s\"'<>%]*", re.I)
_TAG = re.compile(r"<[^>]*>")
# Server text is read this far for a message; NCBI's <ERROR> texts are one short line.
_EXCERPT_BYTES = 1 << 16
_ERROR_TEXT = re.compile(rb"<ERROR>([^<]{0,%d})" % (_EXCERPT_BYTES + 1))


def _spellings(secret: str) -> re.Pattern[str]:
    """The secret as a server may echo it: as sent, percent-encoded once or twice, or as
    HTML character references, character by character in any mix."""

    def spellings(char: str) -> str:
        code = ord(char)
        hex_code = f"(?i:{code:02x})"
        return (
            f"(?:{re.escape(char)}|%(?:25)?{hex_code}|&#0{{0,3}}{code};|&#[xX]0{{0,3}}{hex_code};)"
        )

    return re.compile("".join(spellings(char) for char in secret))


_LONGEST_SPELLING = len("&#000122;")  # of one character of a key (letters and digits)


def _retry_after(headers) -> float | None:
    """Retry-After in seconds, given as seconds or as an HTTP date (RFC 9110)."""
    value = (headers.get("Retry-After") or "").strip() if headers else ""
    if _COUNT.fullmatch(value):
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
