"""What every REST resource shares: input types, text limits and the documented errors.

The input types read JSON as JSON means it. Pydantic, left to itself, would read a number as
a date (seconds since 1970) and refuse ``7.0`` as a whole number, although JSON Schema (and
so the OpenAPI document) says the opposite of both.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

NAME_MAX = 200
TEXT_MAX = 10_000

# No NUL character: it never belongs in text, and PostgreSQL refuses it in a text column
# (a read model would then stop at the event that carries it). Documented as a pattern.
_NO_NUL = r"^[^\x00]*$"

Name = Annotated[str, StringConstraints(min_length=1, max_length=NAME_MAX, pattern=_NO_NUL)]
"""A name or a short label (a person, an institution, a programme, a legal basis)."""

ShortText = Annotated[str, StringConstraints(max_length=NAME_MAX, pattern=_NO_NUL)]
"""A short label that may be empty (a programme)."""

Text = Annotated[str, StringConstraints(max_length=TEXT_MAX, pattern=_NO_NUL)]
"""Free text that may be empty (a note)."""

RequiredText = Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX, pattern=_NO_NUL)]
"""Free text that must say something (a reason)."""

Phone = Annotated[
    str, StringConstraints(min_length=3, max_length=40, pattern=r"^\+?[0-9][0-9 ()-]*$")
]
TeamId = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=_NO_NUL)]

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _iso_8601_text(value: object) -> object:
    """Dates and times come as ISO 8601 text; a number, or text that is one, is refused."""
    if isinstance(value, int | float) or (
        isinstance(value, str) and _NUMBER.fullmatch(value.strip())
    ):
        raise PydanticCustomError(
            "iso_8601", "Input should be ISO 8601 text, such as 2024-03-04 or 09:00:00+01:00"
        )
    return value


IsoText = BeforeValidator(_iso_8601_text)
"""For a date, a time or a timestamp (also an optional one, or a query parameter)."""

Day = Annotated[date, IsoText]
TimeOfDay = Annotated[time, IsoText]
Moment = Annotated[AwareDatetime, IsoText]
"""A timestamp with its time zone."""
Timestamp = Annotated[datetime, IsoText]
"""A timestamp whose missing time zone the route refuses with a message of its own."""


def _whole(value: object) -> object:
    # JSON has one kind of number: 7.0 is 7 (JSON Schema's "integer" includes it).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


JsonInteger = BeforeValidator(_whole)
"""After ``Strict()`` and the bounds (which must precede it to reach the OpenAPI
document): an integer is ``7`` or ``7.0``, never ``"7"``, ``true`` or ``7.5``."""


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
    400: {
        "model": ErrorBody,
        "description": "The body could not be read (`bad_request`): not UTF-8, or JSON "
        "nested too deeply.",
    },
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
    413: {
        "model": ErrorBody,
        "description": "The body is too large (`request_too_large`); the message names the limit.",
    },
    422: {"model": ValidationErrorBody, "description": "Invalid request or broken rule."},
    503: {"model": ErrorBody, "description": "The database is unavailable; retry later."},
}
