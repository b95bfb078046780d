"""Which Prefect server a run talks to, checked before Prefect is asked to start a run.

Prefect itself answers an unreachable PREFECT_API_URL with a 100-line traceback, and serves a
schedule on its temporary server, where it never fires; both are refused here in one line.
"""

from __future__ import annotations

import urllib.error
import urllib.request

from flows.errors import KratomWatchError


def api_url() -> str | None:
    """PREFECT_API_URL as Prefect sees it (environment or profile), or None."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


def check_server(*, required: bool, timeout: float = 5.0) -> None:
    """Fail in one line when a configured server does not answer, or none is configured
    but one is `required` (schedules fire only on a real Prefect server)."""
    url = api_url()
    if url is None:
        if required:
            raise KratomWatchError(
                "schedules need a running Prefect server: start one (prefect server start) "
                "and set PREFECT_API_URL=http://127.0.0.1:4200/api, or use Prefect Cloud"
            )
        return
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=timeout) as answer:
            answer.read(100)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise KratomWatchError(
            f"no Prefect server answers at PREFECT_API_URL={url} ({reason}): start it "
            "(prefect server start), or unset PREFECT_API_URL to run on a temporary server"
        ) from None
