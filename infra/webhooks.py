"""Delivers the outbox's webhooks: signed POSTs, retried with backoff, each at least once.

Every published event (an alert raised, escalated, resolved, ...) is POSTed to every URL in
``OVERGANG_WEBHOOK_URLS`` as JSON::

    {"data": {...}, "delivery_id": "…", "event": "alert.raised", "position": 1234,
     "recorded_at": "2025-03-04T09:00:00.000000+00:00"}

``data`` names the young person by id only, never by name. The request carries:

- ``X-Overgang-Delivery``: the delivery id, the same on every attempt of one delivery;
  a receiver drops a delivery id it has already processed (delivery is at least once).
- ``X-Overgang-Event``: the event's public name, e.g. ``alert.raised``.
- ``X-Overgang-Timestamp``: when this attempt was signed, in Unix seconds.
- ``X-Overgang-Signature``: ``sha256=`` and the hex HMAC-SHA256, keyed with
  ``OVERGANG_WEBHOOK_SECRET``, of ``timestamp + "." + body`` (the raw body bytes).

A receiver verifies it like this (and refuses stale timestamps, against replays)::

    expected = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    ok = hmac.compare_digest(f"sha256={expected}", signature) and (
        abs(time.time() - int(timestamp)) < 300)

Any 2xx answer is delivered. Anything else, or no answer within
``OVERGANG_WEBHOOK_TIMEOUT_SECONDS``, is retried after ``backoff_delay`` (exponential from
``OVERGANG_WEBHOOK_BACKOFF_SECONDS``, capped, with a jitter fixed by the delivery id so that
deliveries failing together spread out), up to ``OVERGANG_WEBHOOK_MAX_ATTEMPTS`` attempts;
then the delivery is marked failed and kept, with the last error (a status code or an
exception's class name: never a URL, never the body).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import httpx
from eventsourcing.application import Application

from domain.application import Clock
from infra.outbox import ClaimedDelivery, Outbox, outbox_of
from infra.settings import Settings

log = logging.getLogger("overgang.webhooks")

DELIVERY_HEADER = "X-Overgang-Delivery"
EVENT_HEADER = "X-Overgang-Event"
TIMESTAMP_HEADER = "X-Overgang-Timestamp"
SIGNATURE_HEADER = "X-Overgang-Signature"
USER_AGENT = "Overgang-Webhooks/1"


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``X-Overgang-Signature`` value of ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def verify(secret: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver checks (without the freshness of ``timestamp``)."""
    try:
        expected = sign(secret, int(timestamp), body)
    except ValueError:
        return False
    return hmac.compare_digest(expected, signature)


def backoff_delay(attempts: int, delivery_id: UUID, base: timedelta, cap: timedelta) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt of ``delivery_id``.

    ``base * 2^(attempts-1)``, at most ``cap``, then scaled by a factor in [0.5, 1.0)
    that depends only on the delivery id and attempt: deterministic (testable with a fake
    clock), yet deliveries that failed together do not all come back at once.
    """
    exponent = min(max(attempts - 1, 0), 32)
    delay = min(base * (2**exponent), cap)
    digest = hashlib.sha256(delivery_id.bytes + attempts.to_bytes(4, "big")).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    return delay * (0.5 + fraction / 2)


def endpoint_label(url: str) -> str:
    """An endpoint for logs: scheme, host and port only (no credentials, path or query)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


@dataclass(frozen=True)
class DeliveryReport:
    """What one ``deliver_due`` did."""

    sent: int = 0  # answered 2xx: delivered
    failed: int = 0  # gave up after the last attempt
    retried: int = 0  # failed this time, will be tried again

    def __add__(self, other: DeliveryReport) -> DeliveryReport:
        return DeliveryReport(
            self.sent + other.sent, self.failed + other.failed, self.retried + other.retried
        )


