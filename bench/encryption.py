"""Per-person encryption: what it costs to write and to read, with and without it.

Runs against PostgreSQL (a fresh database, dropped afterwards). Two applications share it:
the real one as bootstrapped (personal fields sealed with each young person's data key),
and the same application with eventsourcing's plain mapper, in tables of its own. Both get
the same young people and the same interleaved histories; the compared calls take turns.

- record a contact, in-process (load, decide, seal, save), with the person's data key
  cached, and with it read from the key table first (as after the cache's lifetime, or in
  another process);
- decode the event log as a projection catch-up does (select_notifications in batches of
  1,000 + to_domain_event), with the data keys cached, with the key cache emptied before
  the pass (a freshly started worker), and that again with the keys of each batch
  prefetched in one query;
- rebuild the timeline projection from the log with the real ProjectionRunner.

The bench database commits without waiting for the disk (``synchronous_commit = off``):
an fsync on a shared machine takes anything from 1 to 20 ms, which would drown the
microseconds compared here; without it the ratios are the stricter ones.

Target (issue 3): encryption costs at most 20% (ratio plain / encrypted at most 1.20).

Usage: python bench/encryption.py [--url postgresql://postgres@127.0.0.1:5432/postgres]
       [--commands 700] [--people 400] [--events 50]
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import psycopg
from _support import fresh_database
from eventsourcing.persistence import ApplicationRecorder, Mapper
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import SecretStr

from domain.actors import Actor, Role
from domain.application import CommandContext, Overgang
from domain.recording import Stamp
from domain.values import ContactDetails, ReferralDetails
from domain.vocabulary import (
    Channel,
    ConsentScope,
    CounsellorRole,
    Direction,
    Place,
    Purpose,
    ReviewOutcome,
)
from domain.young_person import YoungPerson
from infra.bootstrap import build_services, event_store_env
from infra.keys import DataKeyStore, load_master_keys, open_data_key_store
from infra.personal_mapper import PersonalDataMapper
from infra.runner import ProjectionRunner
from infra.settings import Settings
from projections.store import PostgresViewStore
from projections.timeline import TimelineProjection

ACTOR = Actor("bench", Role.COUNSELLOR)
CTX = CommandContext(actor=ACTOR)
CONTACT = ContactDetails(
    channel=Channel.MEETING,
    direction=Direction.OUTGOING,
    place=Place.CAFE,
    purpose=Purpose.CHECK_IN,
    reached=True,
    duration_minutes=30,
    note="Talked about the first week at school; sleeps better, still worried about maths.",
)
ROUNDS = 7
BATCH = 1000  # the projection runner's default batch size


class PlainOvergang(Overgang):
    """The same application in tables of its own (``overgangplain_events``)."""

    name = "OvergangPlain"


def in_schema(url: str, schema: str) -> str:
    """``url`` with ``schema`` first on the search path (one view store per application)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    params = conninfo_to_dict(url)
    params["options"] = f"-csearch_path={schema}"
    return make_conninfo(**{key: str(value) for key, value in params.items()})


def people_with_history(
    app: Overgang, counsellor: uuid.UUID, people: int, events: int
) -> list[uuid.UUID]:
    """``people`` enrolled young people with ``events`` contacts each.

    The contacts are written in rounds, one per person per round and one transaction per
    round, so that the log interleaves the people as a real one does.
    """
    referral = ReferralDetails(
        name="Bench Person",
        date_of_birth=date(2005, 5, 5),
        phone="+45 00 00 00 00",
        institution_id=None,
        referrer_name="Bench Referrer",
        reason="Has not been to school for three months.",
        consent_scopes=(ConsentScope.CASE_WORK,),
    )
    ids: list[uuid.UUID] = []
    for _ in range(people):
        person = app.refer(referral, CTX).ids["young_person_id"]
        app.review_referral(person, ReviewOutcome.ACCEPTED, date.today(), "Accepted.", CTX)
        app.enrol(person, counsellor, None, CTX)
        ids.append(person)
    aggregates: list[YoungPerson] = [app.young_person(person) for person in ids]
    for _ in range(events):
        now = datetime.now(UTC)
        stamp = Stamp(occurred_at=now, recorded_at=now, actor=ACTOR)
        for aggregate in aggregates:
            aggregate.record_contact(uuid.uuid4(), CONTACT, stamp)
        app.save(*aggregates)
    return ids


