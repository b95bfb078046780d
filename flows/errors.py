"""The one exception type a user may see, and helpers that keep secrets out of it."""

from __future__ import annotations


class KratomWatchError(Exception):
    """A problem the user can act on: bad input, a bad setting, a failing service.

    The CLI prints its message as one line and exits non-zero; a flow run ends
    Failed with it as the state message. Messages never contain secrets.
    """


class SettingsError(KratomWatchError):
    """A missing or invalid setting, found at start-up."""


class PubMedError(KratomWatchError):
    """E-utilities could not give a usable answer, after any retries."""


class StoreError(KratomWatchError):
    """The store file cannot be opened or written."""
