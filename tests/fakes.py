"""Fakes over mocks: small, real implementations of the outside world for tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# A fixed Monday morning, so tests that print or compare times are deterministic.
DEFAULT_START = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


class FakeClock:
    """A clock that stands still until a test moves it: settable and advanceable.

    Call it like ``datetime.now`` (``clock()``); hand it to ``Overgang(clock=...)``.
    """

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        self._now = self._aware(start)

    def __call__(self) -> datetime:
        return self._now

    @property
    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to a moment (forwards or backwards: tests of late recording need both)."""
        self._now = self._aware(when)

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Move forwards by ``delta`` or by ``timedelta(**parts)``; returns the new now."""
        step = (delta or timedelta()) + timedelta(**parts)
        if step < timedelta():
            raise ValueError("a clock advances forwards; use set() to go back")
        self._now += step
        return self._now

    @staticmethod
    def _aware(when: datetime) -> datetime:
        # A naive clock would make every command fail with NaiveDatetimeError, far from
        # the mistake: refuse it here instead.
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError("FakeClock needs a time-zone-aware datetime")
        return when
