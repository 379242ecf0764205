"""A TCP proxy between an application and PostgreSQL that fails on demand.

It understands just enough of PostgreSQL's wire protocol to see statements go by: it can
cut every open connection, refuse new ones, and let one COMMIT reach the server while the
server's answer to it never reaches the client (the connection is closed instead). That
last one is the hard case of a retry: the write happened, the writer cannot know.

Messages after the start-up are a type byte and a length (which counts itself); the
start-up message has no type byte. The proxy answers "no" to TLS and GSS encryption
requests itself, so what follows is plain text it can read.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from psycopg.conninfo import conninfo_to_dict

from tests import pg

_ENCRYPTION_REQUESTS = {80877103, 80877104}  # SSLRequest, GSSENCRequest
_CHUNK = 65_536


@dataclass
class _CommitTrap:
    """Armed: the next COMMIT of a transaction that ran a statement containing ``marker``
    loses its answer (and with ``then_refuse``, the proxy cuts every connection and
    refuses new ones). ``sprung`` is set once that has happened."""

    marker: bytes
    then_refuse: bool
    sprung: threading.Event = field(default_factory=threading.Event)


def _cstring(data: bytes, start: int) -> tuple[bytes, int]:
    end = data.index(b"\0", start)
    return data[start:end], end + 1


class _Connection:
    """One client connection and its server connection, with a thread for each direction."""

    def __init__(self, proxy: PostgresProxy, client: socket.socket, server: socket.socket):
        self._proxy = proxy
        self.client = client
        self.server = server
        self._closed = threading.Event()
        # What the client has sent, as the server will understand it.
        self._statements: dict[bytes, bytes] = {}  # prepared statement name -> SQL
        self._marked = False  # the current transaction ran a statement with the marker
        # Set (with the trap it claimed) when the answer to this COMMIT is to be lost.
        self._dropping: _CommitTrap | None = None

    def start(self) -> None:
        for target, name in (
            (self._client_to_server, "to-server"),
            (self._server_to_client, "to-client"),
        ):
            threading.Thread(target=target, name=f"pg-proxy-{name}", daemon=True).start()

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        for sock in (self.client, self.server):
            # shutdown() wakes the other thread's recv(); close() alone would not.
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._proxy._forget(self)

    # --- client to server ------------------------------------------------------------------

    def _client_to_server(self) -> None:
        buffer = b""
        started = False
        try:
            while chunk := self.client.recv(_CHUNK):
                buffer += chunk
                forward = bytearray()
                while True:
                    if not started:
                        if len(buffer) < 8:
                            break
                        length, code = struct.unpack("!ii", buffer[:8])
                        if len(buffer) < length:
                            break
                        message, buffer = buffer[:length], buffer[length:]
                        if code in _ENCRYPTION_REQUESTS:
                            self.client.sendall(b"N")
                            continue
                        started = True
                        forward += message
                        continue
                    if len(buffer) < 5:
                        break
                    length = struct.unpack("!i", buffer[1:5])[0]
                    if len(buffer) < 1 + length:
                        break
                    message, buffer = buffer[: 1 + length], buffer[1 + length :]
                    # Looked at before it is forwarded: the server cannot answer a COMMIT
                    # before the trap is set on this connection.
                    self._look_at(message[:1], message[5:])
                    forward += message
                if forward:
                    self.server.sendall(forward)
        except OSError:
            pass
        finally:
            self.close()

    def _look_at(self, kind: bytes, body: bytes) -> None:
        """Follow the statements the client runs: a simple query, or (the extended
        protocol, always used in pipeline mode) a Parse that names a statement and the
        Bind that runs it. Prepared statements are parsed once and bound many times."""
        if kind == b"P":  # Parse: statement name, SQL, ...
            name, offset = _cstring(body, 0)
            self._statements[name] = _cstring(body, offset)[0]
            return
        if kind == b"Q":  # Query: SQL
            statement = _cstring(body, 0)[0]
        elif kind == b"B":  # Bind: portal name, statement name, ...
            _, offset = _cstring(body, 0)
            statement = self._statements.get(_cstring(body, offset)[0], b"")
        else:
            return
        words = statement.lstrip().upper()
        if words.startswith(b"COMMIT"):
            trap = self._proxy._claim_trap() if self._marked else None
            if trap is not None:
                self._dropping = trap
            self._marked = False
        elif words.startswith(b"ROLLBACK"):
            self._marked = False
        elif self._proxy._marks(statement):
            self._marked = True

    # --- server to client ------------------------------------------------------------------

    def _server_to_client(self) -> None:
        buffer = b""
        try:
            while chunk := self.server.recv(_CHUNK):
                buffer += chunk
                forward = bytearray()
                while len(buffer) >= 5:
                    length = struct.unpack("!i", buffer[1:5])[0]
                    if len(buffer) < 1 + length:
                        break
                    message, buffer = buffer[: 1 + length], buffer[1 + length :]
                    trap = self._dropping
                    if (
                        trap is not None
                        and message[:1] == b"C"
                        and message[5:].startswith(b"COMMIT")
                    ):
                        # The server has committed; the client never hears of it.
                        self.client.sendall(forward)
                        trap.sprung.set()
                        if trap.then_refuse:
                            self._proxy.refuse_new_connections()
                            self._proxy.cut()
                        return
                    forward += message
                if forward:
                    self.client.sendall(forward)
        except OSError:
            pass
        finally:
            self.close()


class PostgresProxy:
    """Listens on a free local port and forwards each connection to PostgreSQL."""

    def __init__(self, upstream: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        self._upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._connections: set[_Connection] = set()
        self._refusing = False
        self._trap: _CommitTrap | None = None
        self._thread = threading.Thread(target=self._accept, name="pg-proxy", daemon=True)
        self._thread.start()

    def url(self, database_url: str) -> str:
        """``database_url`` (a database on the upstream server) reached through the proxy."""
        return pg.database_url(
            f"postgresql://postgres@127.0.0.1:{self.port}/postgres", _dbname(database_url)
        )

    # --- faults ------------------------------------------------------------------------------

    def cut(self) -> int:
        """Close every open connection, both ways; returns how many there were."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.close()
        return len(connections)

    def refuse_new_connections(self) -> None:
        """From now on, close every new connection as soon as it is made."""
        with self._lock:
            self._refusing = True

    def accept_new_connections(self) -> None:
        with self._lock:
            self._refusing = False

    @contextmanager
    def refusing(self) -> Iterator[None]:
        """Within the block, every new connection is closed as soon as it is made."""
        self.refuse_new_connections()
        try:
            yield
        finally:
            self.accept_new_connections()

    def drop_next_commit_reply(
        self, marker: bytes = b"LOCK TABLE", *, then_refuse: bool = False
    ) -> threading.Event:
        """The next COMMIT of a transaction that ran a statement containing ``marker``
        (by default: eventsourcing's insert of events, which locks the events table)
        reaches the server, but its answer is dropped and the connection closed. With
        ``then_refuse``, every other connection is cut too and new ones are refused until
        ``accept_new_connections()``.

        Returns an event that is set once the answer was dropped.
        """
        trap = _CommitTrap(marker, then_refuse)
        with self._lock:
            self._trap = trap
        return trap.sprung

    def close(self) -> None:
        with suppress(OSError):
            # shutdown() wakes the accepting thread; close() alone may not.
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self.cut()
        self._thread.join(5)

    # --- plumbing --------------------------------------------------------------------------

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                refusing = self._refusing
            if refusing:
                client.close()
                continue
            try:
                server = socket.create_connection(self._upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            connection = _Connection(self, client, server)
            with self._lock:
                self._connections.add(connection)
            connection.start()

    def _forget(self, connection: _Connection) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _marks(self, sql: bytes) -> bool:
        with self._lock:
            return self._trap is not None and self._trap.marker in sql

    def _claim_trap(self) -> _CommitTrap | None:
        with self._lock:
            trap, self._trap = self._trap, None
            return trap


def _dbname(database_url: str) -> str:
    return str(conninfo_to_dict(database_url)["dbname"])
