"""The read models on a read replica (``OVERGANG_READ_DATABASE_URL``): where an API process
answers GraphQL queries and read-only downloads, and how it waits for a position there.

A hot standby applies the primary's write-ahead log in commit order, so a projection
batch's view rows and its tracking row arrive in one transaction: the replica's
``projection_tracking`` says exactly what the replica's views hold. Read-your-writes
therefore waits on the replica's tracking rows, not on the primary's (which run ahead of
the replica by the replication lag) nor on the in-process runner's (which commits to the
primary).

Nothing is written here: the store opens read-only transactions only, and the tables are
the primary's to create (the replica gets them by replication).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from projections.store import PostgresViewStore, ViewStore, read_positions


class ReadReplica:
    """The replica's view store, and ``api.deps.ProjectionWaiter`` on its tracking rows."""

    def __init__(self, views: ViewStore, projections: Sequence[str], poll_interval: float) -> None:
        self.views = views
        self._projections = tuple(projections)
        self._poll_interval = poll_interval

    @classmethod
    def connect(
        cls, url: str, projections: Sequence[str], *, pool_size: int, poll_interval: float
    ) -> ReadReplica:
        """On the replica at ``url``, with a pool of its own that opens on first use."""
        views = PostgresViewStore(
            url, pool_size=pool_size, name="overgang-read-replica", read_only=True
        )
        return cls(views, projections, poll_interval)

    def wait_for(self, position: int, timeout: float) -> bool:
        """Wait until every read model on the replica has applied ``position``; False on
        timeout. A replica that cannot be reached raises ``ViewStoreUnavailableError``
        (the query answers ``unavailable``: waiting out the timeout would only say "not
        yet" about a database that is away)."""
        deadline = time.monotonic() + timeout
        while True:
            if self._has_reached(position):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(remaining, self._poll_interval))

    def _has_reached(self, position: int) -> bool:
        with self.views.transaction(readonly=True) as cur:
            stored = read_positions(cur)
        return all(stored.get(name, 0) >= position for name in self._projections)

    def close(self) -> None:
        self.views.close()
