"""Every REST operation against its OpenAPI document, fuzzed by schemathesis.

Schemathesis loads the document from the real app and draws requests for every operation,
schema-valid ones and schema-violating ones (odd types, missing fields, NUL characters, huge
numbers, strange headers and ids). Every answer must be documented: no 5xx, a documented
status code, content type and body schema, 401 without a token, 405 with ``Allow``.

To reach the handlers rather than the access checks, each operation is called with a token
of a role that holds it, and every id in the path or the body that is a well-formed UUID is
replaced by the id of a record that exists (a fresh, enrolled young person with a plan,
milestone, transition, decision and alert per operation: one operation's commands, closing
or erasure say, do not change what the next one meets). Malformed ids are left as drawn.

Bounded and deterministic: a fixed number of examples per operation and mode, seeded. The
requests are drawn with schemathesis's Python API (``as_strategy``, ``call_and_validate``):
its pytest plugin's ``from_fixture`` fails on pytest 9.2 (it sets ``Item._nodeid``).
Failure output shows synthetic data only, with the ``Authorization`` and ``Idempotency-Key``
headers filtered by schemathesis.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.python import asgi

from api.idempotency import IDEMPOTENCY_HEADER, KEY_PATTERN, MAX_KEY_LENGTH
from domain.actors import Actor, Role
from tests.backends import Backend
from tests.e2e import payloads
from tests.e2e.conftest import ADMIN, TEAM_LEAD, Api, yp

AUDITOR = Actor(id="auditor-e2e", role=Role.AUDITOR)

# Requests per operation: enough to meet each field's odd values, few enough that the module
# runs in well under a minute. Schema-violating requests cost most to draw; PostgreSQL adds
# what only a server can refuse (text it will not store, numbers beyond its columns).
EXAMPLES = {
    ("sqlite", GenerationMode.POSITIVE): 6,
    ("sqlite", GenerationMode.NEGATIVE): 3,
    ("postgres", GenerationMode.POSITIVE): 3,
    ("postgres", GenerationMode.NEGATIVE): 2,
}

CONFIG = schemathesis.Config.from_dict(
    {
        # Nothing written to the working tree.
        "cache": {"enabled": False},
        # Literals gathered from the app's own source: seconds to gather, and hostile input
        # gains little from them.
        "analysis": {"constants": {"enabled": False}},
        # Replaced by `schema_valid_requests_pass_validation` below: a schema-valid command
        # may still break a rule of the domain that no schema can say (consent to case
        # work, a time in the future, an idempotency key reused for another request),
        # answered 422 with that rule's code.
        "checks": {"positive_data_acceptance": {"enabled": False}},
    }
)


@schemathesis.check
def schema_valid_requests_pass_validation(ctx: Any, response: Any, case: Any) -> None:
    """A request the document calls valid is never refused for its shape: not 400, 413 or
    415, and not 422 ``invalid_request``; a domain rule's 422 (its own code) is an answer."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    status = response.status_code
    shape_refused = status in (400, 413, 415) or (
        status == 422 and response.json().get("code") == "invalid_request"
    )
    if shape_refused:
        raise AssertionError(f"a schema-valid request was refused for its shape ({status})")


@pytest.fixture(scope="module")
def document(sqlite_api: Api) -> Iterator[Any]:
    """The OpenAPI document, loaded once: it is the same on every backend, and the request
    strategies schemathesis builds from it (seconds of work) are kept with it."""
    yield schemathesis.openapi.from_asgi("/openapi.json", sqlite_api.client.app, config=CONFIG)
    # Schemathesis keeps the app's lifespan open for the process otherwise.
    asgi.shutdown_lifespans()


@pytest.fixture(scope="module")
def records_by_operation(api: Api) -> dict[str, dict[str, str]]:
    """The records each operation works on, by operation, on the backend of ``api``: made
    on first use, then kept for the other mode."""
    return {}


def _token(api: Api, path: str) -> str:
    """A token of a role that holds the operation."""
    if path.startswith(("/api/v1/counsellors", "/api/v1/institutions")):
        return api.token_for(ADMIN)
    if path.startswith("/api/v1/decision-audit"):
        return api.token_for(AUDITOR)
    # Team leads hold every command on a case, export and erasure.
    return api.token_for(TEAM_LEAD)


def _records(api: Api) -> dict[str, str]:
    """Records that exist, by the name of the id that names them."""
    counsellor_id = api.counsellor()
    young_person_id = api.enrolled(counsellor_id)
    api.command(f"{yp(young_person_id)}/plan", payloads.plan())
    return {
        "young_person_id": str(young_person_id),
        "counsellor_id": str(counsellor_id),
        "institution_id": str(api.institution()),
        "milestone_id": str(api.milestone(young_person_id)),
        "transition_id": str(api.transition(young_person_id)),
        "decision_id": str(api.decision(young_person_id, counsellor_id)),
        "decided_by": str(counsellor_id),
        "alert_id": str(api.alert(young_person_id)),
    }


