"""Arguments several root fields share."""

from __future__ import annotations

from typing import Annotated, TypeAlias

import strawberry

WaitForPosition: TypeAlias = Annotated[
    int | None,
    strawberry.argument(
        description="Read your own write: first wait until the read models have "
        "applied this event log position (a command's `position`); answers the "
        "error `not_yet_visible` if they do not in time."
    ),
]
