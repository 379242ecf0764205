"""The alert sweeper: turns quiet transitions that are due into alert events.

Each sweep reads the due rows of the alerts read model (``AlertsView.due``: an index range,
so a sweep costs in proportion to what is due, not to the number of young people) page by
page, and for each row asks the domain to raise the transition's alert or escalate its
open one, as the system actor ``alert-sweeper``. The domain has the last word: it refuses
a row the read model was wrong about (behind the log: contact was reached meanwhile,
another sweeper got there first, the case closed), and such a refusal is counted as
*skipped*. Two sweepers racing on one young person meet in the stream's version check:
the loser gets ``ConcurrentUpdateError``, reloads and retries once, and then the domain
says the alert is already open. So however many sweepers run, each quiet transition
raises one alert.

The rows a sweep acted on (or was refused) stay in the read model until the projection
has applied the sweep's events, and a sweep that follows at once would find them again.
Rather than wait for the projection, the sweeper remembers each row it handled, as it was
when handled (young person, transition, action, due time); a row found again unchanged is
passed over without loading the young person (``bench/alert_sweep.py`` measures the
difference). A row the projection moved on (a new due time or action) is a new row. The
memory holds only rows that are still due, and forgets a row after ``forget_after`` so
that a refusal that was right then (a due time the domain computes later, with other
thresholds) is asked again later.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

from domain.actors import Actor, Role
from domain.application import Clock, CommandContext, CommandResult, Overgang
from domain.errors import (
    AlertAlreadyEscalatedError,
    AlertAlreadyOpenError,
    AlertNotOpenError,
    CaseClosedError,
    ConcurrentUpdateError,
    DomainError,
    NotEnrolledError,
    PersonalDataErasedError,
    TransitionNotFoundError,
    TransitionNotOpenError,
    TransitionNotQuietError,
    YoungPersonNotFoundError,
)
from projections.alerts import ESCALATE, RAISE, AlertsView, policy_fingerprint
from projections.store import Row, ViewStore

if TYPE_CHECKING:
    from infra.bootstrap import Services

log = logging.getLogger(__name__)

SWEEPER_ACTOR = Actor(id="alert-sweeper", role=Role.SYSTEM)
"""Who records the alerts the sweeper raises and escalates."""

LOCK_NAME = "alert-sweeper"
"""The lock ``run_sweeper`` holds while it sweeps (one active sweeper per deployment)."""

# Refusals that mean "the read model was behind": nothing to do for this row now.
EXPECTED_REFUSALS: tuple[type[DomainError], ...] = (
    TransitionNotQuietError,
    AlertAlreadyOpenError,
    AlertAlreadyEscalatedError,
    AlertNotOpenError,
    TransitionNotOpenError,
    TransitionNotFoundError,
    NotEnrolledError,
    CaseClosedError,
    PersonalDataErasedError,
    YoungPersonNotFoundError,
)

_RowKey = tuple[str, str, str, str]
"""A due row as it was handled: young person, transition, action, due time."""


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did."""

    raised: int = 0
    escalated: int = 0
    skipped: int = 0  # refused by the domain (the read model was behind), or handled before
    conflicts: int = 0  # another writer saved the young person first (then retried once)
    position: int = 0  # the last event log position the sweep wrote (0: none)

    def counts(self) -> dict[str, int]:
        """The four counts (what ``overgang alerts sweep`` prints as JSON)."""
        counts = asdict(self)
        del counts["position"]
        return counts

    def __add__(self, other: SweepReport) -> SweepReport:
        return SweepReport(
            self.raised + other.raised,
            self.escalated + other.escalated,
            self.skipped + other.skipped,
            self.conflicts + other.conflicts,
            max(self.position, other.position),
        )


class WebhookDelivery(Protocol):
    """What the run loop needs of ``infra.webhooks.WebhookDeliverer``."""

    def deliver_due(self, now: datetime | None = None) -> object: ...


class SweeperLock(Protocol):
    """``infra.locks.ProjectionLocks``: held by one process at a time."""

    def try_acquire(self, names: list[str]) -> frozenset[str]: ...

    def release(self) -> None: ...


