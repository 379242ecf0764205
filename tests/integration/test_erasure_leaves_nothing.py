"""The proof of erasure: after it, nothing identifying is left anywhere in the database.

Through the real HTTP app, on SQLite and on PostgreSQL: a young person with a distinctive
name (with Danish letters), phone number, notes, reasons and goals is referred, followed,
planned with, moved through a transition, decided about and signalled about; the read models
catch up; the person is erased. Then every text, JSON and binary value of every table of
the database(s) is searched for every one of those values, in clear and in the usual
encodings (UTF-8, UTF-16, base64 at every alignment, hex, JSON escapes, URL-encoding), and
on SQLite the raw files too (the databases, their write-ahead logs and shared memory), byte
by byte. Nothing may be found. Before the erasure the same search must find them: a search
that finds nothing anywhere proves nothing.

What must survive: the facts without identity (how many contacts, transitions, outcomes),
and the timeline's record that a contact happened, and when.
"""

from __future__ import annotations

import base64
import json
import unicodedata
import urllib.parse
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import sql

from projections.timeline import TimelineView
from tests.backends import Backend
from tests.e2e import payloads
from tests.e2e.conftest import Api, open_api, yp

# Every personal text the young person's case holds, each with a word found nowhere else.
SECRETS: dict[str, str] = {
    "name": "Ærtebjørg Blåhøj Quixwellsen",
    "phone": "+45 27 18 28 18",
    "referrer": "Henviser Ødegård Pqlmznvej",
    "referral reason": "Åndenød og skoleværing Vbnmqwtr",
    "review note": "Visitation ærlig Kjhgfdsq",
    "contact note": "Mørkøjet og bange for bussen Zyxwvutsr",
    "wake-up end": "Står selv op nu Wqpolikm",
    "goal": "Målet er smedelærling Trwqxzvb",
    "milestone": "Besøg på Tækniske Skole Ghjkqxvm",
    "milestone note": "Nåede det med mors hjælp Plmoknij",
    "transition from": "Ude af 9. klasse på Østre Skole Bvcxzasd",
    "programme": "Smed grundforløb Æble Lkjhpoiu",
    "step note": "Søgte optagelse i går Mnbvcxzl",
    "decision reasons": "Begrundelse om angst Qazwsxed",
    "considerations": "Hovedhensyn familie Rfvtgbyh",
    "facts": "Fakta fra lægen Ujmikolp",
    "appeal guidance": "Klagevejledning fire uger Yhnujmik",
    "concern": "Bekymring fra skolen Edcrfvtg",
    "absence": "Fravær pga. sygdom Olpikujy",
    "closing note": "Afsluttet i uddannelse Wsxedcrf",
}


def encodings(secret: str) -> dict[str, bytes]:
    """``secret`` as it could be stored, by name of the encoding."""
    text = unicodedata.normalize("NFC", secret)
    utf8 = text.encode("utf-8")
    found = {
        "utf-8": utf8,
        "utf-8 NFD": unicodedata.normalize("NFD", text).encode("utf-8"),
        "utf-16-le": text.encode("utf-16-le"),
        "utf-16-be": text.encode("utf-16-be"),
        "hex": utf8.hex().encode(),
        "HEX": utf8.hex().upper().encode(),
        "json": json.dumps(text, ensure_ascii=True)[1:-1].encode(),
        "JSON": _upper_escapes(json.dumps(text, ensure_ascii=True)[1:-1]).encode(),
        "url": urllib.parse.quote(text).encode(),
        "url+": urllib.parse.quote_plus(text).encode(),
        "url lower": urllib.parse.quote(text).lower().encode(),
    }
    for offset in range(3):
        found[f"base64/{offset}"] = _base64_core(utf8, offset)
    # The word that is in no other value: also found when only a part of a value is kept.
    word = text.rsplit(" ", 1)[-1]
    if len(word) >= 6:
        found["word"] = word.encode()
        found["word utf-16-le"] = word.encode("utf-16-le")
    return found


