"""Helpers for the outbox and webhook tests: services with webhooks, a quiet-transition alert,
and a real HTTP receiver on loopback that records what it was sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import UUID

from pydantic import SecretStr

from domain.actors import Actor, Role
from infra.bootstrap import Services, build_services
from infra.outbox import OutboxRow, outbox_of
from infra.settings import Settings
from tests.backends import Backend
from tests.factories import CaseIds, a_context, a_transition, enrolled_young_person
from tests.fakes import FakeClock

SECRET = "test-webhook-secret-0123456789"
SWEEPER = a_context(Actor(id="alert-sweeper", role=Role.SYSTEM))
QUIET_FOR = timedelta(days=8)  # past the default 7-day threshold


def webhook_settings(backend: Backend, urls: Sequence[str], **overrides: Any) -> Settings:
    return Settings(
        database_url=backend.database_url,
        data_dir=backend.data_dir,
        webhook_urls=list(urls),
        webhook_secret=SecretStr(SECRET) if urls else None,
        **overrides,
    )


@contextmanager
def open_services(settings: Settings, clock: FakeClock) -> Iterator[Services]:
    services = build_services(settings, clock=clock)
    try:
        yield services
    finally:
        services.close()


@dataclass(frozen=True)
class RaisedAlert:
    case: CaseIds
    transition_id: UUID
    alert_id: UUID
    position: int


def raise_an_alert(services: Services, clock: FakeClock) -> RaisedAlert:
    """An enrolled young person whose transition went quiet, and the alert raised for it."""
    app = services.app
    case = enrolled_young_person(app)
    transition_id = app.start_transition(case.young_person_id, a_transition(), a_context()).ids[
        "transition_id"
    ]
    clock.advance(QUIET_FOR)
    result = app.raise_quiet_alert(case.young_person_id, transition_id, SWEEPER)
    return RaisedAlert(case, transition_id, result.ids["alert_id"], result.position)


def outbox_rows(services: Services) -> list[OutboxRow]:
    return outbox_of(services.app).rows()


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 answering with scripted status codes, then 200."""

    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0  # seconds per request, to let concurrent deliverers overlap
    received: list[Received] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            self.received.append(Received(headers, body))
            return self.statuses.pop(0) if self.statuses else 200


@contextmanager
def running_receiver(statuses: Sequence[int] = (), delay: float = 0.0) -> Iterator[Receiver]:
    receiver = Receiver(statuses=list(statuses), delay=delay)
    stop_waiting = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if receiver.delay:
                stop_waiting.wait(receiver.delay)
            status = receiver.answer(dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet test output

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/overgang"
    thread = threading.Thread(target=server.serve_forever, name="test-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        stop_waiting.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