class WebhookDeliverer:
    """Sends due outbox rows. Safe to run in several processes at once (see ``infra.outbox``)."""

    def __init__(
        self,
        outbox: Outbox,
        secret: bytes,
        *,
        clock: Clock,
        timeout: float = 10.0,
        max_attempts: int = 8,
        backoff_base: timedelta = timedelta(seconds=5),
        backoff_cap: timedelta = timedelta(hours=1),
        batch_size: int = 20,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.outbox = outbox
        self.secret = secret
        self.clock = clock
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.batch_size = batch_size
        # A claimed batch is sent one by one: its lease covers every send timing out, so
        # no other deliverer takes a row over while this one still works on it.
        self.lease = timedelta(seconds=timeout * batch_size + 30)
        self._client = httpx.Client(
            timeout=timeout,
            transport=transport,
            follow_redirects=False,  # a redirect is not an answer: retried as a failure
            headers={"User-Agent": USER_AGENT, "Content-Type": "application/json"},
        )
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None

    # --- one pass ------------------------------------------------------------------------

    def deliver_due(self, now: datetime | None = None) -> DeliveryReport:
        """Send every delivery due at ``now`` (default: the clock), batch after batch."""
        report = DeliveryReport()
        while True:
            moment = now if now is not None else self.clock()
            claimed = self.outbox.claim_due(moment, moment + self.lease, self.batch_size)
            for delivery in claimed:
                report += self._deliver(delivery, moment)
            if len(claimed) < self.batch_size:
                return report

    def _deliver(self, delivery: ClaimedDelivery, now: datetime) -> DeliveryReport:
        error = self._send(delivery, now)
        if error is None:
            self.outbox.mark_delivered(delivery.delivery_id, now)
            return DeliveryReport(sent=1)
        if delivery.attempts >= self.max_attempts:
            self.outbox.mark_failed(delivery.delivery_id, now, error)
            log.warning(
                "webhook %s to %s failed for good after %d attempts: %s",
                delivery.delivery_id,
                endpoint_label(delivery.endpoint),
                delivery.attempts,
                error,
            )
            return DeliveryReport(failed=1)
        delay = backoff_delay(
            delivery.attempts, delivery.delivery_id, self.backoff_base, self.backoff_cap
        )
        self.outbox.mark_retry(delivery.delivery_id, now + delay, error)
        log.info(
            "webhook %s to %s: %s (attempt %d), retrying in %.0fs",
            delivery.delivery_id,
            endpoint_label(delivery.endpoint),
            error,
            delivery.attempts,
            delay.total_seconds(),
        )
        return DeliveryReport(retried=1)

    def _send(self, delivery: ClaimedDelivery, now: datetime) -> str | None:
        """POST the delivery; None when delivered, otherwise a short error without data."""
        body = delivery.payload.encode("utf-8")
        timestamp = int(now.timestamp())
        headers = {
            DELIVERY_HEADER: str(delivery.delivery_id),
            EVENT_HEADER: delivery.event_name,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self.secret, timestamp, body),
        }
        try:
            response = self._client.post(delivery.endpoint, content=body, headers=headers)
        except httpx.HTTPError as error:
            # The class name only: httpx's messages quote the URL, which may hold a token.
            return type(error).__name__
        if response.is_success:
            return None
        return f"HTTP {response.status_code}"

    # --- as a loop -----------------------------------------------------------------------

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Deliver what is due every ``interval`` seconds until ``stop`` is set.

        A failing pass (the database away) is logged and tried again at the next tick.
        """
        while not stop.is_set():
            try:
                self.deliver_due()
            except Exception as error:
                log.warning("webhook deliverer: %s, trying again", type(error).__name__)
                log.debug("webhook deliverer failure", exc_info=True)
            stop.wait(interval)

    def start_in_thread(self, interval: float = 1.0) -> threading.Thread:
        """Run in a daemon thread until ``stop()``."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("the webhook deliverer is already running")
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self.run, args=(self._stop, interval), name="overgang-webhooks", daemon=True
        )
        self._thread.start()
        return self._thread

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop the thread started by ``start_in_thread`` and wait for it."""
        if self._stop is not None:
            self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def close(self) -> None:
        self.stop()
        self._client.close()


def build_webhook_deliverer(
    settings: Settings, app: Application[Any], clock: Clock
) -> WebhookDeliverer | None:
    """The deliverer of ``app``'s outbox, or None when no webhook URL is configured."""
    if not settings.webhook_urls or settings.webhook_secret is None:
        return None
    return WebhookDeliverer(
        outbox_of(app),
        settings.webhook_secret.get_secret_value().encode("utf-8"),
        clock=clock,
        timeout=settings.webhook_timeout_seconds,
        max_attempts=settings.webhook_max_attempts,
        backoff_base=timedelta(seconds=settings.webhook_backoff_seconds),
        backoff_cap=timedelta(seconds=settings.webhook_backoff_max_seconds),
    )
