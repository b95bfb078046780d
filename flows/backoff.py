"""How long to wait before trying a failed request again: one formula for PubMed and mail."""

from __future__ import annotations

import random


def retry_delay(base: float, attempt: int) -> float:
    """Exponential backoff with jitter: about base, 2 base, 4 base ... after attempts 1, 2, 3.

    The jitter (x0.5 to x1.5) keeps two runs that failed together from retrying together.
    """
    return base * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)
