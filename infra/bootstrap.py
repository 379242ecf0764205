"""The composition root: builds every service of a process from a ``Settings`` object.

Nothing connects at import time; ``build_services`` is where the event store, the read
models and the projection runner are opened, and ``Services.close`` lets them go.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from uuid import UUID, uuid4

from api.deps import ProjectionWaiter
from domain.alerts import QuietPolicy
from domain.application import Clock, CommandContext, CommandResult, IdempotentOutcome, Overgang
from domain.vocabulary import ErasureRequester
from infra.access_log import ViewStoreAccessLog
from infra.erasure import erase_person
from infra.keys import DataKeyStore, load_master_keys, open_data_key_store
from infra.locks import FileProjectionLocks, PostgresProjectionLocks, ProjectionLocks
from infra.outbox import use_webhook_endpoints
from infra.personal_mapper import PERSONAL_MAPPER_TOPIC, use_data_keys
from infra.replica import ReadReplica
from infra.runner import ProjectionRunner
from infra.settings import Settings
from infra.webhooks import WebhookDeliverer, build_webhook_deliverer
from projections.alerts import AlertsProjection
from projections.base import Projection
from projections.caseload import CaseloadProjection
from projections.decision_audit import DecisionAuditProjection
from projections.institutions import InstitutionsProjection
from projections.outcomes import OutcomesProjection
from projections.plan import PlanProjection
from projections.referral_queue import ReferralQueueProjection
from projections.retention import RetentionProjection
from projections.risk_flags import RiskFlagsProjection
from projections.store import PostgresViewStore, SQLiteViewStore, ViewStore
from projections.timeline import TimelineProjection
from projections.transitions import TransitionsProjection


def system_clock() -> datetime:
    return datetime.now(UTC)


class OutcomeFinder(Protocol):
    def find_outcome(self, key: str) -> IdempotentOutcome | None: ...


@dataclass
class Services:
    settings: Settings
    app: Overgang
    views: ViewStore
    projections: ProjectionRunner
    clock: Clock
    # Each young person's data key: shred it to erase their personal data.
    keys: DataKeyStore
    # Reads of personal data (who, role, when, what, whose); append-only, never rebuilt.
    access_log: ViewStoreAccessLog
    # Sends the outbox's webhooks; None when no webhook URL is configured. Start it with
    # ``webhooks.start_in_thread()`` or call ``webhooks.deliver_due()``.
    webhooks: WebhookDeliverer | None = None
    # OVERGANG_READ_DATABASE_URL's read models; None: every read is of ``views``.
    replica: ReadReplica | None = None

    @property
    def read_views(self) -> ViewStore:
        """What GraphQL queries and read-only downloads read: the replica's read models
        when one is configured. Writes (the access log) and access checks use ``views``."""
        return self.views if self.replica is None else self.replica.views

    @property
    def read_views_waiter(self) -> ProjectionWaiter:
        """Read-your-writes for ``read_views``: waits until they show a position."""
        return self.projections if self.replica is None else self.replica

    def find_idempotent_outcome(self, key: str) -> IdempotentOutcome | None:
        recorder: OutcomeFinder = self.app.recorder  # type: ignore[assignment]
        return recorder.find_outcome(key)

    def erase_person(
        self,
        young_person_id: UUID,
        requested_by: ErasureRequester,
        legal_basis: str,
        ctx: CommandContext,
    ) -> CommandResult:
        """Erase the young person's personal data everywhere (see ``infra.erasure``)."""
        return erase_person(self, young_person_id, requested_by, legal_basis, ctx)

    def close(self) -> None:
        if self.webhooks is not None:
            self.webhooks.close()
        self.projections.stop()
        if self.replica is not None:
            self.replica.close()
        self.views.close()
        self.app.close()
        self.keys.close()


def all_projections(quiet_policy: QuietPolicy | None = None) -> list[Projection]:
    """Every read model, each with its own tracking position; the alerts read model
    indexes due times by ``quiet_policy`` (default: the default thresholds)."""
    return [
        TimelineProjection(),
        CaseloadProjection(),
        RiskFlagsProjection(),
        ReferralQueueProjection(),
        PlanProjection(),
        TransitionsProjection(),
        InstitutionsProjection(),
        RetentionProjection(),
        DecisionAuditProjection(),
        AlertsProjection(quiet_policy),
        OutcomesProjection(),
    ]


