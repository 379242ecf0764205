"""Waiting for something to happen in another thread or process, with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable

POLL = 0.005
"""Seconds between looks: short, so a wait for a batch in flight does not miss it."""


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Return once ``condition()`` holds; fail the test, saying ``what``, after ``timeout``
    seconds (only a failure waits that long)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting until {what}")
        time.sleep(POLL)
