"""The transactional outbox: a webhook delivery exists if and only if its event was recorded.

On SQLite and PostgreSQL, through the real composition root (``build_services``) and the
real alert command: each published event gets one row per configured endpoint, in the
events' own transaction; a conflicting save and a retried idempotency key write none.
"""

from __future__ import annotations

import json
from datetime import date
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from domain.actors import Actor, Role
from domain.application import CommandContext, IdempotencyKey
from domain.errors import ConcurrentUpdateError
from domain.publishing import outbox_messages
from domain.vocabulary import ErasureRequester, ReviewOutcome
from tests.backends import Backend
from tests.factories import (
    COUNSELLOR,
    a_contact,
    a_context,
    a_counsellor,
    a_referral,
    a_transition,
)
from tests.fakes import FakeClock
from tests.webhooks import (
    QUIET_FOR,
    SWEEPER,
    open_services,
    outbox_rows,
    raise_an_alert,
    webhook_settings,
)

ENDPOINTS = ["https://one.example/hooks", "http://two.example:8080/overgang?token=abc"]


def test_a_published_event_writes_one_row_per_endpoint(backend: Backend) -> None:
    clock = FakeClock()
    with open_services(webhook_settings(backend, ENDPOINTS), clock) as services:
        alert = raise_an_alert(services, clock)

        rows = outbox_rows(services)

    assert sorted(row.endpoint for row in rows) == sorted(ENDPOINTS)
    assert len({row.delivery_id for row in rows}) == 2
    for row in rows:
        assert row.event_name == "alert.raised"
        assert row.position == alert.position
        assert row.created_at == clock.now == row.next_attempt_at
        assert (row.attempts, row.delivered_at, row.failed_at, row.last_error) == (
            0,
            None,
            None,
            None,
        )
        body = json.loads(row.payload)
        assert body["delivery_id"] == str(row.delivery_id)
        assert body["event"] == "alert.raised"
        assert body["position"] == alert.position
        assert body["data"]["alertId"] == str(alert.alert_id)
        assert body["data"]["youngPersonId"] == str(alert.case.young_person_id)
        assert body["data"]["transitionId"] == str(alert.transition_id)


def test_commands_that_publish_nothing_write_no_row(backend: Backend) -> None:
    clock = FakeClock()
    with open_services(webhook_settings(backend, ENDPOINTS), clock) as services:
        app = services.app
        young_person_id = app.refer(a_referral(), a_context()).ids["young_person_id"]
        app.review_referral(
            young_person_id, ReviewOutcome.ACCEPTED, date(2024, 3, 1), "test note", a_context()
        )
        app.record_contact(young_person_id, a_contact(), a_context())

        assert outbox_rows(services) == []


def test_without_endpoints_nothing_is_written(backend: Backend) -> None:
    clock = FakeClock()
    with open_services(webhook_settings(backend, []), clock) as services:
        raise_an_alert(services, clock)

        assert services.webhooks is None
        assert outbox_rows(services) == []


def test_a_conflicting_save_writes_no_row(backend: Backend) -> None:
    clock = FakeClock()
    settings = webhook_settings(backend, ENDPOINTS[:1])
    with open_services(settings, clock) as first, open_services(settings, clock) as second:
        alert = raise_an_alert(first, clock)
        first.app.resolve_alert(
            alert.case.young_person_id, alert.alert_id, "test reason", a_context()
        )
        # The second process loaded the young person before the first one raised the alert
        # again; its own alert (published, so with an outbox message) then conflicts.
        stale = second.app.young_person(alert.case.young_person_id)
        clock.advance(QUIET_FOR)
        first.app.raise_quiet_alert(alert.case.young_person_id, alert.transition_id, SWEEPER)
        before = outbox_rows(first)
        stale.raise_quiet_alert(
            uuid4(),
            alert.transition_id,
            second.app.quiet_policy,
            second.app._stamp(SWEEPER),
        )
        messages = tuple(outbox_messages(stale.pending_events))
        assert [message.name for message in messages] == ["alert.raised"]

        with pytest.raises(IntegrityError):
            second.app.save(stale, outbox=messages)

        assert outbox_rows(first) == before
        assert [row.event_name for row in before] == [
            "alert.raised",
            "alert.resolved",
            "alert.raised",
        ]


def test_a_retried_idempotency_key_writes_no_row_twice(backend: Backend) -> None:
    clock = FakeClock()
    with open_services(webhook_settings(backend, ENDPOINTS[:1]), clock) as services:
        alert = raise_an_alert(services, clock)
        key = IdempotencyKey(key="counsellor-1:retry-1", fingerprint="resolve")
        ctx = CommandContext(actor=COUNSELLOR, idempotency=key)
        services.app.resolve_alert(alert.case.young_person_id, alert.alert_id, "test", ctx)
        clock.advance(QUIET_FOR)
        services.app.raise_quiet_alert(alert.case.young_person_id, alert.transition_id, SWEEPER)
        before = outbox_rows(services)

        # The same key again, on a command the domain accepts (resolving the alert raised
        # since) and that publishes: refused as a whole, its outbox row with it.
        open_alert_id = UUID(json.loads(before[-1].payload)["data"]["alertId"])
        with pytest.raises(ConcurrentUpdateError):
            services.app.resolve_alert(alert.case.young_person_id, open_alert_id, "test", ctx)

        assert outbox_rows(services) == before
        assert [row.event_name for row in before] == [
            "alert.raised",
            "alert.resolved",
            "alert.raised",
        ]


def test_outbox_rows_hold_nothing_personal_so_erasure_leaves_them_as_they_are(
    backend: Backend,
) -> None:
    clock = FakeClock()
    secrets = ["Qwzxyvbn Outboxsen", "reason Jkvqpxmw", "note Hhqzvxpl", "by hand Ttwqxzvk"]
    with open_services(webhook_settings(backend, ENDPOINTS[:1]), clock) as services:
        app = services.app
        counsellor_id = a_counsellor(app)
        referral = a_referral(name=secrets[0], reason=secrets[1])
        young_person_id = app.refer(referral, a_context()).ids["young_person_id"]
        app.review_referral(
            young_person_id, ReviewOutcome.ACCEPTED, date(2024, 3, 1), "test", a_context()
        )
        app.enrol(young_person_id, counsellor_id, None, a_context())
        transition_id = app.start_transition(young_person_id, a_transition(), a_context()).ids[
            "transition_id"
        ]
        clock.advance(QUIET_FOR)
        alert_id = app.raise_quiet_alert(young_person_id, transition_id, SWEEPER).ids["alert_id"]
        app.acknowledge_alert(young_person_id, alert_id, secrets[2], a_context())
        app.resolve_alert(young_person_id, alert_id, secrets[3], a_context())
        before = outbox_rows(services)

        services.erase_person(
            young_person_id,
            ErasureRequester.YOUNG_PERSON,
            "GDPR art. 17",
            CommandContext(actor=Actor(id="admin-1", role=Role.ADMIN)),
        )

        after = outbox_rows(services)
    assert [row.event_name for row in before] == ["alert.raised", "alert.resolved"]
    assert after[: len(before)] == before
    stored = " ".join(row.payload + (row.last_error or "") for row in after)
    assert str(young_person_id) in stored  # by id ...
    for secret in secrets:
        assert secret.rsplit(" ", 1)[-1] not in stored  # ... and never by anything personal