def record_rates(n: int, calls: dict[str, Callable[[], None]]) -> dict[str, float]:
    """Commands per second of each call, from its median latency over n calls.

    The calls take turns one command at a time, so that the machine's slow spells (and
    the database's background work) fall on all of them alike.
    """
    spent: dict[str, list[float]] = {label: [] for label in calls}
    for _ in range(n):
        for label, call in calls.items():
            began = time.perf_counter()
            call()
            spent[label].append(time.perf_counter() - began)
    return {label: 1 / statistics.median(times) for label, times in spent.items()}


@dataclass
class Decoder:
    """One way of reading the log: a recorder, a mapper, and what to do with keys."""

    recorder: ApplicationRecorder
    mapper: Mapper[uuid.UUID]
    keys: DataKeyStore | None = None  # emptied before each pass: a freshly started reader
    prefetch: bool = False
    position: int = 1
    batch: int = 0
    events: int = 0
    best: dict[int, float] = field(default_factory=dict)

    def start_pass(self) -> None:
        self.position, self.batch, self.events = 1, 0, 0
        if self.keys is not None:
            self.keys.clear_cache()

    def decode_batch(self) -> bool:
        """Read and decode the next batch, timed; False at the end of the log."""
        began = time.perf_counter()
        notifications = self.recorder.select_notifications(start=self.position, limit=BATCH)
        if not notifications:
            return False
        if self.prefetch:
            assert isinstance(self.mapper, PersonalDataMapper)
            self.mapper.prefetch_keys(notifications)
        for notification in notifications:
            self.mapper.to_domain_event(notification)
        spent = time.perf_counter() - began
        self.best[self.batch] = min(self.best.get(self.batch, spent), spent)
        self.batch += 1
        self.events += len(notifications)
        self.position = notifications[-1].id + 1
        return True


def decode_rates(decoders: dict[str, Decoder]) -> dict[str, float]:
    """Events per second of each way of decoding the whole log.

    The decoders take turns batch by batch, so that they read the same stretch of the log
    under the same conditions; each batch's best time over the rounds counts, because on
    a shared machine another process's burst only ever slows a batch down.
    """
    for _ in range(ROUNDS):
        for decoder in decoders.values():
            decoder.start_pass()
        active = list(decoders.values())
        while active:
            active = [decoder for decoder in active if decoder.decode_batch()]
    return {
        label: decoder.events / sum(decoder.best.values()) for label, decoder in decoders.items()
    }


