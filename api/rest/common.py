"""What every REST resource shares: text limits and the documented error answers."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

NAME_MAX = 200
TEXT_MAX = 10_000

Name = Annotated[str, StringConstraints(min_length=1, max_length=NAME_MAX)]
"""A name or a short label (a person, an institution, a programme, a legal basis)."""

ShortText = Annotated[str, StringConstraints(max_length=NAME_MAX)]
"""A short label that may be empty (a programme)."""

Text = Annotated[str, StringConstraints(max_length=TEXT_MAX)]
"""Free text that may be empty (a note)."""

RequiredText = Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX)]
"""Free text that must say something (a reason)."""

Phone = Annotated[
    str, StringConstraints(min_length=3, max_length=40, pattern=r"^\+?[0-9][0-9 ()-]*$")
]
TeamId = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class ErrorBody(BaseModel):
    """Every error answer: a stable ``code`` to act on and a message for people."""

    code: str = Field(description="Stable, machine-readable, for example `case_closed`.")
    message: str


class ValidationErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(ErrorBody):
    """A request that does not have the documented shape (code `invalid_request`), or a
    command that breaks a rule whatever the state (for example `consent_missing`)."""

    errors: list[ValidationErrorItem] = Field(default_factory=list)


COMMAND_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No valid bearer token (`unauthenticated`)."},
    403: {
        "model": ErrorBody,
        "description": "The caller's role or scope does not permit it (`forbidden`); an "
        "unknown young person is answered the same way.",
    },
    404: {"model": ErrorBody, "description": "A named record does not exist."},
    409: {
        "model": ErrorBody,
        "description": "Not possible in the record's current state, or someone else wrote "
        "to it first (`concurrent_update`): nothing was recorded.",
    },
    422: {"model": ValidationErrorBody, "description": "Invalid request or broken rule."},
    503: {"model": ErrorBody, "description": "The database is unavailable; retry later."},
}