def _use_existing(values: dict[str, Any], records: dict[str, str]) -> None:
    """Well-formed ids in ``values`` replaced by those of existing records."""
    for name, value in values.items():
        if name in records and isinstance(value, str):
            try:
                UUID(value)
            except ValueError:
                continue
            values[name] = records[name]


_requests_sent = itertools.count()


def _key_of_its_own(headers: dict[str, Any]) -> None:
    """A valid ``Idempotency-Key`` made unique: drawn again for another request, the same
    key is refused (`idempotency_key_reused`), and would hide what that request meets."""
    key = headers.get(IDEMPOTENCY_HEADER)
    if isinstance(key, str) and re.fullmatch(KEY_PATTERN, key) and len(key) < MAX_KEY_LENGTH - 9:
        headers[IDEMPOTENCY_HEADER] = f"{key}-{next(_requests_sent)}"


def _has_inputs(operation: Any) -> bool:
    return any(True for _ in operation.iter_parameters()) or bool(
        operation.get_request_payload_content_types()
    )


def _fuzz(
    api: Api, operation: Any, mode: GenerationMode, examples: int, records: dict[str, str]
) -> None:
    headers = {"Authorization": f"Bearer {_token(api, operation.path)}"}
    app = api.client.app

    # Deterministic, and each operation its own draws (derandomize would give every
    # operation the same sequence, and so the same few kinds of wrong request).
    @seed(zlib.crc32(f"{operation.label} {mode}".encode()))
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        # Some operations have few distinct inputs; a slow draw is not a failure here.
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def requests(case: Any) -> None:
        _use_existing(case.path_parameters, records)
        if isinstance(case.body, dict):
            _use_existing(case.body, records)
        if case.headers is not None:
            _key_of_its_own(case.headers)
        case.call_and_validate(headers=headers, app=app)

    requests()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_every_operation_answers_as_documented(
    api: Api,
    module_backend: Backend,
    document: Any,
    records_by_operation: dict[str, dict[str, str]],
    mode: GenerationMode,
) -> None:
    examples = EXAMPLES[module_backend.name, mode]
    failures: dict[str, str] = {}
    for result in document.get_all_operations():
        operation = result.ok()
        if mode is GenerationMode.NEGATIVE and not _has_inputs(operation):
            continue  # nothing to get wrong (GET /health)
        if operation.label not in records_by_operation:
            records_by_operation[operation.label] = _records(api)
        try:
            _fuzz(api, operation, mode, examples, records_by_operation[operation.label])
        except Exception as error:  # one report for every operation that failed
            failures[operation.label] = str(error)

    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


def test_graphql_is_left_to_its_own_schema(document: Any) -> None:
    """GraphQL describes itself (and has tests of its own, test_graphql_limits.py): its
    route in the OpenAPI document would say nothing but "JSON in, JSON out"."""
    paths = {result.ok().path for result in document.get_all_operations()}

    assert "/graphql" not in paths
    assert "/api/v1/referrals" in paths


# --- what the fuzz found, pinned -----------------------------------------------------------------


def test_text_with_a_nul_character_is_refused_before_storage(api: Api) -> None:
    """PostgreSQL cannot store a NUL in text: a team id with one would have stopped the
    caseload read model at its event, for good."""
    before = api.position()

    response = api.post(
        "/api/v1/counsellors", payloads.counsellor(team_id="team\x00a"), token=api.admin_token
    )

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "loc": ["body", "team_id"],
            "msg": "String should match pattern '^[^\\x00]*$'",
            "type": "string_pattern_mismatch",
        }
    ]
    assert api.position() == before


@pytest.mark.parametrize(
    ("field", "value"),
    [("date_of_birth", 0), ("date_of_birth", "86400"), ("occurred_at", -430)],
)
def test_a_number_is_no_date(api: Api, field: str, value: object) -> None:
    """Pydantic read a number as seconds since 1970; JSON Schema's `date` is text."""
    before = api.position()

    response = api.post("/api/v1/referrals", payloads.referral(**{field: value}))

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "loc": ["body", field],
            "msg": "Input should be ISO 8601 text, such as 2024-03-04 or 09:00:00+01:00",
            "type": "iso_8601",
        }
    ]
    assert api.position() == before


def test_a_whole_number_written_with_a_fraction_is_a_whole_number(api: Api) -> None:
    """JSON Schema's `integer` includes 18.0; strict pydantic refused it."""
    young_person_id = api.enrolled()

    agreed = api.post(
        f"{yp(young_person_id)}/wake-up-agreement", payloads.wake_up(weekdays=[1.0, 3])
    )
    counsellor = api.post(
        "/api/v1/counsellors", payloads.counsellor(caseload_limit=18.0), token=api.admin_token
    )
    half = api.post(
        "/api/v1/counsellors", payloads.counsellor(caseload_limit=18.5), token=api.admin_token
    )
    text = api.post(
        "/api/v1/counsellors", payloads.counsellor(caseload_limit="18"), token=api.admin_token
    )

    assert (agreed.status_code, counsellor.status_code) == (201, 201)
    assert (half.status_code, text.status_code) == (422, 422)
