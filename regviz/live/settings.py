"""The server's training settings, read from the environment once, with their guards.

The page and the load benchmark both need them; a value that is missing or does not
parse falls back to the default instead of failing.
"""

from __future__ import annotations

import os

MAX_TRAININGS_ENV = "REGVIZ_MAX_TRAININGS"
WORKER_IDLE_ENV = "REGVIZ_WORKER_IDLE_S"
DEFAULT_WORKER_IDLE_S = 120.0


def max_trainings() -> int:
    """REGVIZ_MAX_TRAININGS as a positive integer; 1 when unset or unreadable."""
    try:
        return max(1, int(os.environ.get(MAX_TRAININGS_ENV, "1")))
    except ValueError:
        return 1


def worker_idle_seconds() -> float:
    """REGVIZ_WORKER_IDLE_S: how long an idle training worker stays (default 120 s)."""
    try:
        seconds = float(os.environ.get(WORKER_IDLE_ENV, DEFAULT_WORKER_IDLE_S))
    except ValueError:
        return DEFAULT_WORKER_IDLE_S
    return seconds if seconds > 0 else DEFAULT_WORKER_IDLE_S
