"""Hostile GraphQL over HTTP: every request beyond a limit, malformed or of the wrong kind
gets a 4xx with a stable code and a message that names what was wrong, never a 500, and
a refused mutation writes nothing.

Everything here is refused before storage is touched, so SQLite is enough.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest

from api.graphql.limits import (
    MAX_COST,
    MAX_FIELDS,
    MAX_QUERY_BYTES,
    MAX_VARIABLES,
    MAX_VARIABLES_BYTES,
)
from infra.settings import Settings
from tests.backends import Backend
from tests.e2e.conftest import Api, open_api

ACKNOWLEDGE = """
mutation Acknowledge($person: ID!, $alert: ID!, $note: String!) {
  acknowledgeAlert(youngPersonId: $person, alertId: $alert, note: $note) { position }
}
"""


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The app with the default settings (introspection on)."""
    yield from open_api(Backend(name="sqlite", data_dir=tmp_path_factory.mktemp("gql") / "var"))


@pytest.fixture(scope="module")
def closed_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The app as in production: ``OVERGANG_GRAPHQL_INTROSPECTION=false``."""
    backend = Backend(name="sqlite", data_dir=tmp_path_factory.mktemp("gql") / "var")
    yield from open_api(backend, graphql_introspection=False)


@pytest.fixture(scope="module")
def open_alert(api: Api) -> tuple[UUID, UUID]:
    """(young person, alert): an open alert the default token may acknowledge."""
    young_person_id = api.enrolled()
    return young_person_id, api.alert(young_person_id)


def post(api: Api, body: Any = None, **kwargs: Any) -> httpx.Response:
    """POST /graphql with the default token: ``body`` as JSON, or ``content`` as given."""
    headers = {**api.headers(), **kwargs.pop("headers", {})}
    if body is not None:
        kwargs["json"] = body
    response: httpx.Response = api.client.post("/graphql", headers=headers, **kwargs)
    return response


def refusal(response: httpx.Response) -> tuple[int, set[str], list[str]]:
    """Status, error codes and messages of an answer that must carry no data."""
    body = response.json()
    assert not body.get("data"), body
    errors = body["errors"]
    return (
        response.status_code,
        {e["extensions"]["code"] for e in errors},
        [e["message"] for e in errors],
    )


def acknowledgement(open_alert: tuple[UUID, UUID], note: str) -> dict[str, Any]:
    young_person_id, alert_id = open_alert
    return {"person": str(young_person_id), "alert": str(alert_id), "note": note}


# --- depth, breadth and cost --------------------------------------------------------------------


def test_an_over_deep_query_is_refused(api: Api) -> None:
    # Eleven levels; the schema has no cycles, so the deepest levels are not even fields.
    query = (
        '{ caseload(counsellorId: "x") { entries { entries { youngPerson { plan { '
        "milestones { id { a { b { c { d { e } } } } } } } } } } } }"
    )

    status, codes, messages = refusal(post(api, {"query": query}))

    assert (status, codes) == (400, {"invalid_query"})
    assert "'anonymous' exceeds maximum operation depth of 10" in messages


def test_a_mutation_with_too_many_aliases_writes_nothing(
    api: Api, open_alert: tuple[UUID, UUID]
) -> None:
    young_person_id, alert_id = open_alert
    fields = " ".join(
        f'a{n}: acknowledgeAlert(youngPersonId: "{young_person_id}", alertId: "{alert_id}", '
        f'note: "test note") {{ position }}'
        for n in range(101)
    )
    before = api.position()

    status, codes, messages = refusal(post(api, {"query": f"mutation {{ {fields} }}"}))

    assert (status, codes) == (400, {"invalid_query"})
    assert messages == ["101 aliases found. Allowed: 100"]
    assert api.position() == before


@pytest.mark.parametrize(
    ("query", "variables", "cost"),
    [
        pytest.param("{ alerts(first: 100000) { entries { id } } }", {}, 100_001, id="huge-first"),
        pytest.param(
            "query Alerts($n: Int!) { alerts(first: $n) { entries { id } } }",
            {"n": 30_000},
            30_001,
            id="huge-first-in-a-variable",
        ),
        pytest.param(
            "{ alerts(first: 500) { entries { youngPerson { timeline(first: 1000) { summary } "
            "} } } }",
            {},
            1 + 500 * (1 + 1 + 1000),
            id="nested-lists-multiply",
        ),
        pytest.param(
            "{ "
            + " ".join(
                f'p{n}: youngPerson(id: "{UUID(int=n)}") {{ timeline(first: 1000) {{ summary }} }}'
                for n in range(30)
            )
            + " }",
            {},
            30 * (1 + 1000),
            id="wide",
        ),
    ],
)
def test_a_query_beyond_the_cost_limit_is_refused_naming_its_cost(
    api: Api, query: str, variables: dict[str, Any], cost: int
) -> None:
    status, codes, messages = refusal(post(api, {"query": query, "variables": variables}))

    assert (status, codes) == (400, {"query_too_costly"})
    assert messages == [
        f"the query may return {cost} objects; at most {MAX_COST} are accepted "
        "(ask for smaller pages with `first`, or fewer nested lists)"
    ]


def test_the_largest_caseload_page_with_flags_and_alerts_is_within_the_limits(api: Api) -> None:
    """The dashboard's caseload query (api/dashboard/static/queries.js) at the largest page:
    every list counted 500 or 10 times, about 11,500 objects."""
    counsellor_id = api.counsellor()
    api.enrolled(counsellor_id)
    api.services.projections.catch_up()
    query = """
    query Caseload($counsellorId: ID!, $first: Int!) {
      caseload(counsellorId: $counsellorId) {
        counsellorId activeCount
        entries(first: $first) {
          entries {
            youngPersonId name
            currentTransition { kind phase }
            nextMilestone { title due }
            openFlags { rule severity since }
            openAlerts { id level status daysQuiet }
          }
          pageInfo { endCursor hasNextPage }
        }
      }
    }
    """

    body = api.graphql(query, counsellorId=str(counsellor_id), first=500)

    assert "errors" not in body, body
    assert body["data"]["caseload"]["activeCount"] == 1


def test_fragments_spread_again_and_again_are_refused_before_validation(api: Api) -> None:
    # Each fragment spreads the next twice: 2^18 fields in under 800 bytes; walking them
    # would keep a validation rule busy for seconds.
    fragments = "\n".join(
        f"fragment F{n} on Query {{ ...F{n + 1} ...F{n + 1} }}" for n in range(18)
    )
    query = f"query {{ ...F0 }}\n{fragments}\nfragment F18 on Query {{ __typename }}"

    status, codes, messages = refusal(post(api, {"query": query}))

    assert (status, codes) == (400, {"query_too_large"})
    assert messages == [
        f"the query selects {2**18} fields once its fragments are expanded; "
        f"at most {MAX_FIELDS} are accepted"
    ]


def test_cyclic_fragments_are_refused(api: Api) -> None:
    query = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }"

    status, codes, messages = refusal(post(api, {"query": query}))

    assert (status, codes) == (400, {"invalid_query"})
    assert "Cannot spread fragment 'A' within itself via 'B'." in messages


# --- sizes ---------------------------------------------------------------------------------------


def test_an_oversized_query_text_is_refused(api: Api) -> None:
    query = "{ __typename }" + " " * MAX_QUERY_BYTES

    status, codes, messages = refusal(post(api, {"query": query}))

    assert (status, codes) == (400, {"query_too_large"})
    assert messages == [
        f"the query is {len(query)} bytes long; at most {MAX_QUERY_BYTES} are accepted"
    ]


def test_an_oversized_mutation_variable_is_refused_and_writes_nothing(
    api: Api, open_alert: tuple[UUID, UUID]
) -> None:
    variables = acknowledgement(open_alert, "x" * MAX_VARIABLES_BYTES)
    size = len(json.dumps(variables, ensure_ascii=False).encode())
    before = api.position()

    status, codes, messages = refusal(post(api, {"query": ACKNOWLEDGE, "variables": variables}))

    assert (status, codes) == (400, {"variables_too_large"})
    assert messages == [
        f"the variables are {size} bytes of JSON; at most {MAX_VARIABLES_BYTES} are accepted"
    ]
    assert api.position() == before


def test_too_many_variables_are_refused(api: Api) -> None:
    variables = {f"v{n}": n for n in range(MAX_VARIABLES + 1)}

    status, codes, messages = refusal(
        post(api, {"query": "{ __typename }", "variables": variables})
    )

    assert (status, codes) == (400, {"variables_too_large"})
    assert messages == [f"{MAX_VARIABLES + 1} variables were sent; at most 50 are accepted"]


def test_a_note_with_a_nul_character_is_refused_and_writes_nothing(
    api: Api, open_alert: tuple[UUID, UUID]
) -> None:
    """PostgreSQL cannot store a NUL in the alerts read model's text: it never gets there."""
    before = api.position()

    body = api.graphql(ACKNOWLEDGE, **acknowledgement(open_alert, "test\x00note"))

    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["invalid_argument"]
    assert body["errors"][0]["message"] == "note must not contain NUL characters"
    assert api.position() == before


