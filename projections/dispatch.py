"""Choosing, per event, what a projection does with it: once per event type, not per event.

A projection looks at every event of every batch, most of which it passes over, and
hands the others to a ``singledispatchmethod``. Asked per event, ``isinstance`` against a
tuple of a dozen classes and the dispatch through the bound descriptor each cost more
than most handlers (together about 1.5 us an event); their answers depend on the event's
type alone, so ``Handlers`` finds them once per type and then looks them up.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import singledispatchmethod
from typing import Any

Handler = Callable[..., Any]
"""A function a ``singledispatchmethod`` registered: called with the projection first."""


class Handlers:
    """For each event type: the function ``owner``'s ``method`` (a
    ``singledispatchmethod``) registered for it if the type is one of ``kinds`` (a
    subclass counts, as with ``isinstance``), else None."""

    def __init__(self, owner: type, method: str, kinds: tuple[type, ...]) -> None:
        dispatcher = inspect.getattr_static(owner, method)
        if not isinstance(dispatcher, singledispatchmethod):
            raise TypeError(f"{owner.__name__}.{method} is not a singledispatchmethod")
        self._dispatch = dispatcher.dispatcher.dispatch
        self._kinds = kinds
        self._found: dict[type, Handler | None] = {}

    def __call__(self, event_type: type) -> Handler | None:
        try:
            return self._found[event_type]
        except KeyError:
            found = self._dispatch(event_type) if issubclass(event_type, self._kinds) else None
            self._found[event_type] = found
            return found
