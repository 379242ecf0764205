"""When a transition has gone quiet: the thresholds, and the moment each one is crossed.

A transition goes quiet when nobody has reached the young person for longer than its
threshold. The threshold depends on the kind of transition and on its phase: the first
weeks of a new education are the most dangerous, so the default there is shorter (5 days
in the first three weeks after the education started, 7 days otherwise). A second, longer
threshold escalates the alert to the team lead.

Unanswered calls and texts are attempts, not contact: only a reached contact ends a quiet
period. The deadline is a pure function of when the quiet began, when the education
started and the policy, so the domain (which refuses an alert that is not due) and the
alerts read model (which indexes the due times) compute the very same moment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.errors import InvalidValueError
from domain.vocabulary import QuietPhase, TransitionKind


@dataclass(frozen=True)
class QuietLimits:
    """How long a transition may stay quiet before an alert, and before it escalates."""

    quiet: timedelta
    escalate: timedelta

    def __post_init__(self) -> None:
        if self.quiet <= timedelta(0):
            raise InvalidValueError("a quiet threshold must be positive")
        if self.escalate <= self.quiet:
            raise InvalidValueError("the escalation threshold must be longer than the quiet one")


DEFAULT_LIMITS = QuietLimits(quiet=timedelta(days=7), escalate=timedelta(days=14))
DEFAULT_NEW_EDUCATION_LIMITS = QuietLimits(quiet=timedelta(days=5), escalate=timedelta(days=10))
NEW_EDUCATION_PERIOD = timedelta(weeks=3)


@dataclass(frozen=True)
class QuietPolicy:
    """The thresholds in force: defaults per phase, overridden per transition kind and phase."""

    general: QuietLimits = DEFAULT_LIMITS
    new_education: QuietLimits = DEFAULT_NEW_EDUCATION_LIMITS
    new_education_period: timedelta = NEW_EDUCATION_PERIOD
    by_kind: Mapping[tuple[TransitionKind, QuietPhase], QuietLimits] = field(default_factory=dict)

    def limits(self, kind: TransitionKind | None, phase: QuietPhase) -> QuietLimits:
        override = None if kind is None else self.by_kind.get((kind, phase))
        if override is not None:
            return override
        return self.new_education if phase is QuietPhase.NEW_EDUCATION else self.general

    def phase_at(self, education_started_at: datetime | None, at: datetime) -> QuietPhase:
        if education_started_at is None or at < education_started_at:
            return QuietPhase.PREPARING
        if at < education_started_at + self.new_education_period:
            return QuietPhase.NEW_EDUCATION
        return QuietPhase.IN_EDUCATION

    def deadline(
        self,
        kind: TransitionKind | None,
        quiet_since: datetime,
        education_started_at: datetime | None,
        *,
        escalation: bool = False,
    ) -> datetime:
        """The first moment at which a transition quiet since ``quiet_since`` has been
        quiet for longer than the threshold of the phase it is in at that moment."""
        # The phase changes at most twice (education start, end of the first weeks), so
        # the threshold is constant on at most three spans: the deadline is the first
        # span's earliest moment that lies past quiet_since + that span's threshold.
        boundaries: list[datetime] = []
        if education_started_at is not None:
            boundaries = [education_started_at, education_started_at + self.new_education_period]
        span_start = quiet_since
        for span_end in [*(b for b in boundaries if b > quiet_since), None]:
            phase = self.phase_at(education_started_at, span_start)
            limits = self.limits(kind, phase)
            candidate = max(
                span_start, quiet_since + (limits.escalate if escalation else limits.quiet)
            )
            if span_end is None or candidate < span_end:
                return candidate
            span_start = span_end
        raise AssertionError("the last span is unbounded")  # pragma: no cover
