"""GraphQL reads from a read replica (``OVERGANG_READ_DATABASE_URL``), writes and access
checks on the primary.

There is no streaming replication here, so a second database stands in for the replica:
``Replicated.replicate`` copies the primary's read-model tables and their tracking rows
into it in one transaction, at a moment each test chooses, as a hot standby would apply
them. Between copies it is a replica lagging behind. Like a hot standby it refuses writes
(``default_transaction_read_only``, and the store opens read-only transactions only), and
it holds no access log: anything written or read there by mistake fails loudly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import psycopg.errors
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from pydantic import ValidationError

from api.app import create_app
from domain.actors import Actor, Role
from domain.application import CommandContext
from infra.bootstrap import all_projections, build_services
from infra.settings import Settings
from projections.caseload import CaseloadView
from projections.store import TRACKING_TABLE
from tests import pg
from tests.backends import Backend
from tests.e2e import payloads
from tests.e2e.conftest import ADMIN, TEAM, Api, InterjectingClock, e2e_settings, yp

AUDITOR = Actor(id="auditor-e2e", role=Role.AUDITOR)

READ_MODEL_TABLES = [
    *(table for projection in all_projections() for table in projection.tables),
    TRACKING_TABLE,
]
"""What the stand-in replica gets: every read model and its tracking row (and not the
access log, which only the primary may hold as far as these tests are concerned)."""

TIMELINE = """
query Timeline($id: ID!, $position: Int) {
  youngPerson(id: $id, waitForPosition: $position) { timeline { position eventType } }
}
"""

EVERYTHING = """
query Everything($id: ID!, $team: String!) {
  youngPerson(id: $id) {
    id name
    timeline { position eventType summary }
    riskFlags { rule severity since }
    plan { goal }
    transitions { id }
    decisions { decisionId kind complete }
  }
  teamCaseloads(teamId: $team) {
    counsellorId activeCount
    entries {
      entries {
        youngPersonId name daysSinceReachedContact
        openFlags { rule } openAlerts { id status }
      }
      pageInfo { endCursor hasNextPage }
    }
  }
  referralQueue { total entries { youngPersonId status } }
  alerts { entries { id youngPersonId status } }
  outcomes { counts { referred enrolled openCases } }
}
"""

AUDIT = "query { decisionAudit { total entries { decisionId complete } } }"

CASELOAD = """
query Caseload($id: ID!) { caseload(counsellorId: $id) { entries { entries { youngPersonId } } } }
"""

ALERTS = """
query Alerts($position: Int) {
  alerts(status: ACKNOWLEDGED, waitForPosition: $position) { entries { id youngPersonId } }
}
"""

OPEN_ALERTS = "query { alerts { entries { youngPersonId } } }"

ACKNOWLEDGE = """
mutation Ack($person: ID!, $alert: ID!) {
  acknowledgeAlert(youngPersonId: $person, alertId: $alert, note: "test note") { position }
}
"""


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def replicate(primary_url: str, replica_url: str) -> None:
    """Bring the replica's read models up to the primary's, in one transaction read from
    one snapshot (as replication applies a view batch and its tracking row together)."""
    with psycopg.connect(primary_url) as source, psycopg.connect(replica_url) as target:
        source.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        source.read_only = True
        target.read_only = False  # BEGIN READ WRITE: past the database's read-only default
        with source.transaction(), target.transaction():
            for table in READ_MODEL_TABLES:
                name = sql.Identifier(table)
                columns = source.execute(
                    "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                    "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
                    "ORDER BY attnum",
                    (table,),
                ).fetchall()
                definition = sql.SQL(", ").join(
                    sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(kind))
                    for column, kind in columns
                )
                target.execute(
                    sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(name, definition)
                )
                target.execute(sql.SQL("TRUNCATE {}").format(name))
                with (
                    source.cursor().copy(
                        sql.SQL("COPY {} TO STDOUT (FORMAT BINARY)").format(name)
                    ) as rows_out,
                    target.cursor().copy(
                        sql.SQL("COPY {} FROM STDIN (FORMAT BINARY)").format(name)
                    ) as rows_in,
                ):
                    for block in rows_out:
                        rows_in.write(block)


@contextmanager
def serving(settings: Settings, clock: InterjectingClock) -> Iterator[Api]:
    services = build_services(settings, clock=clock)
    try:
        with TestClient(create_app(services)) as client:
            yield Api(client=client, services=services, clock=clock, settings=settings)
    finally:
        services.close()


def base_settings(primary_url: str, data_dir: Path) -> Settings:
    return e2e_settings(
        Backend(name="postgres", data_dir=data_dir, database_url=primary_url)
    ).model_copy(update={"read_your_writes_timeout": 0.5, "projection_poll_interval": 0.05})


@dataclass
class Replicated:
    replica: Api
    """An API process that answers GraphQL from the replica."""
    primary: Api
    """An API process on the same primary without a replica, with the same clock."""
    primary_url: str
    replica_url: str

    def project(self) -> None:
        """The projector: the primary's read models catch up with the event log."""
        self.replica.services.projections.catch_up()

    def replicate(self) -> None:
        replicate(self.primary_url, self.replica_url)

    def up_to_date(self) -> None:
        """The primary's read models catch up, and the replica receives them."""
        self.project()
        self.replicate()


