"""Webhook delivery to a real HTTP receiver on loopback, driven by a fake clock.

Signed, carrying a delivery id that stays the same across retries, retried with backoff
until a 2xx or the last attempt; on PostgreSQL two deliverers at once never send one
delivery twice.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import threading
from datetime import timedelta

from domain.vocabulary import ReviewOutcome
from infra.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    DeliveryReport,
    WebhookDeliverer,
    backoff_delay,
)
from tests.backends import Backend
from tests.factories import a_context, a_referral
from tests.fakes import FakeClock
from tests.webhooks import (
    SECRET,
    Received,
    open_services,
    outbox_rows,
    raise_an_alert,
    running_receiver,
    webhook_settings,
)

BASE = timedelta(seconds=5)
CAP = timedelta(hours=1)
MICROSECOND = timedelta(microseconds=1)


def signed_with(secret: str, received: Received) -> bool:
    """A receiver's check, written out as the README shows it (not with our own code)."""
    timestamp = received.headers[TIMESTAMP_HEADER]
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + received.body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", received.headers[SIGNATURE_HEADER])


def deliverer_of(services: object) -> WebhookDeliverer:
    deliverer = getattr(services, "webhooks", None)
    assert isinstance(deliverer, WebhookDeliverer)
    return deliverer


def test_a_delivery_is_signed_and_names_the_young_person_by_id_only(backend: Backend) -> None:
    clock = FakeClock()
    with (
        running_receiver() as receiver,
        open_services(webhook_settings(backend, [receiver.url]), clock) as services,
    ):
        name, reason = "Zqxjvbwk Tester", "test reason Plmoqnwx"
        young_person_id = services.app.refer(a_referral(name=name, reason=reason), a_context()).ids[
            "young_person_id"
        ]
        alert = raise_an_alert(services, clock)
        services.app.resolve_alert(
            alert.case.young_person_id, alert.alert_id, "by hand Wxyvqpls", a_context()
        )

        report = deliverer_of(services).deliver_due()

        rows = outbox_rows(services)
    assert report == DeliveryReport(sent=2)
    assert [r.json["event"] for r in receiver.received] == ["alert.raised", "alert.resolved"]
    for received, row in zip(receiver.received, rows, strict=True):
        headers = received.headers
        assert headers[DELIVERY_HEADER] == str(row.delivery_id)
        assert headers[EVENT_HEADER] == row.event_name
        assert headers[TIMESTAMP_HEADER] == str(int(clock.now.timestamp()))
        assert headers["Content-Type"] == "application/json"
        assert signed_with(SECRET, received)
        assert not signed_with("another secret", received)
        assert received.body == row.payload.encode()
        assert received.json["data"]["youngPersonId"] == str(alert.case.young_person_id)
        assert row.delivered_at == clock.now
        assert row.attempts == 1
    sent = b"".join(received.body for received in receiver.received).decode()
    for personal in ("Zqxjvbwk", "Plmoqnwx", "Wxyvqpls", "Test Person", "test note"):
        assert personal not in sent
    assert str(young_person_id) not in sent  # nothing of another young person either


def test_a_receiver_failing_twice_gets_the_same_delivery_three_times(backend: Backend) -> None:
    clock = FakeClock()
    with (
        running_receiver(statuses=[500, 503]) as receiver,
        open_services(webhook_settings(backend, [receiver.url]), clock) as services,
    ):
        raise_an_alert(services, clock)
        deliverer = deliverer_of(services)
        [row] = outbox_rows(services)

        assert deliverer.deliver_due() == DeliveryReport(retried=1)
        first_retry = clock.now + backoff_delay(1, row.delivery_id, BASE, CAP)
        [row] = outbox_rows(services)
        assert (row.attempts, row.next_attempt_at, row.last_error) == (
            1,
            first_retry,
            "HTTP 500",
        )

        # Not before the backoff has passed.
        clock.set(first_retry - MICROSECOND)
        assert deliverer.deliver_due() == DeliveryReport()
        assert len(receiver.received) == 1

        clock.set(first_retry)
        assert deliverer.deliver_due() == DeliveryReport(retried=1)
        second_retry = clock.now + backoff_delay(2, row.delivery_id, BASE, CAP)
        [row] = outbox_rows(services)
        assert (row.attempts, row.next_attempt_at, row.last_error) == (
            2,
            second_retry,
            "HTTP 503",
        )

        clock.set(second_retry - MICROSECOND)
        assert deliverer.deliver_due() == DeliveryReport()
        clock.set(second_retry)
        assert deliverer.deliver_due() == DeliveryReport(sent=1)
        clock.advance(timedelta(days=30))
        assert deliverer.deliver_due() == DeliveryReport()

        [row] = outbox_rows(services)
    assert (row.attempts, row.delivered_at, row.last_error) == (3, second_retry, None)
    assert len(receiver.received) == 3
    assert {r.headers[DELIVERY_HEADER] for r in receiver.received} == {str(row.delivery_id)}
    assert {r.body for r in receiver.received} == {row.payload.encode()}
    assert all(signed_with(SECRET, received) for received in receiver.received)