# --- requests that are no GraphQL request --------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b'{"query": ', "Unable to parse request body as JSON", id="truncated"),
        pytest.param(b"\x80\x81", "the body is not JSON in UTF-8, or nested too deeply", id="utf8"),
        pytest.param(
            b"[" * 100_000 + b"]" * 100_000,
            "the body is not JSON in UTF-8, or nested too deeply",
            id="nested",
        ),
        pytest.param(b"42", 'expected a JSON object, such as {"query": "..."}', id="number"),
        pytest.param(b"null", 'expected a JSON object, such as {"query": "..."}', id="null"),
        pytest.param(b'[{"query": "{ __typename }"}]', "Batching is not enabled", id="batch"),
        pytest.param(
            b'{"query": 42}',
            "The GraphQL operation's `query` must be a string or null, if provided.",
            id="query-not-a-string",
        ),
        pytest.param(b"{}", "No GraphQL query found in the request", id="no-query"),
        pytest.param(
            b'{"query": "{ __typename }", "variables": [1]}',
            "The GraphQL operation's `variables` must be an object or null, if provided.",
            id="variables-not-an-object",
        ),
        pytest.param(
            b'{"query": "query A { __typename }", "operationName": "B"}',
            'Unknown operation named "B".',
            id="unknown-operation",
        ),
        pytest.param(
            b'{"query": "query A { __typename } query B { __typename }"}',
            "the document has several operations: name the one to run in `operationName`",
            id="several-operations-no-name",
        ),
        pytest.param(
            b'{"query": "subscription { alertRaised { id } }"}',
            "subscriptions are served over a websocket (graphql-transport-ws), not over plain HTTP",
            id="subscription",
        ),
    ],
)
def test_a_malformed_request_is_a_bad_request(api: Api, content: bytes, message: str) -> None:
    response = post(api, content=content, headers={"Content-Type": "application/json"})

    assert refusal(response) == (400, {"invalid_request"}, [message])


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_a_body_that_is_not_json_is_an_unsupported_media_type(api: Api, content_type: str) -> None:
    response = post(
        api, content=b'{"query": "{ __typename }"}', headers={"Content-Type": content_type}
    )

    assert refusal(response) == (
        415,
        {"unsupported_media_type"},
        ["a GraphQL request is JSON: send it with Content-Type: application/json"],
    )


