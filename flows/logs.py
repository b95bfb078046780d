"""Logging: expected failures read as one line on the console."""

from __future__ import annotations

import logging

from flows.errors import KratomWatchError


class _OneLineForExpectedErrors(logging.Filter):
    """Drop the traceback of a KratomWatchError from console output.

    Such an error already says what went wrong and what to do; its traceback
    is noise to a user (Prefect's API log handler, which runs first, still
    sends it to the Prefect UI for debugging).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], KratomWatchError):
            record.exc_info = None
            record.exc_text = None
        return True


_FILTER = _OneLineForExpectedErrors()


def quiet_expected_tracebacks() -> None:
    """Attach the filter to the console handlers Prefect set up on the root logger."""
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
