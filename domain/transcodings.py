"""How the value types of events and aggregate state are written to and read from JSON.

Enums are registered one transcoding per class, so a stored value always comes back as the
same enum member (a plain ``str`` would compare unequal after a replay).
"""

from __future__ import annotations

from datetime import date, time
from enum import Enum
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain import vocabulary
from domain.actors import Actor, Role


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class TimeAsISO(Transcoding):
    type = time
    name = "time_iso"

    def encode(self, obj: time) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> time:
        return time.fromisoformat(data)


class ActorAsDict(Transcoding):
    type = Actor
    name = "actor"

    def encode(self, obj: Actor) -> dict[str, Any]:
        return {"id": obj.id, "role": obj.role.value}

    def decode(self, data: dict[str, Any]) -> Actor:
        return Actor(id=data["id"], role=Role(data["role"]))


class EnumAsValue(Transcoding):
    def __init__(self, enum_class: type[Enum]) -> None:
        self.type = enum_class
        self.name = f"enum_{enum_class.__name__}"

    def encode(self, obj: Enum) -> Any:
        return obj.value

    def decode(self, data: Any) -> Enum:
        member: Enum = self.type(data)
        return member


def enum_classes() -> list[type[Enum]]:
    found = [
        value
        for value in vars(vocabulary).values()
        if isinstance(value, type) and issubclass(value, Enum) and value is not Enum
    ]
    return [*found, Role]


def register_domain_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(DateAsISO())
    transcoder.register(TimeAsISO())
    transcoder.register(ActorAsDict())
    for enum_class in enum_classes():
        transcoder.register(EnumAsValue(enum_class))
