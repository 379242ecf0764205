"""The HTTP edge itself: unavailable storage, oversized and hostile bodies, docs, health."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn
from uuid import uuid4

import pytest
from eventsourcing.persistence import InterfaceError, OperationalError

from api.app import MAX_BODY_BYTES
from projections.store import ViewStoreUnavailableError
from tests import pg
from tests.backends import Backend
from tests.e2e import payloads
from tests.e2e.conftest import Api, open_api, yp
from tests.e2e.payloads import ROUTES


def _unavailable_answer(response: Any) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json() == {
        "code": "unavailable",
        "message": "the database is unavailable; try again shortly",
    }


def test_event_store_failure_is_a_503_and_writes_nothing(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = f"{yp(api.referred())}/contacts"
    before = api.position()

    def away(*args: object, **kwargs: object) -> NoReturn:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(api.services.app.recorder, "insert_events", away)
    response = api.post(path, payloads.contact())
    monkeypatch.undo()

    _unavailable_answer(response)
    assert api.position() == before
    assert api.post(path, payloads.contact()).status_code == 201


@pytest.mark.parametrize("error", [InterfaceError, ViewStoreUnavailableError])
def test_idempotency_lookup_failure_is_a_503(
    sqlite_api: Api, monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> None:
    def away(key: str) -> NoReturn:
        raise error("connection refused")

    monkeypatch.setattr(sqlite_api.services, "find_idempotent_outcome", away)

    # A pending referral: in reach, so the request gets as far as the lookup.
    response = sqlite_api.post(
        f"{yp(sqlite_api.referred())}/contacts", payloads.contact(), key=f"contact-{uuid4()}"
    )

    _unavailable_answer(response)


@pytest.fixture
def own_postgres(pg_url: str, tmp_path: Path) -> Iterator[Api]:
    """The app on a PostgreSQL database of its own, so the test may take it away."""
    yield from open_api(Backend(name="postgres", data_dir=tmp_path / "var", database_url=pg_url))


def test_postgres_going_away_gives_503_and_recovery(own_postgres: Api, pg_url: str) -> None:
    api = own_postgres
    path = f"{yp(api.referred())}/contacts"
    before = api.position()
    # Each attempt waits for a pooled connection up to POSTGRES_CONNECT_TIMEOUT: shorten
    # the wait while the database is away, and give it back for the recovery.
    pool = api.services.app.recorder.datastore.pool  # type: ignore[attr-defined]
    timeout, pool.timeout = pool.timeout, 0.1
    pg.allow_connections(pg_url, allowed=False)
    try:
        response = api.post(path, payloads.contact())
    finally:
        pg.allow_connections(pg_url, allowed=True)
        pool.timeout = timeout

    _unavailable_answer(response)
    assert api.position() == before
    recovered = api.post(path, payloads.contact())
    assert recovered.status_code == 201
    assert api.event_names_since(before) == ["ContactRecorded"]


# --- hostile and oversized requests ------------------------------------------------------------


def test_declared_oversized_body_is_refused_before_reading(sqlite_api: Api) -> None:
    body = payloads.referral(reason="x" * MAX_BODY_BYTES)
    before = sqlite_api.position()

    response = sqlite_api.post("/api/v1/referrals", body)

    assert response.status_code == 413
    assert response.json() == {
        "code": "request_too_large",
        "message": f"the request body is larger than {MAX_BODY_BYTES} bytes",
    }
    assert sqlite_api.position() == before


def test_streamed_oversized_body_is_refused(sqlite_api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(20):
            yield b"x" * 65_536
        yield b'"}'

    response = sqlite_api.client.post(
        "/api/v1/referrals",
        content=chunks(),
        headers={**sqlite_api.headers(), "Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_deeply_nested_json_is_a_client_error(sqlite_api: Api) -> None:
    depth = 200_000
    raw = b"[" * depth + b"]" * depth

    response = sqlite_api.client.post(
        "/api/v1/referrals",
        content=raw,
        headers={**sqlite_api.headers(), "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json() == {
        "code": "bad_request",
        "message": "There was an error parsing the body",
    }


def test_unknown_path_answers_json_404(sqlite_api: Api) -> None:
    response = sqlite_api.client.get("/api/v1/nowhere")

    assert (response.status_code, response.json()) == (
        404,
        {"code": "not_found", "message": "Not Found"},
    )


def test_wrong_method_answers_json_405(sqlite_api: Api) -> None:
    response = sqlite_api.client.get("/api/v1/referrals", headers=sqlite_api.headers())

    assert (response.status_code, response.json()["code"]) == (405, "method_not_allowed")


# --- documentation --------------------------------------------------------------------------


def test_openapi_documents_every_command(sqlite_api: Api) -> None:
    spec = sqlite_api.client.get("/openapi.json").json()

    # Commands are POSTs; reads under /api/v1 (the subject access export) have tests of
    # their own.
    documented = {
        path
        for path, operations in spec["paths"].items()
        if path.startswith("/api/v1/") and "post" in operations
    }
    expected = {route.path for route in ROUTES}
    assert documented == expected
    for path in expected:
        operation = spec["paths"][path]["post"]
        assert operation["description"], path
        assert set(operation["responses"]) == {
            *("201", "400", "401", "403", "404", "409", "413", "422", "503")
        }
        assert operation["security"] == [{"HTTPBearer": []}]


def test_swagger_ui_is_served(sqlite_api: Api) -> None:
    response = sqlite_api.client.get("/docs")

    assert response.status_code == 200
    assert "swagger" in response.text.lower()


def test_the_root_serves_the_dashboard_which_links_to_the_documentation(
    sqlite_api: Api,
) -> None:
    response = sqlite_api.client.get("/", follow_redirects=False)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'href="/docs"' in response.text
    assert 'href="/graphql"' in response.text
    # Everything from this server: no CDN, no inline script.
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert sqlite_api.client.get("/dashboard/app.js").status_code == 200


def test_graphql_is_mounted(sqlite_api: Api) -> None:
    response = sqlite_api.client.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert "graphiql" in response.text.lower()