def event_store_env(settings: Settings) -> dict[str, str]:
    """eventsourcing's configuration, derived from our settings only."""
    env = {
        "AGGREGATE_CACHE_MAXSIZE": str(settings.aggregate_cache_size),
        "CREATE_TABLE": "y",
        # Personal fields encrypted per young person; see infra/personal_mapper.py.
        "MAPPER_TOPIC": PERSONAL_MAPPER_TOPIC,
    }
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        env |= {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(settings.sqlite_path("overgang")),
            "SQLITE_LOCK_TIMEOUT": "10",
            "APPLICATION_RECORDER_TOPIC": "infra.recorders:SQLiteIdempotentRecorder",
        }
        return env
    params = settings.postgres_params()
    env |= {
        "PERSISTENCE_MODULE": "infra.recorders:PostgresFactory",
        "POSTGRES_DBNAME": params.get("dbname", "overgang"),
        "POSTGRES_HOST": params.get("host", "127.0.0.1"),
        "POSTGRES_PORT": params.get("port", "5432"),
        "POSTGRES_USER": params.get("user", "postgres"),
        "POSTGRES_PASSWORD": params.get("password", ""),
        "POSTGRES_POOL_SIZE": str(settings.postgres_pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.postgres_max_overflow),
        "POSTGRES_LOCK_TIMEOUT": str(settings.postgres_lock_timeout),
        "POSTGRES_CONNECT_TIMEOUT": str(settings.postgres_connect_timeout),
        # A pooled connection is checked before use: after a restart of the server the
        # first commands find fresh connections rather than failing on dead ones.
        "POSTGRES_PRE_PING": "y",
        "APPLICATION_RECORDER_TOPIC": "infra.recorders:PostgresIdempotentRecorder",
    }
    return env


def build_view_store(settings: Settings) -> ViewStore:
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return SQLiteViewStore(settings.sqlite_path("views"))
    return PostgresViewStore(settings.database_url, pool_size=settings.postgres_pool_size)


def build_projection_locks(settings: Settings) -> ProjectionLocks:
    """Advisory locks in the read models' PostgreSQL database, or lock files beside SQLite."""
    if settings.database_url is None:
        return FileProjectionLocks(settings.data_dir)
    return PostgresProjectionLocks(
        settings.database_url, connect_timeout=settings.postgres_connect_timeout
    )


def build_app(
    settings: Settings, *, clock: Clock = system_clock, new_id: Callable[[], UUID] = uuid4
) -> Overgang:
    """The application on the configured event store, without data keys: it can read the
    log, but decodes no personal field until ``use_data_keys`` gives it the keys."""
    return Overgang(
        clock,
        env=event_store_env(settings),
        new_id=new_id,
        future_tolerance=timedelta(seconds=settings.future_tolerance_seconds),
        snapshot_interval=settings.snapshot_interval,
        quiet_policy=settings.quiet_policy(),
    )


def build_services(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    new_id: Callable[[], UUID] = uuid4,
) -> Services:
    # First, before anything is opened: without a master key (outside embedded
    # development) the process refuses to start.
    master_keys = load_master_keys(settings)
    app = build_app(settings, clock=clock, new_id=new_id)
    try:
        keys = open_data_key_store(settings, master_keys, clock=clock)
    except BaseException:
        app.close()
        raise
    use_data_keys(app, keys)
    # Before anything is saved: published events get one outbox row per endpoint.
    use_webhook_endpoints(app, settings.webhook_urls)
    views = build_view_store(settings)
    runner = ProjectionRunner(
        app,
        views,
        all_projections(app.quiet_policy),
        batch_size=settings.projection_batch_size,
        poll_interval=settings.projection_poll_interval,
        locks=build_projection_locks(settings),
    )
    app.listen_to_recordings(runner.wake)
    # Create the read models' tables now, so a query served before the first catch-up
    # finds them empty rather than missing.
    runner.setup()
    access_log = ViewStoreAccessLog(views)
    access_log.setup()
    replica = None
    if settings.read_database_url is not None:
        replica = ReadReplica.connect(
            settings.read_database_url,
            [projection.name for projection in runner.projections],
            pool_size=settings.postgres_pool_size,
            poll_interval=settings.projection_poll_interval,
        )
    return Services(
        settings=settings,
        app=app,
        views=views,
        projections=runner,
        clock=clock,
        keys=keys,
        access_log=access_log,
        webhooks=build_webhook_deliverer(settings, app, clock),
        replica=replica,
    )
