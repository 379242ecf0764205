"""Records what personal data a GraphQL request read: one statement per request.

Resolvers note reads in the context (``Context.read_personal_data``); ``RecordReads``
appends them to the access log together: when execution ends for a query or mutation, and
before each result of a subscription is sent (a subscription's execution "ends" before its
first result). Should that fail, the answer carries no data: personal data is not handed
out unrecorded.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from anyio import to_thread
from graphql import ExecutionResult
from strawberry.extensions import SchemaExtension

from api.graphql.context import Context
from api.graphql.errors import UNAVAILABLE, graphql_error

log = logging.getLogger(__name__)


async def _record_reads(context: object, result: object) -> None:
    """Log the reads noted in ``context``; on failure, withhold ``result``'s data."""
    if not isinstance(context, Context) or not context.reads or context.actor is None:
        return
    reads = list(context.reads)
    context.reads.clear()
    services, actor = context.services, context.actor
    try:
        await to_thread.run_sync(lambda: services.access_log.record(actor, services.clock(), reads))
    except Exception as error:  # whatever it was: withhold the data
        log.warning("access log not written: %s", type(error).__name__)
        if isinstance(result, ExecutionResult):
            result.data = None
            result.errors = [
                graphql_error(UNAVAILABLE, "the access log is unavailable; try again shortly")
            ]


class RecordReads(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        yield
        await _record_reads(self.execution_context.context, self.execution_context.result)

    async def on_stream_result(self, result: object) -> AsyncIterator[None]:
        await _record_reads(self.execution_context.context, result)
        yield
