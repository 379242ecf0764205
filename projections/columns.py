"""How read models store times and dates as TEXT, the same way on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime


def iso_utc(moment: datetime) -> str:
    """A fixed-width UTC ISO-8601 text: sorts as text in the same order as in time."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def iso_date(day: date | None) -> str | None:
    """``YYYY-MM-DD``, which sorts as text in date order; None stays None."""
    return None if day is None else day.isoformat()


def parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


def parse_date(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)