# --- introspection --------------------------------------------------------------------------------

INTROSPECTION = [
    pytest.param("{ __schema { queryType { name } } }", "__schema", id="schema"),
    pytest.param('{ __type(name: "Query") { name } }', "__type", id="type"),
]


@pytest.mark.parametrize(("query", "field"), INTROSPECTION)
def test_introspection_is_on_by_default(api: Api, query: str, field: str) -> None:
    body = api.graphql(query)

    assert "errors" not in body
    assert body["data"][field]["name" if field == "__type" else "queryType"]


@pytest.mark.parametrize(("query", "field"), INTROSPECTION)
def test_introspection_turned_off_is_refused(closed_api: Api, query: str, field: str) -> None:
    status, codes, messages = refusal(post(closed_api, {"query": query}))

    assert (status, codes) == (400, {"introspection_disabled"})
    assert messages[0] == (
        "GraphQL introspection has been disabled, but the requested query contained "
        f"the field '{field}'."
    )


def test_without_introspection_typename_still_answers_and_there_is_no_graphiql(
    closed_api: Api,
) -> None:
    assert closed_api.graphql("{ __typename }") == {"data": {"__typename": "Query"}}

    page = closed_api.client.get("/graphql", headers={"Accept": "text/html"})

    assert refusal(page) == (404, {"not_found"}, ["Not Found"])


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERGANG_GRAPHQL_INTROSPECTION", "false")

    assert Settings().graphql_introspection is False
