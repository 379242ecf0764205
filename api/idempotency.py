"""Running a command once: the ``Idempotency-Key`` header, and the answer to a retry.

Every REST command goes through ``CommandRunner.run``. With a key, the command is recorded
together with the key in the events' own transaction (see ``infra.recorders``), so a retry
finds the first outcome and records nothing new, even when the first answer was lost.
Keys are scoped to the caller (``<actor id>:<key>``), so two callers cannot collide.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ApiServices, PrincipalDep, get_services_of
from api.rest.common import Moment
from domain.actors import Actor
from domain.application import CommandContext, CommandResult, IdempotencyKey, Overgang
from domain.errors import ConcurrentUpdateError

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Printable ASCII; HTTP strips surrounding blanks, so a key cannot start or end with one.
KEY_PATTERN = r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$"
MAX_KEY_LENGTH = 200


class IdempotencyKeyReusedError(Exception):
    """The same key came with another request: the client has a bug, not a retry."""

    code = "idempotency_key_reused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CommandAccepted(BaseModel):
    """The command was recorded (or had been, under the same idempotency key)."""

    ids: dict[str, UUID] = Field(
        description="The ids the command concerns or created, by name "
        "(for example `young_person_id`, `contact_id`)."
    )
    position: int = Field(
        description="The event log position written. A query may wait for the read models "
        "to reach it to read its own write."
    )

    @classmethod
    def of(cls, ids: Mapping[str, UUID], position: int) -> CommandAccepted:
        return cls(ids=dict(ids), position=position)


class CommandBody(BaseModel):
    """Base of every command body: unknown fields are refused, ``occurred_at`` is optional."""

    model_config = ConfigDict(extra="forbid")

    occurred_at: Moment | None = Field(
        default=None,
        description="When it happened in the world, with a time zone; default: now. "
        "It may lie in the past, but not more than a few minutes in the future.",
    )


def fingerprint(method: str, path: str, body: Mapping[str, Any], actor: Actor) -> str:
    """A digest of the request, so a key sent again with another request is refused.

    The actor is part of it too: a scoped key cannot then match across two callers, even
    if one caller's id happened to contain the separator.
    """
    canonical = json.dumps(
        {"method": method.upper(), "path": path, "body": body, "actor": actor.id},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class CommandRunner:
    """Runs one command for the current request, at most once per idempotency key."""

    def __init__(
        self,
        services: ApiServices,
        actor: Actor,
        request: Request,
        response: Response,
        idempotency_key: str | None,
    ) -> None:
        self.services = services
        self.actor = actor
        self._request = request
        self._response = response
        self._key = idempotency_key

    @property
    def app(self) -> Overgang:
        return self.services.app

    def run(
        self, body: CommandBody, command: Callable[[CommandContext], CommandResult]
    ) -> CommandAccepted:
        if self._key is None:
            result = command(CommandContext(actor=self.actor, occurred_at=body.occurred_at))
            return CommandAccepted.of(result.ids, result.position)
        key = IdempotencyKey(
            key=f"{self.actor.id}:{self._key}",
            fingerprint=fingerprint(
                self._request.method,
                self._request.url.path,
                body.model_dump(mode="json"),
                self.actor,
            ),
        )
        replay = self._replay(key)
        if replay is not None:
            return replay
        context = CommandContext(actor=self.actor, occurred_at=body.occurred_at, idempotency=key)
        try:
            result = command(context)
        except ConcurrentUpdateError:
            # Either another writer changed the stream, or a concurrent retry with this key
            # won the race: in the second case its outcome is this request's answer.
            replay = self._replay(key)
            if replay is None:
                raise
            return replay
        return CommandAccepted.of(result.ids, result.position)

    def _replay(self, key: IdempotencyKey) -> CommandAccepted | None:
        outcome = self.services.find_idempotent_outcome(key.key)
        if outcome is None:
            return None
        if outcome.fingerprint != key.fingerprint:
            raise IdempotencyKeyReusedError(
                "this Idempotency-Key was already used for another request"
            )
        self._response.headers[REPLAYED_HEADER] = "true"
        return CommandAccepted.of(outcome.ids, outcome.position)


async def command_runner(
    principal: PrincipalDep,
    request: Request,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=IDEMPOTENCY_HEADER,
            min_length=1,
            max_length=MAX_KEY_LENGTH,
            pattern=KEY_PATTERN,
            description="Optional key (1-200 printable characters): a retry with the "
            "same key and request records nothing new and answers as the first time, "
            "with the header `Idempotent-Replayed: true`.",
        ),
    ] = None,
) -> CommandRunner:
    # An async factory (no I/O here) keeps the runner's construction off the thread pool.
    return CommandRunner(
        get_services_of(request), principal.actor, request, response, idempotency_key
    )


CommandsDep = Annotated[CommandRunner, Depends(command_runner)]