@pytest.fixture(scope="module")
def pair(
    pg_admin_url: str, pg_module_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Replicated]:
    replica_url = pg.create_database(pg_admin_url, prefix="overgang_replica")
    try:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            # What a hot standby looks like to its clients.
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(
                    sql.Identifier(str(conninfo_to_dict(replica_url)["dbname"]))
                )
            )
        settings = base_settings(pg_module_url, tmp_path_factory.mktemp("replica") / "var")
        clock = InterjectingClock()
        with (
            serving(settings.model_copy(update={"read_database_url": replica_url}), clock) as api,
            serving(settings, clock) as primary_api,
        ):
            replicate(pg_module_url, replica_url)
            yield Replicated(api, primary_api, pg_module_url, replica_url)
    finally:
        pg.drop_database(replica_url, pg_admin_url)


# --- answers ---------------------------------------------------------------------------------


@pytest.mark.postgres
def test_an_up_to_date_replica_answers_as_the_primary_does(pair: Replicated) -> None:
    api = pair.replica
    counsellor_id = api.counsellor()
    young_person_id = api.with_plan()
    api.alert(young_person_id)
    api.command(f"{yp(young_person_id)}/contacts", payloads.contact(reached=False))
    api.decision(young_person_id, counsellor_id)
    api.referred()
    pair.up_to_date()
    variables = {"id": str(young_person_id), "team": TEAM}
    auditor = api.token_for(AUDITOR)

    from_replica = api.graphql(EVERYTHING, api.lead_token, **variables)
    audit_from_replica = api.graphql(AUDIT, auditor)
    csv_from_replica = api.client.get("/api/v1/decision-audit.csv", headers=api.headers(auditor))

    assert "errors" not in from_replica, from_replica
    assert from_replica == pair.primary.graphql(EVERYTHING, api.lead_token, **variables)
    assert from_replica["data"]["youngPerson"]["timeline"]  # not equal because empty
    assert audit_from_replica == pair.primary.graphql(AUDIT, auditor)
    assert audit_from_replica["data"]["decisionAudit"]["total"] >= 1
    assert csv_from_replica.status_code == 200
    primary_csv = pair.primary.client.get(
        "/api/v1/decision-audit.csv", headers=api.headers(auditor)
    )
    assert csv_from_replica.text == primary_csv.text


@pytest.mark.postgres
def test_a_position_the_lagging_replica_has_not_reached_is_not_yet_visible_until_it_catches_up(
    pair: Replicated,
) -> None:
    api = pair.replica
    young_person_id = api.enrolled()
    pair.up_to_date()
    position = api.command(f"{yp(young_person_id)}/contacts", payloads.contact())["position"]
    pair.project()  # the primary's read models have it; the replica lags behind
    variables = {"id": str(young_person_id), "position": position}

    on_primary = pair.primary.graphql(TIMELINE, **variables)
    lagging = api.graphql(TIMELINE, **variables)
    stale = api.graphql(TIMELINE, id=str(young_person_id))

    assert on_primary["data"]["youngPerson"]["timeline"][-1]["position"] == position
    assert codes(lagging) == ["not_yet_visible"]
    assert api.services.projections.wait_for(position, timeout=0)
    assert not api.services.read_views_waiter.wait_for(position, timeout=0)
    # Without a position to wait for, the replica answers what it holds: the old state.
    stale_timeline = stale["data"]["youngPerson"]["timeline"]
    assert stale_timeline
    assert all(entry["position"] < position for entry in stale_timeline)

    pair.replicate()

    assert api.graphql(TIMELINE, **variables) == on_primary


# --- access and writes on the primary ------------------------------------------------------------


