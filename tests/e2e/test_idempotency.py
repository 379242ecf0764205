"""A retried command with the same ``Idempotency-Key`` records once."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.actors import Actor, Role
from tests.e2e import payloads
from tests.e2e.conftest import Api, yp

REPLAYED = "Idempotent-Replayed"


def test_same_key_twice_records_once_and_answers_the_same(api: Api) -> None:
    path = f"{yp(api.referred())}/contacts"
    key = f"contact-{uuid4()}"
    first = api.post(path, payloads.contact(), key=key)
    position = api.position()

    second = api.post(path, payloads.contact(), key=key)

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert first.json()["position"] == position
    assert api.position() == position
    assert REPLAYED not in first.headers
    assert second.headers[REPLAYED] == "true"


def test_same_key_for_a_new_referral_creates_one_young_person(api: Api) -> None:
    key = f"referral-{uuid4()}"
    before = api.position()

    answers = [api.post("/api/v1/referrals", payloads.referral(), key=key) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [201, 201, 201]
    assert answers[1].json() == answers[0].json() == answers[2].json()
    assert api.event_names_since(before) == ["Referred"]


def test_same_key_with_another_body_is_refused(api: Api) -> None:
    path = f"{yp(api.referred())}/contacts"
    key = f"contact-{uuid4()}"
    api.command(path, payloads.contact(), key=key)
    before = api.position()

    response = api.post(path, payloads.contact(note="another note"), key=key)

    assert response.status_code == 422
    assert response.json() == {
        "code": "idempotency_key_reused",
        "message": "this Idempotency-Key was already used for another request",
    }
    assert api.position() == before


def test_same_key_for_another_young_person_is_refused(api: Api) -> None:
    key = f"contact-{uuid4()}"
    api.command(f"{yp(api.referred())}/contacts", payloads.contact(), key=key)
    other = f"{yp(api.referred())}/contacts"
    before = api.position()

    response = api.post(other, payloads.contact(), key=key)

    assert (response.status_code, response.json()["code"]) == (422, "idempotency_key_reused")
    assert api.position() == before


def test_keys_are_scoped_to_the_caller(api: Api) -> None:
    path = f"{yp(api.referred())}/contacts"
    key = f"contact-{uuid4()}"
    colleague = api.token_for(Actor(id="counsellor-colleague", role=Role.COUNSELLOR))
    before = api.position()

    mine = api.post(path, payloads.contact(), key=key)
    theirs = api.post(path, payloads.contact(), key=key, token=colleague)

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert REPLAYED not in theirs.headers
    assert api.event_names_since(before) == ["ContactRecorded", "ContactRecorded"]


def test_key_of_a_refused_command_can_be_used_again(api: Api) -> None:
    young_person_id = api.closed()
    path = f"{yp(young_person_id)}/contacts"
    key = f"contact-{uuid4()}"
    refused = api.post(path, payloads.contact(), key=key)
    api.command(f"{yp(young_person_id)}/reopening", payloads.reopening())
    before = api.position()

    accepted = api.post(path, payloads.contact(), key=key)

    assert (refused.status_code, refused.json()["code"]) == (409, "case_closed")
    assert accepted.status_code == 201
    assert REPLAYED not in accepted.headers
    assert api.event_names_since(before) == ["ContactRecorded"]


@pytest.mark.parametrize(
    "key",
    ["", " ", "x" * 201, "key\twith-tab", "nøgle".encode("latin-1")],
    ids=["empty", "blank", "too long", "control character", "not ascii"],
)
def test_malformed_key_is_refused(sqlite_api: Api, key: str | bytes) -> None:
    path = f"{yp(sqlite_api.referred())}/contacts"
    headers: dict[str, str | bytes] = {**sqlite_api.headers(), "Idempotency-Key": key}
    before = sqlite_api.position()

    response = sqlite_api.client.post(path, json=payloads.contact(), headers=headers)

    assert response.status_code == 422
    answer = response.json()
    assert answer["code"] == "invalid_request"
    assert [error["loc"] for error in answer["errors"]] == [["header", "Idempotency-Key"]]
    assert sqlite_api.position() == before


def test_longest_key_is_accepted(api: Api) -> None:
    path = f"{yp(api.referred())}/contacts"
    key = "k" * 199 + "!"

    first = api.post(path, payloads.contact(), key=key)
    second = api.post(path, payloads.contact(), key=key)

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers[REPLAYED] == "true"


def test_concurrent_retry_answers_with_the_winners_outcome(api: Api, second_api: Api) -> None:
    """The first attempt stalls between reading and writing; its retry (on another app
    instance) lands first. The stalled attempt then answers with the retry's outcome."""
    path = f"{yp(api.referred())}/contacts"
    key = f"contact-{uuid4()}"
    retries = []
    before = api.position()

    with api.clock.interjecting(
        lambda: retries.append(second_api.post(path, payloads.contact(), key=key))
    ):
        stalled = api.post(path, payloads.contact(), key=key)

    [retry] = retries
    assert (retry.status_code, stalled.status_code) == (201, 201)
    assert stalled.json() == retry.json()
    assert stalled.headers[REPLAYED] == "true"
    assert api.event_names_since(before) == ["ContactRecorded"]


def test_concurrent_retry_of_a_referral_creates_one_young_person(api: Api, second_api: Api) -> None:
    """No stream to conflict on here: the key itself is what refuses the second insert."""
    key = f"referral-{uuid4()}"
    retries = []
    before = api.position()

    with api.clock.interjecting(
        lambda: retries.append(second_api.post("/api/v1/referrals", payloads.referral(), key=key))
    ):
        stalled = api.post("/api/v1/referrals", payloads.referral(), key=key)

    [retry] = retries
    assert (retry.status_code, stalled.status_code) == (201, 201)
    assert stalled.json() == retry.json()
    assert api.event_names_since(before) == ["Referred"]
