"""Retry delays: exponential, capped, jittered by the delivery id, and deterministic."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

from infra.webhooks import backoff_delay, endpoint_label

BASE = timedelta(seconds=5)
CAP = timedelta(minutes=10)


def test_each_delay_lies_between_half_and_all_of_the_capped_exponential() -> None:
    for _ in range(50):
        delivery_id = uuid4()
        for attempts in range(1, 12):
            full = min(BASE * 2 ** (attempts - 1), CAP)
            delay = backoff_delay(attempts, delivery_id, BASE, CAP)
            assert full / 2 <= delay < full


def test_the_delay_depends_only_on_the_delivery_and_the_attempt() -> None:
    delivery_id = UUID("8c1f4c5e-0d6a-4f55-9d0e-3f5a1c2b7e90")
    assert backoff_delay(3, delivery_id, BASE, CAP) == backoff_delay(3, delivery_id, BASE, CAP)
    # Deliveries that failed together come back at different moments.
    delays = {backoff_delay(3, uuid4(), BASE, CAP) for _ in range(20)}
    assert len(delays) == 20


def test_a_huge_attempt_count_stays_at_the_cap() -> None:
    assert CAP / 2 <= backoff_delay(10_000, uuid4(), BASE, CAP) < CAP


def test_an_endpoint_is_logged_without_credentials_path_or_query() -> None:
    url = "https://user:pa55@hooks.example:8443/in/overgang?token=s3cret"
    assert endpoint_label(url) == "https://hooks.example:8443"