@pytest.mark.postgres
def test_a_young_person_handed_over_to_another_team_is_out_of_reach_while_the_replica_lags(
    pair: Replicated,
) -> None:
    api = pair.replica
    counsellor_id = api.counsellor()
    elsewhere = api.counsellor(team_id="another-team")
    young_person_id = api.enrolled(counsellor_id)
    api.alert(young_person_id)
    pair.up_to_date()
    person = str(young_person_id)
    assert "errors" not in api.graphql(TIMELINE, id=person)

    api.services.app.assign_counsellor(
        young_person_id, elsewhere, "test reason: hand-over", None, CommandContext(actor=ADMIN)
    )
    pair.project()

    # The replica still places them in the caller's team ...
    with api.services.read_views.transaction(readonly=True) as cur:
        on_replica = CaseloadView.of_young_people(cur, [young_person_id.hex])[young_person_id.hex]
    assert on_replica is not None
    assert on_replica["team_id"] == TEAM
    # ... but access is judged on the primary: out of reach at once, in lists too.
    assert codes(api.graphql(TIMELINE, id=person)) == ["forbidden"]
    caseload = api.graphql(CASELOAD, id=str(counsellor_id))["data"]["caseload"]
    assert caseload["entries"]["entries"] == []
    alerts = api.graphql(OPEN_ALERTS)["data"]["alerts"]["entries"]
    assert person not in {alert["youngPersonId"] for alert in alerts}


@pytest.mark.postgres
def test_reads_are_logged_on_the_primary_and_nothing_is_written_to_the_replica(
    pair: Replicated,
) -> None:
    api = pair.replica
    young_person_id = api.enrolled()
    pair.up_to_date()

    body = api.graphql(TIMELINE, id=str(young_person_id))

    assert "errors" not in body, body
    logged = api.services.access_log.entries(
        young_person_id=young_person_id, start=None, end=None, limit=10, after=None
    )
    assert [(entry.actor_id, entry.what) for entry in logged] == [(api.actor.id, "timeline")]
    with psycopg.connect(pair.replica_url) as conn:
        row = conn.execute("SELECT to_regclass('access_log') IS NULL").fetchone()
    assert row == (True,)
    with (
        pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
        api.services.read_views.transaction() as cur,
    ):
        cur.execute("CREATE TABLE written_by_mistake (x INTEGER)")


@pytest.mark.postgres
def test_commands_and_alert_acknowledgements_write_to_the_primary(pair: Replicated) -> None:
    api = pair.replica
    young_person_id = api.enrolled()
    alert_id = api.alert(young_person_id)
    before = api.position()

    api.command(f"{yp(young_person_id)}/contacts", payloads.contact(reached=False))
    written = api.graphql(ACKNOWLEDGE, person=str(young_person_id), alert=str(alert_id))
    pair.project()

    assert "errors" not in written, written
    assert api.event_names_since(before) == ["ContactRecorded", "AlertAcknowledged"]
    position = written["data"]["acknowledgeAlert"]["position"]
    assert codes(api.graphql(ALERTS, position=position)) == ["not_yet_visible"]
    pair.replicate()
    acknowledged = api.graphql(ALERTS, position=position)["data"]["alerts"]["entries"]
    assert {"id": str(alert_id), "youngPersonId": str(young_person_id)} in acknowledged


@pytest.mark.postgres
def test_an_unreachable_replica_answers_unavailable_and_commands_still_work(
    pg_module_url: str, tmp_path: Path
) -> None:
    settings = base_settings(pg_module_url, tmp_path / "var").model_copy(
        # Nothing listens on port 1: every connection is refused.
        update={"read_database_url": "postgresql://postgres@127.0.0.1:1/overgang_nowhere"}
    )
    with serving(settings, InterjectingClock()) as api:
        young_person_id = api.enrolled()
        api.services.projections.catch_up()
        query = """
        query($id: ID!, $position: Int) {
          waiting: youngPerson(id: $id, waitForPosition: $position) { id }
          reading: youngPerson(id: $id) { timeline { position } }
        }
        """

        body = api.graphql(query, id=str(young_person_id), position=api.position())

    assert body["data"] == {"waiting": None, "reading": None}
    assert codes(body) == ["unavailable", "unavailable"]


# --- settings --------------------------------------------------------------------------------

SECRET_URL = "postgresql://overgang:s3cr3t-pw@replica.example:5432/overgang"


def test_a_replica_needs_a_postgresql_primary() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(database_url=None, read_database_url=SECRET_URL)

    assert "OVERGANG_READ_DATABASE_URL needs OVERGANG_DATABASE_URL" in str(refused.value)
    assert "s3cr3t-pw" not in str(refused.value)


def test_a_replica_url_must_be_postgresql_and_is_never_echoed() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(
            database_url="postgresql://postgres@127.0.0.1:5432/overgang",
            read_database_url="mysql://overgang:s3cr3t-pw@replica.example/overgang",
        )

    assert "OVERGANG_READ_DATABASE_URL must start with postgresql://" in str(refused.value)
    assert "s3cr3t-pw" not in str(refused.value)


def test_an_empty_replica_url_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERGANG_READ_DATABASE_URL", "")

    assert Settings(database_url=None).read_database_url is None


def test_the_replica_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERGANG_READ_DATABASE_URL", SECRET_URL)

    settings = Settings(database_url="postgresql://postgres@127.0.0.1:5432/overgang")

    assert settings.read_database_url == SECRET_URL
