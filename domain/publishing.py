"""Domain events that are announced to the outside world, and the messages that announce them.

Some facts matter beyond Overgang (an alert raised, escalated or resolved): a municipality's
own systems may want to hear of them at once. Such an event class also inherits
:class:`Published`, naming the message (``public_name``) and saying what it carries
(``public_payload``). The application turns the pending ``Published`` events of a command
into :class:`OutboxMessage`\\ s and hands them to the recorder, which stores them in the
very transaction that stores the events (a transactional outbox): a message exists if and
only if its event does. Delivery happens later, outside the domain.

A payload leaves the system, so it holds only ids, vocabulary values and ISO dates, never a
PERSONAL field: it names the young person by id only. Erasure then has nothing to purge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar
from uuid import UUID


@dataclass(frozen=True)
class OutboxMessage:
    """One announcement of one event, before it is addressed to any receiver."""

    name: str  # e.g. "alert.raised"
    payload: Mapping[str, object]  # JSON-ready: ids, vocabulary values, ISO dates
    # Which stored event it announces, so the recorder can add that event's log position.
    originator_id: UUID | None = None
    originator_version: int | None = None
    # When the event was recorded (the application's clock): the message is due from then.
    recorded_at: datetime | None = None


class Published:
    """Mixin for a domain event class whose occurrence is announced to the outside world."""

    public_name: ClassVar[str]

    def public_payload(self) -> dict[str, object]:
        """What the announcement carries; never a PERSONAL field."""
        raise NotImplementedError

    def outbox_message(self) -> OutboxMessage:
        return OutboxMessage(
            name=self.public_name,
            payload=self.public_payload(),
            originator_id=getattr(self, "originator_id", None),
            originator_version=getattr(self, "originator_version", None),
            recorded_at=getattr(self, "timestamp", None),
        )


def outbox_messages(events: Iterable[object]) -> list[OutboxMessage]:
    """The messages announcing those of ``events`` that are published, in their order."""
    return [event.outbox_message() for event in events if isinstance(event, Published)]