def rebuild_rates(runners: dict[str, ProjectionRunner]) -> dict[str, float]:
    """Events per second of rebuilding the timeline: the best rebuild of the rounds."""
    rates: dict[str, list[float]] = {label: [] for label in runners}
    for _ in range(ROUNDS):
        for label, runner in runners.items():
            began = time.perf_counter()
            count = runner.rebuild("timeline")
            rates[label].append(count / (time.perf_counter() - began))
    return {label: max(values) for label, values in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--commands", type=int, default=700)
    parser.add_argument("--people", type=int, default=400)
    parser.add_argument("--events", type=int, default=50, help="contacts per young person")
    args = parser.parse_args()

    with fresh_database(args.url, synchronous_commit=False) as url:
        master_key = SecretStr(base64.b64encode(os.urandom(32)).decode())
        settings = Settings(database_url=url, master_key=master_key)
        services = build_services(settings, clock=lambda: datetime.now(UTC))
        encrypted, keys = services.app, services.keys
        plain_env = event_store_env(settings)
        del plain_env["MAPPER_TOPIC"]
        plain = PlainOvergang(
            lambda: datetime.now(UTC),
            env=plain_env,
            future_tolerance=timedelta(seconds=settings.future_tolerance_seconds),
            snapshot_interval=settings.snapshot_interval,
        )
        apps = {"plain": plain, "encrypted": encrypted}

        print(f"writing {args.people} young people x {args.events} contacts into each store")
        histories: dict[str, list[uuid.UUID]] = {}
        for label, app in apps.items():
            counsellor = app.register_counsellor(
                "Bench Counsellor", "bench", CounsellorRole.COUNSELLOR, 10_000, CTX
            ).ids["counsellor_id"]
            histories[label] = people_with_history(app, counsellor, args.people, args.events)

        def record(
            app: Overgang, people: list[uuid.UUID], forget_key: bool = False
        ) -> Callable[[], None]:
            turn = iter(range(10**9))

            def call() -> None:
                person = people[next(turn) % len(people)]
                if forget_key:
                    keys.evict(person)
                app.record_contact(person, CONTACT, CTX)

            return call

        writes = record_rates(
            args.commands,
            # Each call on people of its own: a young person recorded just before by another
            # call would be loaded differently (the aggregate cache fast-forwards).
            {
                "plain": record(plain, histories["plain"][::2]),
                "encrypted": record(encrypted, histories["encrypted"][::2]),
                "encrypted, key cold": record(
                    encrypted, histories["encrypted"][1::2], forget_key=True
                ),
            },
        )

        # Readers starting cold, each with a key store (and cache) of its own.
        fresh_stores = [open_data_key_store(settings, load_master_keys(settings)) for _ in "ab"]
        fresh_mappers = []
        for store in fresh_stores:
            mapper = PersonalDataMapper(encrypted.mapper.transcoder)
            mapper.data_keys = store
            fresh_mappers.append(mapper)
        reads = decode_rates(
            {
                "plain": Decoder(plain.recorder, plain.mapper),
                "cached": Decoder(encrypted.recorder, encrypted.mapper),
                "cold": Decoder(encrypted.recorder, fresh_mappers[0], fresh_stores[0]),
                "prefetched": Decoder(
                    encrypted.recorder, fresh_mappers[1], fresh_stores[1], prefetch=True
                ),
            }
        )
        for fresh in fresh_stores:
            fresh.close()

        view_stores = {label: PostgresViewStore(in_schema(url, label)) for label in apps}
        rebuilds = rebuild_rates(
            {
                label: ProjectionRunner(apps[label], view_stores[label], [TimelineProjection()])
                for label in apps
            }
        )
        events = plain.recorder.max_notification_id() or 0
        for view_store in view_stores.values():
            view_store.close()
        plain.close()
        services.close()

    print(f"PostgreSQL; the log holds about {events} events each")
    print("record a contact in-process (commands/s, from the median latency)")
    print(f"  plain mapper                      {writes['plain']:9.0f}/s")
    print(f"  per-person encryption             {writes['encrypted']:9.0f}/s")
    print(f"  ... the key read from the table   {writes['encrypted, key cold']:9.0f}/s")
    print("decode the log: select_notifications + to_domain_event (events/s)")
    print(f"  plain mapper                      {reads['plain']:9.0f}/s")
    print(f"  encrypted, data keys cached       {reads['cached']:9.0f}/s")
    print(f"  encrypted, key cache emptied      {reads['cold']:9.0f}/s")
    print(f"  ... keys prefetched per batch     {reads['prefetched']:9.0f}/s")
    print("rebuild the timeline projection with the ProjectionRunner (events/s)")
    print(f"  plain mapper                      {rebuilds['plain']:9.0f}/s")
    print(f"  per-person encryption             {rebuilds['encrypted']:9.0f}/s")
    print("ratio plain / encrypted (target <= 1.20):")
    for label, ratio in [
        ("record contact", writes["plain"] / writes["encrypted"]),
        ("record contact, key not cached", writes["plain"] / writes["encrypted, key cold"]),
        ("decode, keys cached", reads["plain"] / reads["cached"]),
        ("decode, keys cold", reads["plain"] / reads["cold"]),
        ("decode, keys cold, prefetched", reads["plain"] / reads["prefetched"]),
        ("timeline rebuild", rebuilds["plain"] / rebuilds["encrypted"]),
    ]:
        print(f"  {label:<32}  {ratio:.2f}")


if __name__ == "__main__":
    main()
