// The whole of the dashboard's contact with the server, apart from the demo login: the
// public GraphQL API at /graphql with the user's bearer token. Queries and mutations go
// over HTTP POST; the alertRaised subscription over a websocket speaking the
// graphql-transport-ws protocol, small enough to write here rather than pull in a library.

const ENDPOINT = "/graphql";

/** A GraphQL or transport failure, with the API's stable code (forbidden, unavailable, ...). */
export class GraphQLError extends Error {
  constructor(message, code, status) {
    super(message);
    this.name = "GraphQLError";
    this.code = code;
    this.status = status;
  }
}

/** Run ``query`` with ``variables``; resolves to ``data`` or rejects with a GraphQLError. */
export async function request(token, query, variables = {}) {
  let response;
  try {
    response = await fetch(ENDPOINT, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        Authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    throw new GraphQLError("Serveren svarer ikke.", "network");
  }
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    // Not JSON: a proxy's error page, say. The status tells enough.
  }
  if (body && Array.isArray(body.errors) && body.errors.length > 0) {
    const first = body.errors[0];
    const code = first.extensions?.code ?? body.code ?? "error";
    throw new GraphQLError(first.message, code, response.status);
  }
  if (!response.ok || !body || !body.data) {
    // REST-style errors ({code, message}) come from the HTTP layer: 401, 413, 503.
    throw new GraphQLError(body?.message ?? `HTTP ${response.status}`, body?.code ?? "http", response.status);
  }
  return body.data;
}

const PROTOCOL = "graphql-transport-ws";

/**
 * Subscribe to ``query``; calls ``onData(data)`` for every result and ``onState(state)``
 * with "connecting", "live", "closed" or "refused". Reconnects with a growing pause
 * unless the server refused the token (4403) or ``close()`` was called.
 * Returns ``{ close }``.
 */
export function subscribe(token, query, variables, { onData, onState = () => {}, onError = () => {} }) {
  let socket = null;
  let stopped = false;
  let retryDelay = 1000;
  let timer = null;

  const open = () => {
    onState("connecting");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${location.host}${ENDPOINT}`, PROTOCOL);
    socket.addEventListener("open", () => {
      // The token goes in connection_init: browsers cannot set headers on a websocket.
      socket.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${token}` } }));
    });
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      switch (message.type) {
        case "connection_ack":
          retryDelay = 1000;
          socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables } }));
          onState("live");
          break;
        case "next":
          if (message.payload?.errors?.length) onError(message.payload.errors[0]);
          if (message.payload?.data) onData(message.payload.data);
          break;
        case "error":
          onError(message.payload?.[0] ?? { message: "subscription error" });
          break;
        case "ping":
          socket.send(JSON.stringify({ type: "pong" }));
          break;
        default:
          break;
      }
    });
    socket.addEventListener("close", (event) => {
      if (stopped) return;
      if (event.code === 4403 || event.code === 4401) {
        // The server refused the token: retrying would not help.
        onState("refused");
        return;
      }
      onState("closed");
      timer = setTimeout(open, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    });
  };

  open();
  return {
    close() {
      stopped = true;
      clearTimeout(timer);
      if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000);
    },
  };
}