class AlertSweeper:
    """Raises and escalates the alerts that the alerts read model says are due."""

    def __init__(
        self,
        app: Overgang,
        view_store: ViewStore,
        clock: Clock,
        batch: int = 500,
        *,
        forget_after: timedelta = timedelta(minutes=10),
        remember: bool = True,
    ) -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.app = app
        self.views = view_store
        self.clock = clock
        self.batch = batch
        self.forget_after = forget_after
        self.remember = remember
        self._handled: dict[_RowKey, datetime] = {}
        self._policy_checked = False

    def sweep_once(
        self, now: datetime | None = None, stop: threading.Event | None = None
    ) -> SweepReport:
        """Handle every row due at ``now`` (default: the clock); returns the counts.

        The alerts carry ``now`` as the moment they happened. ``stop`` ends the sweep
        early, between two rows.
        """
        now = self.clock() if now is None else now
        self._check_policy()
        report = SweepReport()
        seen: set[_RowKey] = set()
        after: tuple[str, str, str] | None = None
        complete = True
        while complete:
            with self.views.transaction(readonly=True) as cur:
                rows = AlertsView.due(cur, now, self.batch, after)
            for row in rows:
                if stop is not None and stop.is_set():
                    complete = False
                    break
                key = _key(row)
                seen.add(key)
                if self._handled_before(key, now):
                    report += SweepReport(skipped=1)
                    continue
                report += self._handle(row, now)
                if self.remember:
                    self._handled[key] = now
            if len(rows) < self.batch:
                break
            last = rows[-1]
            after = (last["next_due_at"], last["young_person_id"], last["transition_id"])
        if complete:
            # Rows no longer due (the projection moved them on) are forgotten.
            self._handled = {key: at for key, at in self._handled.items() if key in seen}
        return report

    def _handled_before(self, key: _RowKey, now: datetime) -> bool:
        handled_at = self._handled.get(key)
        if handled_at is None:
            return False
        if handled_at <= now < handled_at + self.forget_after:
            return True
        del self._handled[key]
        return False

    def _handle(self, row: Row, now: datetime) -> SweepReport:
        conflicts = 0
        for _attempt in range(2):
            try:
                result = self._act(row, now)
            except ConcurrentUpdateError:
                # Another writer saved this young person first: reload and try once more.
                conflicts += 1
                continue
            except EXPECTED_REFUSALS as refusal:
                log.debug("alert sweeper: %s refused (%s)", row["next_action"], refusal.code)
                return SweepReport(skipped=1, conflicts=conflicts)
            except DomainError as refusal:
                # Not expected, but one row must not stop every sweep: the code only
                # (messages name ids, never personal data, but codes are enough here).
                log.warning("alert sweeper: %s refused (%s)", row["next_action"], refusal.code)
                return SweepReport(skipped=1, conflicts=conflicts)
            if row["next_action"] == RAISE:
                return SweepReport(raised=1, conflicts=conflicts, position=result.position)
            return SweepReport(escalated=1, conflicts=conflicts, position=result.position)
        return SweepReport(skipped=1, conflicts=conflicts)

    def _act(self, row: Row, now: datetime) -> CommandResult:
        ctx = CommandContext(actor=SWEEPER_ACTOR, occurred_at=now)
        young_person_id = UUID(row["young_person_id"])
        if row["next_action"] == ESCALATE:
            return self.app.escalate_quiet_alert(young_person_id, UUID(row["open_alert_id"]), ctx)
        return self.app.raise_quiet_alert(young_person_id, UUID(row["transition_id"]), ctx)

    def _check_policy(self) -> None:
        if self._policy_checked:
            return
        with self.views.transaction(readonly=True) as cur:
            built_with = AlertsView.policy_fingerprint(cur)
        if built_with is not None and built_with != policy_fingerprint(self.app.quiet_policy):
            log.warning(
                "the alerts read model was built with other quiet thresholds than this "
                "sweeper's; run `overgang projections rebuild alerts`"
            )
        self._policy_checked = True


def _key(row: Row) -> _RowKey:
    return (
        str(row["young_person_id"]),
        str(row["transition_id"]),
        str(row["next_action"]),
        str(row["next_due_at"]),
    )


def run_sweeper(
    stop: threading.Event,
    sweeper: AlertSweeper,
    interval: float,
    *,
    webhooks: WebhookDelivery | None = None,
    webhook_interval: float = 1.0,
    lock: SweeperLock | None = None,
) -> None:
    """Sweep every ``interval`` seconds until ``stop`` is set.

    With ``lock``, only the process holding it sweeps (the others stand by and take over
    when it goes away); two sweepers would be safe, only wasteful. ``webhooks`` (the
    outbox's deliverer) is called right after each sweep, so the alerts just raised go out
    at once, and every ``webhook_interval`` seconds between sweeps, for retries. A failing
    round (a database away) is logged and tried again at the next tick.
    """
    tick = min(interval, webhook_interval) if webhooks is not None else interval
    next_sweep = time.monotonic()
    failures = 0
    try:
        while not stop.is_set():
            try:
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + interval
                    if lock is None or LOCK_NAME in lock.try_acquire([LOCK_NAME]):
                        report = sweeper.sweep_once(stop=stop)
                        if report.raised or report.escalated:
                            log.info("alert sweep: %s", report.counts())
                if webhooks is not None:
                    webhooks.deliver_due()
                failures = 0
            except Exception as error:
                failures += 1
                # The class name only: messages may quote ids or data.
                log.warning(
                    "alert sweeper: %s (failure %d), trying again", type(error).__name__, failures
                )
                log.debug("alert sweeper failure", exc_info=True)
            stop.wait(max(0.0, min(tick, next_sweep - time.monotonic())))
    finally:
        if lock is not None:
            lock.release()


def build_sweeper(services: Services) -> AlertSweeper:
    """The sweeper of a process's services, configured by its settings."""
    return AlertSweeper(
        services.app, services.views, services.clock, services.settings.alert_sweep_batch
    )


class SweeperThread:
    """``run_sweeper`` in a daemon thread, for ``overgang serve``."""

    def __init__(
        self,
        sweeper: AlertSweeper,
        interval: float,
        *,
        webhooks: WebhookDelivery | None = None,
        lock: SweeperLock | None = None,
    ) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=run_sweeper,
            args=(self._stop, sweeper, interval),
            kwargs={"webhooks": webhooks, "lock": lock},
            name="overgang-alert-sweeper",
            daemon=True,
        )

    def start(self) -> SweeperThread:
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