def _upper_escapes(escaped: str) -> str:
    # "\u00e6" and "\u00E6" are the same JSON.
    out, i = [], 0
    while i < len(escaped):
        if escaped.startswith("\\u", i):
            out.append("\\u" + escaped[i + 2 : i + 6].upper())
            i += 6
        else:
            out.append(escaped[i])
            i += 1
    return "".join(out)


def _base64_core(data: bytes, offset: int) -> bytes:
    """The part of base64(... + data + ...) that depends on ``data`` alone, when ``data``
    starts ``offset`` bytes into a 3-byte group."""
    encoded = base64.b64encode(b"\0" * offset + data)
    start = 4 if offset else 0  # the first group mixes in the bytes before
    end = 4 * ((offset + len(data)) // 3)  # a last partial group mixes in the bytes after
    return encoded[start:end]


# Other spellings a value may be stored in.
VARIANTS: dict[str, str] = {"phone digits": "4527182818", "local phone digits": "27182818"}

PATTERNS: list[tuple[str, str, bytes]] = [
    (field, encoding, pattern)
    for field, secret in {**SECRETS, **VARIANTS}.items()
    for encoding, pattern in encodings(secret).items()
]


def find_secrets(blob: bytes) -> set[tuple[str, str]]:
    """Which (field, encoding) pairs occur in ``blob`` (case-blind for ASCII)."""
    folded = blob.lower()
    return {
        (field, encoding)
        for field, encoding, pattern in PATTERNS
        if pattern in blob or pattern.lower() in folded
    }


@dataclass(frozen=True)
class Finding:
    where: str
    field: str
    encoding: str


def search(values: Iterable[tuple[str, bytes]]) -> list[Finding]:
    return [
        Finding(where, field, encoding)
        for where, blob in values
        for field, encoding in sorted(find_secrets(blob))
    ]


# --- reading everything the database holds ---------------------------------------------------


def postgres_values(url: str) -> Iterator[tuple[str, bytes]]:
    """Every text, JSON and bytea value of every table outside the system schemas."""
    with psycopg.connect(url, autocommit=True) as conn:
        columns = conn.execute(
            "SELECT c.table_schema, c.table_name, c.column_name, c.data_type "
            "FROM information_schema.columns c JOIN information_schema.tables t "
            "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
            "WHERE t.table_type = 'BASE TABLE' "
            "AND c.table_schema NOT IN ('pg_catalog', 'information_schema') "
            "AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', "
            "'bytea', 'ARRAY', 'USER-DEFINED')"
        ).fetchall()
        assert columns, "no columns found: the search would be vacuous"
        for schema, table, column, data_type in columns:
            value: sql.Composable = sql.Identifier(column)
            if data_type not in ("bytea",):
                value = sql.SQL("{}::text").format(value)
            rows = conn.execute(
                sql.SQL("SELECT {} FROM {}.{} WHERE {} IS NOT NULL").format(
                    value, sql.Identifier(schema), sql.Identifier(table), sql.Identifier(column)
                )
            ).fetchall()
            for (cell,) in rows:
                blob = bytes(cell) if isinstance(cell, bytes | memoryview) else str(cell).encode()
                yield f"{schema}.{table}.{column}", blob


def sqlite_values(path: Path) -> Iterator[tuple[str, bytes]]:
    """Every text and blob value of every table of the SQLite file at ``path``."""
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        tables = [
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        assert tables, f"no tables in {path.name}: the search would be vacuous"
        for table in tables:
            columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
            for column in columns:
                for (cell,) in conn.execute(f'SELECT "{column}" FROM "{table}"'):
                    if isinstance(cell, str):
                        yield f"{path.name}:{table}.{column}", cell.encode()
                    elif isinstance(cell, bytes):
                        yield f"{path.name}:{table}.{column}", cell
    finally:
        conn.close()


def raw_files(data_dir: Path) -> Iterator[tuple[str, bytes]]:
    """Every file under the data folder, byte by byte (databases, -wal, -shm, ...)."""
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            yield f"file {path.name}", path.read_bytes()


def everything(api: Api, backend: Backend) -> list[tuple[str, bytes]]:
    if backend.database_url is not None:
        return list(postgres_values(backend.database_url))
    settings = api.services.settings
    return [
        *sqlite_values(settings.sqlite_path("overgang")),
        *sqlite_values(settings.sqlite_path("views")),
        *raw_files(settings.data_dir),
    ]


# --- the case --------------------------------------------------------------------------------


@pytest.fixture
def api(backend: Backend) -> Iterator[Api]:
    yield from open_api(backend)


def a_full_case(api: Api) -> UUID:
    """Every kind of personal text the team records about someone, through HTTP."""
    s = SECRETS
    counsellor_id = api.counsellor()
    institution_id = api.institution()
    young_person_id = api.referred(
        name=s["name"],
        phone=s["phone"],
        referrer_name=s["referrer"],
        reason=s["referral reason"],
        institution_id=str(institution_id),
    )
    base = yp(young_person_id)
    api.command(f"{base}/referral-review", payloads.review(note=s["review note"]))
    api.command(f"{base}/enrolment", payloads.enrolment(counsellor_id))
    for reached in (True, False, True):
        api.command(f"{base}/contacts", payloads.contact(note=s["contact note"], reached=reached))
    api.command(f"{base}/wake-up-agreement", payloads.wake_up())
    api.command(f"{base}/wake-up-agreement/end", payloads.wake_up_end(reason=s["wake-up end"]))
    api.command(f"{base}/plan", payloads.plan(goal=s["goal"]))
    milestone = api.command(f"{base}/milestones", payloads.milestone(title=s["milestone"]))
    api.command(
        f"{base}/milestones/{milestone['ids']['milestone_id']}/reached",
        payloads.milestone_note(note=s["milestone note"]),
    )
    transition = api.command(
        f"{base}/transitions",
        payloads.transition(from_situation=s["transition from"], programme=s["programme"]),
    )["ids"]["transition_id"]
    api.command(f"{base}/transitions/{transition}/steps", payloads.step(note=s["step note"]))
    api.command(f"{base}/transitions/{transition}/education-start", payloads.education_start())
    api.command(
        f"{base}/decisions",
        payloads.decision(
            counsellor_id,
            reasons=s["decision reasons"],
            main_considerations=s["considerations"],
            facts_relied_on=s["facts"],
            appeal_guidance=s["appeal guidance"],
        ),
    )
    api.command(f"{base}/concerns", payloads.concern(institution_id, note=s["concern"]))
    api.command(f"{base}/absences", payloads.absence(institution_id, note=s["absence"]))
    api.command(f"{base}/closing", payloads.closing(note=s["closing note"]))
    return young_person_id


def statistics(api: Api, young_person_id: UUID) -> Counter[tuple[str, ...]]:
    """What the timeline tells without identity: kinds of facts and their outcomes."""
    api.services.projections.catch_up()
    with api.services.views.transaction(readonly=True) as cur:
        rows = TimelineView.entries(cur, [young_person_id.hex])[young_person_id.hex]
    counted: Counter[tuple[str, ...]] = Counter()
    for row in rows:
        details = json.loads(row["details"])
        facts = [
            str(details[k])
            for k in ("channel", "reached", "kind", "step", "outcome", "level")
            if k in details
        ]
        counted[(row["event_type"], row["occurred_at"][:10], *facts)] += 1
    return counted


def erase(api: Api, young_person_id: UUID) -> Any:
    return api.post(f"{yp(young_person_id)}/erasure", payloads.erasure(), token=api.lead_token)


def a_full_case_in_the_read_models(api: Api) -> UUID:
    """A full case, applied to the read models (and committed) before anything else: an
    erasure in the same batch as the facts would never write them, and prove less."""
    young_person_id = a_full_case(api)
    api.services.projections.catch_up()
    return young_person_id


# --- the proof -------------------------------------------------------------------------------


def test_erasure_leaves_nothing_identifying_anywhere(api: Api, backend: Backend) -> None:
    young_person_id = a_full_case_in_the_read_models(api)
    export = api.client.get(f"{yp(young_person_id)}/export", headers=api.headers(api.lead_token))
    assert export.status_code == 200
    before = statistics(api, young_person_id)
    found_before = {(f.field, f.encoding) for f in search(everything(api, backend))}
    # The search works: every secret is found in clear before the erasure.
    assert {(field, "utf-8") for field in SECRETS} <= found_before

    response = erase(api, young_person_id)
    assert response.status_code == 201, response.json()
    api.services.projections.catch_up()

    assert search(everything(api, backend)) == []
    after = statistics(api, young_person_id)
    erasure = Counter({key: n for key, n in after.items() if key[0] == "PersonalDataErased"})
    assert list(erasure.values()) == [1]
    assert after - erasure == before


def test_a_rebuild_after_erasure_brings_nothing_back(api: Api, backend: Backend) -> None:
    young_person_id = a_full_case_in_the_read_models(api)
    erase(api, young_person_id)
    api.services.projections.catch_up()
    with api.services.views.transaction(readonly=True) as cur:
        erased = TimelineView.entries(cur, [young_person_id.hex])[young_person_id.hex]

    for projection in api.services.projections.projections:
        api.services.projections.rebuild(projection.name)

    with api.services.views.transaction(readonly=True) as cur:
        rebuilt = TimelineView.entries(cur, [young_person_id.hex])[young_person_id.hex]
    assert rebuilt == erased
    assert search(everything(api, backend)) == []


def test_after_erasure_the_timeline_shows_that_contacts_happened_and_when(api: Api) -> None:
    young_person_id = a_full_case_in_the_read_models(api)
    erase(api, young_person_id)
    api.services.projections.catch_up()

    with api.services.views.transaction(readonly=True) as cur:
        rows = TimelineView.entries(cur, [young_person_id.hex])[young_person_id.hex]

    contacts = [row for row in rows if row["event_type"] == "ContactRecorded"]
    assert [row["summary"] for row in contacts] == [
        "Contact in a meeting at a cafe: reached (check-in, 30 min)",
        "Contact in a meeting at a cafe: not reached (check-in, 30 min)",
        "Contact in a meeting at a cafe: reached (check-in, 30 min)",
    ]
    assert all(row["occurred_at"].startswith("2024-03-04") for row in contacts)
    assert all(json.loads(row["details"])["note"] is None for row in contacts)
    assert all(row["personal_data_erased"] == 1 for row in rows)


def test_after_erasure_nothing_more_is_recorded_or_exported(api: Api) -> None:
    young_person_id = a_full_case_in_the_read_models(api)
    exported = api.client.get(
        f"{yp(young_person_id)}/export", headers=api.headers(api.lead_token)
    ).json()
    assert exported["events"][0]["fields"]["name"] == SECRETS["name"]
    assert erase(api, young_person_id).status_code == 201
    before = api.position()

    again = erase(api, young_person_id)
    contact = api.post(f"{yp(young_person_id)}/contacts", payloads.contact())
    reopening = api.post(f"{yp(young_person_id)}/reopening", payloads.reopening())
    export = api.client.get(f"{yp(young_person_id)}/export", headers=api.headers(api.lead_token))

    assert (again.status_code, again.json()["code"]) == (409, "personal_data_erased")
    assert "already erased" in again.json()["message"]
    for refused in (contact, reopening, export):
        assert (refused.status_code, refused.json()["code"]) == (409, "personal_data_erased")
    assert api.position() == before
    api.services.projections.catch_up()
    with api.services.views.transaction(readonly=True) as cur:
        rows = TimelineView.entries(cur, [young_person_id.hex])[young_person_id.hex]
    assert [row["event_type"] for row in rows][-2:] == [
        "SubjectAccessExported",
        "PersonalDataErased",
    ]