def test_after_the_last_attempt_a_delivery_is_failed_and_kept(backend: Backend) -> None:
    clock = FakeClock()
    settings_for = {"webhook_max_attempts": 2}
    with (
        running_receiver(statuses=[500, 500, 500]) as receiver,
        open_services(webhook_settings(backend, [receiver.url], **settings_for), clock) as services,
    ):
        raise_an_alert(services, clock)
        deliverer = deliverer_of(services)
        assert deliverer.deliver_due() == DeliveryReport(retried=1)
        clock.advance(timedelta(hours=2))
        assert deliverer.deliver_due() == DeliveryReport(failed=1)
        clock.advance(timedelta(days=30))
        assert deliverer.deliver_due() == DeliveryReport()

        [row] = outbox_rows(services)
    assert (row.attempts, row.failed_at, row.delivered_at, row.last_error) == (
        2,
        clock.now - timedelta(days=30),
        None,
        "HTTP 500",
    )
    assert len(receiver.received) == 2


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_an_unreachable_receiver_is_retried_without_its_url_in_the_error(
    backend: Backend,
) -> None:
    clock = FakeClock()
    url = f"http://user:pa55word@127.0.0.1:{_closed_port()}/hook?token=s3cret"
    with open_services(webhook_settings(backend, [url]), clock) as services:
        raise_an_alert(services, clock)

        assert deliverer_of(services).deliver_due() == DeliveryReport(retried=1)

        [row] = outbox_rows(services)
    assert row.last_error == "ConnectError"
    assert row.attempts == 1


def test_two_deliverers_at_once_never_send_one_delivery_twice(backend: Backend) -> None:
    if backend.name != "postgres":
        return  # SQLite runs one deliverer per file; its write lock serialises claims
    clock = FakeClock()
    young_people = 12
    with running_receiver(delay=0.01) as receiver:
        settings = webhook_settings(backend, [receiver.url, receiver.url + "/second"])
        with open_services(settings, clock) as first, open_services(settings, clock) as second:
            for _ in range(young_people):
                raise_an_alert(first, clock)
                clock.set(clock.now - timedelta(days=8))  # every alert due at once
            deliverers = [deliverer_of(first), deliverer_of(second)]
            for deliverer in deliverers:
                deliverer.batch_size = 1  # claim row by row: the most interleaving
            reports: list[DeliveryReport] = []
            start = threading.Barrier(len(deliverers))

            def deliver(deliverer: WebhookDeliverer) -> None:
                start.wait()
                reports.append(deliverer.deliver_due(clock.now + timedelta(days=8)))

            threads = [threading.Thread(target=deliver, args=(d,)) for d in deliverers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)

            rows = outbox_rows(first)
    ids = [r.headers[DELIVERY_HEADER] for r in receiver.received]
    assert len(rows) == 2 * young_people
    assert sorted(ids) == sorted(str(row.delivery_id) for row in rows)  # each exactly once
    assert sum((report for report in reports), DeliveryReport()) == DeliveryReport(
        sent=2 * young_people
    )
    assert {row.attempts for row in rows} == {1}


def test_a_referral_alone_is_never_delivered(backend: Backend) -> None:
    clock = FakeClock()
    with (
        running_receiver() as receiver,
        open_services(webhook_settings(backend, [receiver.url]), clock) as services,
    ):
        young_person_id = services.app.refer(a_referral(), a_context()).ids["young_person_id"]
        services.app.review_referral(
            young_person_id, ReviewOutcome.ACCEPTED, clock.now.date(), "test", a_context()
        )
        assert deliverer_of(services).deliver_due() == DeliveryReport()
    assert receiver.received == []
