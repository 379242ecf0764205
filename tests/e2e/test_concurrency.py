"""Concurrent writers on one young person: both land, or one gets a clear 409."""

from __future__ import annotations

from tests.e2e import payloads
from tests.e2e.conftest import Api, yp


def test_stale_write_is_refused_as_a_concurrent_update_and_writes_nothing(
    api: Api, second_api: Api
) -> None:
    """A command stalls between reading the stream and writing to it, while another app
    instance writes to the same stream: the stalled command must not land."""
    path = f"{yp(api.referred())}/contacts"
    others = []
    before = api.position()

    with api.clock.interjecting(
        lambda: others.append(second_api.post(path, payloads.contact(note="first")))
    ):
        stalled = api.post(path, payloads.contact(note="second"))

    [other] = others
    assert other.status_code == 201
    assert stalled.status_code == 409
    assert stalled.json() == {
        "code": "concurrent_update",
        "message": "the record was changed by someone else; reload and try again",
    }
    written = api.events_since(before)
    assert [type(event).__name__ for event in written] == ["ContactRecorded"]
    assert getattr(written[0], "note", None) == "first"
    assert api.position() == other.json()["position"]


def test_stale_enrolment_writes_neither_stream(api: Api, second_api: Api) -> None:
    """A command over two streams (young person and counsellor) is written whole or not at
    all: a conflict on the counsellor leaves the young person's stream untouched too."""
    counsellor_id = api.counsellor(caseload_limit=5)
    first, second = api.accepted(), api.accepted()
    others = []
    before = api.position()

    with api.clock.interjecting(
        lambda: others.append(
            second_api.post(f"{yp(first)}/enrolment", payloads.enrolment(counsellor_id))
        )
    ):
        stalled = api.post(f"{yp(second)}/enrolment", payloads.enrolment(counsellor_id))

    [other] = others
    assert (other.status_code, stalled.status_code) == (201, 409)
    assert stalled.json()["code"] == "concurrent_update"
    assert api.event_names_since(before) == ["Enrolled", "CaseTaken"]
    assert [event.originator_id for event in api.events_since(before)] == [first, counsellor_id]


def test_retry_after_a_concurrent_update_is_recorded(api: Api, second_api: Api) -> None:
    path = f"{yp(api.referred())}/contacts"
    with api.clock.interjecting(lambda: second_api.post(path, payloads.contact())):
        assert api.post(path, payloads.contact()).status_code == 409
    before = api.position()

    retried = api.post(path, payloads.contact())

    assert retried.status_code == 201
    assert api.event_names_since(before) == ["ContactRecorded"]


def test_writers_on_different_young_people_both_land(api: Api, second_api: Api) -> None:
    mine, theirs = f"{yp(api.referred())}/contacts", f"{yp(api.referred())}/contacts"
    others = []
    before = api.position()

    with api.clock.interjecting(lambda: others.append(second_api.post(theirs, payloads.contact()))):
        stalled = api.post(mine, payloads.contact())

    assert (others[0].status_code, stalled.status_code) == (201, 201)
    assert api.event_names_since(before) == ["ContactRecorded", "ContactRecorded"]
