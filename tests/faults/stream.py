"""A client that keeps sending commands, as a well-behaved one does through an outage.

Each command carries an ``Idempotency-Key`` of its own; an answer of 503 (or a lost
connection) is retried with the same key until the command is accepted, so every command
must end up recorded exactly once. Every answer is kept for the test to look at.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx


def body_of(response: httpx.Response) -> Any:
    """The answer's JSON body; None when it has none (uvicorn's own error pages)."""
    try:
        return response.json()
    except ValueError:
        return None


@dataclass(frozen=True)
class Answer:
    key: str
    status: int
    body: Any
    retry_after: str | None
    replayed: bool


class CommandStream:
    """Posts ``body`` to ``path`` again and again from a thread of its own."""

    def __init__(
        self,
        base_url: str,
        path: str,
        body: Mapping[str, Any],
        headers: Mapping[str, str],
        *,
        pause: float = 0.02,
        give_up_after: float = 60.0,
    ) -> None:
        self._base_url = base_url
        self._path = path
        self._body = dict(body)
        self._headers = dict(headers)
        # Between retries; far below Retry-After, so an outage sees many attempts.
        self._pause = pause
        self._give_up_after = give_up_after
        self._lock = threading.Lock()
        self._answers: list[Answer] = []
        self._keys: list[str] = []
        self.transport_errors: list[str] = []  # type names only
        self.abandoned: list[str] = []  # keys retried for too long
        self.crash: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="command-stream", daemon=True)

    # --- control -----------------------------------------------------------------------------

    def start(self) -> CommandStream:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the command in flight is accepted (or abandoned)."""
        self._stop.set()
        self._thread.join(self._give_up_after + 30)
        assert not self._thread.is_alive(), "the command stream did not stop"

    # --- what happened -------------------------------------------------------------------------

    @property
    def answers(self) -> list[Answer]:
        """Every answer, in the order received."""
        with self._lock:
            return list(self._answers)

    @property
    def keys(self) -> list[str]:
        """Every command's key, in the order sent."""
        with self._lock:
            return list(self._keys)

    def accepted(self) -> dict[str, Answer]:
        """The answer that accepted each command, by key."""
        return {answer.key: answer for answer in self.answers if answer.status == 201}

    def count(self, status: int) -> int:
        return sum(1 for answer in self.answers if answer.status == status)

    # --- the thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            with httpx.Client(base_url=self._base_url, timeout=30) as client:
                while not self._stop.is_set():
                    self._send_until_accepted(client, f"stream-{uuid4()}")
        except BaseException as error:  # the test reports it; a thread must not die silently
            self.crash = error

    def _send_until_accepted(self, client: httpx.Client, key: str) -> None:
        with self._lock:
            self._keys.append(key)
        deadline = time.monotonic() + self._give_up_after
        headers = {**self._headers, "Idempotency-Key": key}
        while True:
            try:
                response = client.post(self._path, json=self._body, headers=headers)
            except httpx.TransportError as error:
                with self._lock:
                    self.transport_errors.append(type(error).__name__)
            else:
                answer = Answer(
                    key=key,
                    status=response.status_code,
                    body=body_of(response),
                    retry_after=response.headers.get("Retry-After"),
                    replayed=response.headers.get("Idempotent-Replayed") == "true",
                )
                with self._lock:
                    self._answers.append(answer)
                if answer.status != 503:
                    return
            if time.monotonic() > deadline:
                with self._lock:
                    self.abandoned.append(key)
                return
            time.sleep(self._pause)
