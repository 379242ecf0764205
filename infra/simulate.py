"""Realistic, deterministic synthetic histories, written through the real domain.

``simulate`` tells the story of mobile teams of about five counsellors, each following 15-20
young people, week by week over the last ``months`` months: partner institutions refer young
people with their consent, the team reviews referrals once a week, counsellors keep weekly
contact (often more) by SMS, phone and meetings wherever the young person is comfortable,
text reminders before meetings, make wake-up calls for those who struggle to get out of the
door, write a plan within the first month, follow the young person through bridge-building
trials and transitions into education and the first weeks there, receive absence and concern
reports, make decisions as the authority (readiness, education injunctions, now and then a
sanction, some of them appealed), and close cases when the young person is settled, has a
job, moved or no longer wants support. New referrals take the places that closing cases
free, so caseloads stay full. Some young people go quiet for weeks; some drop out and start
again.

How it writes: one command per event would cost one transaction per event (about 650 a
second on PostgreSQL), far too slow for the million-event benchmark. So the simulation keeps
the aggregates it created in memory and calls their command methods, the very methods (with
the very guards) the application's commands call, and saves every aggregate a simulated week
changed with ``app.save``: one transaction for thousands of events, through the
application's own mapper, recorder and snapshotting. Where an application command changes
two aggregates (enrolment also takes a place in the counsellor's caseload; closing releases
it), this module takes the same two steps the command takes. A story step that breaks a rule
raises the domain's error: that is a bug in the generator, and that week is not saved.

Determinism: the story comes from ``random.Random(seed)``, the ids from a second generator
seeded from the same seed, and every time from ``now``: the same seed and ``now`` give the
same events. ``occurred_at`` never lies after ``now``; each event is stamped as recorded at
or shortly after it occurred (a meeting is written up after it ends, a text at once), as if
the application's clock had moved along with the story.

Quiet transitions raise alerts as the sweeper would (``infra.alerts``): before each fact
of an enrolled young person, any alert (or escalation) that fell due since the previous
one is raised about a minute after its due time, by the app's own ``QuietPolicy``; some
are acknowledged by the counsellor a few hours later, most end with the next reached
contact. Those choices draw from a third generator, so the rest of the story is the same
with or without alerts.

Every name and note is synthetic (see ``infra.simulate_texts``).
"""

from __future__ import annotations

import heapq
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import partial
from typing import Any
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.actors import Actor, Role
from domain.application import Overgang
from domain.counsellor import Counsellor
from domain.decisions import DecisionContent
from domain.institution import Institution
from domain.recording import RecordingAggregate, Stamp
from domain.values import ContactDetails, InjunctionDetails, ReferralDetails, TransitionDetails
from domain.vocabulary import (
    AlertLevel,
    AppealOutcome,
    CaseOutcome,
    CaseStatus,
    Channel,
    ConsentScope,
    CounsellorRole,
    DeclaredRole,
    Direction,
    InstitutionKind,
    NotificationMethod,
    Place,
    Purpose,
    ReadinessLevel,
    ReviewOutcome,
    TransitionKind,
    TransitionPhase,
    TransitionStep,
)
from domain.young_person import YoungPerson
from infra import simulate_texts as txt

PLACES_PER_COUNSELLOR = 18
"""Young people a counsellor follows at a time; the project's counsellors had 15-20."""

TEAM_SIZE = 5
CASELOAD_LIMIT = 20
SAVE_EVENTS = 5000
"""A save is made (between young people) once this many events wait: transactions of a few
thousand events, however large the simulation."""

DEMO_SEED = 2016  # the year Ungeindsats Aalborg began
DEMO_YOUTH = 90  # one team of five counsellors
DEMO_MONTHS = 24

ALERT_SWEEPER = Actor("alert-sweeper", Role.SYSTEM)
ALERT_ACKNOWLEDGED = 0.35  # of alerts, acknowledged by the counsellor with a note
ALERT_NOTES = (
    "Tried calling twice, will visit at home tomorrow.",
    "Asked the school's contact person to say hello in class.",
    "Texted; the mother says the phone is broken.",
    "Will drop by the production school on Thursday.",
    "Away with family this week, per the youth worker.",
)
_OPEN_TRANSITION = (TransitionPhase.PREPARING, TransitionPhase.IN_EDUCATION)


def _local_zone() -> tzinfo:
    try:
        return ZoneInfo("Europe/Copenhagen")
    except ZoneInfoNotFoundError:  # a system without time zone data: Danish standard time
        return timezone(timedelta(hours=1), "CET")


LOCAL = _local_zone()
WEEKDAYS = (0, 1, 2, 3, 4)

EDUCATIONS = (
    InstitutionKind.VOCATIONAL_COLLEGE,
    InstitutionKind.UPPER_SECONDARY,
    InstitutionKind.VUC,
)
"""Kinds whose programmes start at the school year's intakes (August, January)."""

OFFERS = (
    InstitutionKind.PRODUCTION_SCHOOL,
    InstitutionKind.FGU,
    InstitutionKind.DAY_FOLK_HIGH_SCHOOL,
)

INSTITUTIONS_PER_TEAM = (
    InstitutionKind.PRIMARY_SCHOOL,
    InstitutionKind.PRIMARY_SCHOOL,
    InstitutionKind.VOCATIONAL_COLLEGE,
    InstitutionKind.VOCATIONAL_COLLEGE,
    InstitutionKind.UPPER_SECONDARY,
    InstitutionKind.FGU,
    InstitutionKind.PRODUCTION_SCHOOL,
    InstitutionKind.VUC,
    InstitutionKind.DAY_FOLK_HIGH_SCHOOL,
    InstitutionKind.JOB_CENTRE,
    InstitutionKind.OTHER,
)

PATHWAYS = ("school_leaver", "benefits", "basic_course", "offer")
PATHWAY_WEIGHTS = (25, 40, 15, 20)
REFERRED_BY: dict[str, tuple[InstitutionKind, ...]] = {
    "school_leaver": (InstitutionKind.PRIMARY_SCHOOL, InstitutionKind.OTHER),
    "benefits": (InstitutionKind.JOB_CENTRE,),
    "basic_course": (InstitutionKind.VOCATIONAL_COLLEGE,),
    "offer": OFFERS,
}
AGES = {
    "school_leaver": (15, 17),
    "benefits": (18, 24),
    "basic_course": (16, 22),
    "offer": (16, 23),
}
KEPT_AFTER_CLOSING = ("appeal", "appeal_decided", "revoke")
"""Agenda items that run their course after a case closed."""


@dataclass(frozen=True)
class SimulationProgress:
    week: int
    weeks: int
    events: int


@dataclass(frozen=True)
class SimulationSummary:
    counsellors: tuple[UUID, ...]
    teams: tuple[str, ...]
    institutions: tuple[UUID, ...]
    young_people: int  # every young person's stream, declined referrals included
    events: int

    def to_json(self) -> str:
        return json.dumps(
            {
                "counsellors": [str(i) for i in self.counsellors],
                "teams": list(self.teams),
                "institutions": [str(i) for i in self.institutions],
                "young_people": self.young_people,
                "events": self.events,
            },
            ensure_ascii=False,
        )


def simulate(
    app: Overgang,
    *,
    youth: int,
    months: int,
    seed: int,
    now: datetime,
    progress: Callable[[SimulationProgress], None] | None = None,
) -> SimulationSummary:
    """Write ``months`` of history, ending at ``now``, of teams following ``youth`` young
    people at a time.

    There is one counsellor for every 18 young people, in teams of about five; as cases
    close, new referrals take their places, so more than ``youth`` young people pass
    through. ``progress`` is called after each simulated week.
    """
    if youth < 1 or months < 1:
        raise ValueError("youth and months must be at least 1")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must carry a time zone")
    if now > app.clock() + app.future_tolerance:
        raise ValueError("now lies in the future of the application's clock")
    return _Simulation(app, youth, months, seed, now.astimezone(UTC), progress).run()


# --- the cast ------------------------------------------------------------------------------


@dataclass(eq=False)
class _Institution:
    aggregate: Institution
    kind: InstitutionKind
    partner: Actor  # the staff member who refers and reports for it


@dataclass(eq=False)
class _Staff:
    aggregate: Counsellor
    actor: Actor
    team_id: str
    target: int  # how many young people this counsellor follows at a time
    holiday_weeks: frozenset[int]  # ISO weeks away: a colleague covers with a text

    @property
    def load(self) -> int:
        return len(self.aggregate.caseload)

    @property
    def limit(self) -> int:
        return self.aggregate.caseload_limit


@dataclass(eq=False)
class _Team:
    id: str
    town: str
    lead: _Staff
    staff: list[_Staff]
    institutions: dict[InstitutionKind, list[_Institution]]
    pipeline: list[_Case] = field(default_factory=list)  # referred, waiting for a place


@dataclass(eq=False)
class _Milestone:
    id: UUID
    title: str
    due: date
    status: str = "open"  # open, reached, missed, dropped
    pending: bool = False  # an agenda item will act on it


@dataclass(eq=False)
class _Transition:
    id: UUID
    kind: TransitionKind
    institution: _Institution | None
    programme: str
    expected_start: date
    in_education: bool = False


@dataclass(eq=False)
class _WakeUp:
    at: time
    weekdays: tuple[int, ...]  # ISO weekdays
    channel: Channel
    missed_last: bool = False


AgendaItem = tuple[date, int, str, Any]


@dataclass(eq=False)
class _Case:
    id: UUID
    team: _Team
    pathway: str
    fragility: float  # 0 (steady) .. 1 (everything is hard)
    age: int
    on_benefit: bool
    referrer: _Institution | None
    consents: set[tuple[ConsentScope, UUID | None]]
    referred_at: datetime
    person: YoungPerson | None = None
    status: str = "new"  # referred, waitlisted, enrolled, closed, declined
    staff: _Staff | None = None
    enrolled_on: date | None = None
    last_recorded: datetime = field(default_factory=lambda: datetime.min.replace(tzinfo=UTC))
    agenda: list[AgendaItem] = field(default_factory=list)  # a heap
    plan_drafted: bool = False
    review_postponed: bool = False
    target_programme: str = ""
    milestones: list[_Milestone] = field(default_factory=list)
    wake: _WakeUp | None = None
    transition: _Transition | None = None
    transition_planned: bool = False
    had_bridge: bool = False
    offers: int = 0  # preparatory offers begun: after one, the next step is an education
    after_dropout: bool = False
    settled: bool = False
    education_started_on: date | None = None
    decisions: dict[UUID, str] = field(default_factory=dict)  # statuses, as the domain has them
    injunction: UUID | None = None
    last_sanction: date | None = None
    missed_meetings: list[date] = field(default_factory=list)
    quiet_until: date | None = None
    closing: tuple[date, CaseOutcome, str] | None = None
    reopen_on: date | None = None

    def has(self, scope: ConsentScope, institution_id: UUID | None = None) -> bool:
        return (scope, institution_id) in self.consents


Do = Callable[[Stamp], None]


@dataclass(slots=True)
class _Action:
    at: datetime
    lag: timedelta  # how long after it happened it was written down
    actor: Actor
    do: Do


# --- the simulation ---------------------------------------------------------------------------


class _Simulation:
    """The story, week by week: each young person's week is planned as actions, carried
    out on the aggregates in time order, and the week is saved in a few transactions."""

    def __init__(
        self,
        app: Overgang,
        youth: int,
        months: int,
        seed: int,
        now: datetime,
        progress: Callable[[SimulationProgress], None] | None,
    ) -> None:
        self.app = app
        self.rng = random.Random(seed)
        # Ids from their own stream: changing how many ids a step takes does not change
        # the rest of the story.
        self._id_source = random.Random(f"overgang-simulate-ids:{seed}")
        self.youth = youth
        self.now = now
        # Nothing occurs in the last minute, so everything is written down by ``now``.
        self.cutoff = now - timedelta(minutes=1)
        self.start = now - timedelta(days=round(months * 30.44))
        self.progress = progress
        self.tolerance = app.future_tolerance
        self.snapshot_interval: int | None = (
            app.snapshotting_intervals.get(YoungPerson) if app.snapshots else None
        )
        self.teams: list[_Team] = []
        self.counsellor_ids: list[UUID] = []
        self.institution_ids: list[UUID] = []
        self.cases: list[_Case] = []  # enrolled, or closed with something still to come
        self.young_people = 0
        self.events = 0
        self.monday = self.start.date()
        self.horizon = self.cutoff  # nothing of the current young person happens after it
        self._case: _Case | None = None  # the young person whose week is being written
        self._actions: list[_Action] = []
        self._floor = self.start  # agenda items of the current young person happen after it
        self._dirty: dict[UUID, RecordingAggregate] = {}
        self._unsaved = 0
        self._deferred: list[tuple[_Case, list[_Action]]] = []
        self._seq = 0
        # Alerts: their own random stream (see the module docstring), acknowledgements
        # planned per young person (when, which alert), and when each young person's last
        # fact happened (an alert falls due after it).
        self._alert_rng = random.Random(f"overgang-simulate-alerts:{seed}")
        self._acks: dict[UUID, list[tuple[datetime, UUID]]] = {}
        self._last_at: dict[UUID, datetime] = {}
        # Each young person's due times, at the stream version they were computed for:
        # most facts are checked against them without computing them again.
        self._dues: dict[UUID, tuple[int, list[tuple[datetime, str, str | None]]]] = {}

    # --- small helpers -----------------------------------------------------------------------

    def new_id(self) -> UUID:
        return UUID(int=self._id_source.getrandbits(128), version=4)

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        """Local wall-clock time on ``day``, as UTC."""
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL).astimezone(UTC)

    def some_time(self, day: date, first_hour: int, last_hour: int) -> datetime:
        return self.at(day, self.rng.randint(first_hour, last_hour), self.rng.randrange(0, 60, 5))

    def weekday(self) -> date:
        return self.monday + timedelta(days=self.rng.choice(WEEKDAYS))

    def when(self, day: date, first_hour: int, last_hour: int) -> datetime:
        """A time on ``day`` for an agenda item: after the items before it, so that steps
        that depend on each other (a transition's start and its first day) keep their order
        even on the same day."""
        return max(self.some_time(day, first_hour, last_hour), self._floor + timedelta(minutes=1))

    def ok(self, moment: datetime) -> bool:
        """Whether something of the current young person may happen at ``moment``."""
        return self.start < moment <= self.horizon

    def minutes(self, low: int, high: int) -> timedelta:
        return timedelta(minutes=self.rng.randint(low, high))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def poisson(self, mean: float) -> int:
        limit, k, product = math.exp(-mean), 0, self.rng.random()
        while product > limit:
            k += 1
            product *= self.rng.random()
        return k

    def name(self) -> str:
        return f"{self.rng.choice(txt.FIRST_NAMES)} {self.rng.choice(txt.LAST_NAMES)}"

    def note(self, choices: tuple[str, ...]) -> str:
        return self.rng.choice(choices)

    def schedule(self, case: _Case, day: date, kind: str, payload: Any = None) -> None:
        self._seq += 1
        heapq.heappush(case.agenda, (day, self._seq, kind, payload))

    # --- the young person being written ------------------------------------------------------

    @property
    def case(self) -> _Case:
        assert self._case is not None
        return self._case

    @property
    def person(self) -> YoungPerson:
        person = self.case.person
        assert person is not None
        return person

    @property
    def staff(self) -> _Staff:
        staff = self.case.staff
        assert staff is not None
        return staff

    def record(
        self,
        moment: datetime,
        do: Do,
        *,
        lag: tuple[int, int] = (5, 60),
        actor: Actor | None = None,
    ) -> None:
        """Plan ``do`` at ``moment``, written down ``lag`` minutes later (by default by the
        young person's counsellor)."""
        self._actions.append(_Action(moment, self.minutes(*lag), actor or self.staff.actor, do))

    def write(self, case: _Case, fill: Callable[[_Case], None]) -> None:
        """Let ``fill`` plan ``case``'s actions, then carry them out."""
        self._case, self._actions, self._floor = case, [], self.start
        try:
            fill(case)
            self.run_actions(case, self._actions)
        finally:
            self._case, self._actions, self.horizon = None, [], self.cutoff

    # --- writing ---------------------------------------------------------------------------

    def touch(self, aggregate: RecordingAggregate) -> None:
        self._dirty[aggregate.id] = aggregate

    def stamp(self, actor: Actor, occurred: datetime, lag: timedelta) -> Stamp:
        return Stamp.of(actor, occurred, min(occurred + lag, self.now), self.tolerance)

    def run_actions(self, case: _Case, actions: list[_Action]) -> None:
        """Carry out one young person's actions in the order they happened."""
        actions.sort(key=lambda action: action.at)
        for index, action in enumerate(actions):
            if self._crossing_snapshot(case) or self._quiet_alerts(case, action.at):
                # The library snapshots a version cheaply only when it is the last one in
                # the save; save what came before and carry on after that save.
                self._deferred.append((case, actions[index:]))
                break
            if action.at > self.cutoff:
                raise RuntimeError("the simulation planned something after now")
            recorded = min(max(action.at + action.lag, case.last_recorded), self.now)
            case.last_recorded = recorded
            action.do(Stamp.of(action.actor, action.at, recorded, self.tolerance))
            self._last_at[case.id] = action.at
            self._unsaved += 1
        else:
            # What falls due by the end of the week (the next week starts from there).
            self._quiet_alerts(case, self.at(self.monday + timedelta(days=7), 0))
        if case.person is not None:
            self.touch(case.person)

    def _quiet_alerts(self, case: _Case, until: datetime) -> bool:
        """Raise, escalate and acknowledge what falls due before ``until``, in time order,
        as the sweeper and the counsellor would; True when it stopped at a snapshot."""
        person = case.person
        if person is None or person.status is not CaseStatus.ENROLLED:
            return False
        if not self._acks.get(case.id) and all(
            due >= until for due, _, _ in self._due_times(case, person)
        ):
            return False  # the common case: nothing falls due before this fact
        while True:
            if self._crossing_snapshot(case):
                return True
            step = self._next_alert_step(case, person, until)
            if step is None:
                return False
            moment, actor, do = step
            recorded = min(max(moment, case.last_recorded), self.now)
            case.last_recorded = recorded
            do(Stamp.of(actor, moment, recorded, self.tolerance))
            self._last_at[case.id] = moment
            self._unsaved += 1

    def _next_alert_step(
        self, case: _Case, person: YoungPerson, until: datetime
    ) -> tuple[datetime, Actor, Do] | None:
        """The earliest alert fact due before ``until``, if any: (when, who, what)."""
        after = self._last_at.get(case.id, self.start)
        best: tuple[datetime, Actor, Do] | None = None
        for due, transition, alert in self._due_times(case, person):
            # The sweeper runs every half minute: a little after the due time.
            moment = max(due, after) + timedelta(seconds=5 + int(due.timestamp()) % 50)
            if moment >= until or not self.ok(moment) or (best and moment >= best[0]):
                continue
            if alert is not None:
                best = (moment, ALERT_SWEEPER, partial(self._escalate, person, UUID(alert)))
            else:
                best = (moment, ALERT_SWEEPER, partial(self._raise, case, transition))
        for moment, acknowledged in self._acks.get(case.id, []):
            if moment < until and self.ok(moment) and (best is None or moment < best[0]):
                staff = case.staff
                assert staff is not None
                best = (moment, staff.actor, partial(self._acknowledge, case, acknowledged))
        return best

    def _due_times(
        self, case: _Case, person: YoungPerson
    ) -> list[tuple[datetime, str, str | None]]:
        """When each open transition is next due: (due, transition, the open alert to
        escalate or None to raise), by the app's policy, as the domain computes it."""
        cached = self._dues.get(case.id)
        if cached is not None and cached[0] == person.version:
            return cached[1]
        policy = self.app.quiet_policy
        alert_of = {t: a for a, t in person.open_alerts.items()}
        dues: list[tuple[datetime, str, str | None]] = []
        for transition, phase in person.transitions.items():
            alert = alert_of.get(transition)
            if phase not in _OPEN_TRANSITION or (
                alert is not None and person.alert_levels.get(alert) is AlertLevel.ESCALATED
            ):
                continue
            quiet_since = person.quiet_since(UUID(transition))
            if quiet_since is None:
                continue
            due = policy.deadline(
                person.transition_kinds.get(transition),
                quiet_since,
                person.education_started_at.get(transition),
                escalation=alert is not None,
            )
            dues.append((due, transition, alert))
        self._dues[case.id] = (person.version, dues)
        return dues

    def _raise(self, case: _Case, transition: str, stamp: Stamp) -> None:
        person = case.person
        assert person is not None
        # As Overgang.raise_quiet_alert names it.
        alert = uuid5(person.id, f"alert:{transition}:{person.version}")
        person.raise_quiet_alert(alert, UUID(transition), self.app.quiet_policy, stamp)
        if self._alert_rng.random() < ALERT_ACKNOWLEDGED:
            later = stamp.occurred_at + timedelta(minutes=self._alert_rng.randint(30, 6 * 60))
            self._acks.setdefault(case.id, []).append((later, alert))

    def _escalate(self, person: YoungPerson, alert: UUID, stamp: Stamp) -> None:
        person.escalate_quiet_alert(alert, self.app.quiet_policy, stamp)

    def _acknowledge(self, case: _Case, alert: UUID, stamp: Stamp) -> None:
        person = case.person
        assert person is not None
        planned = self._acks[case.id]
        planned[:] = [(at, a) for at, a in planned if a != alert]
        if alert.hex in person.open_alerts:  # not already ended by a reached contact
            person.acknowledge_alert(alert, self._alert_rng.choice(ALERT_NOTES), stamp)

    def _crossing_snapshot(self, case: _Case) -> bool:
        person = case.person
        return (
            person is not None
            and self.snapshot_interval is not None
            and person.version % self.snapshot_interval == 0
            and bool(person.pending_events)
        )

    def flush(self) -> None:
        aggregates = [a for a in self._dirty.values() if a.pending_events]
        self._dirty.clear()
        self._unsaved = 0
        if aggregates:
            self.events += len(self.app.save(*aggregates))

    def flush_week(self) -> None:
        self.flush()
        while self._deferred:
            deferred, self._deferred = self._deferred, []
            for case, actions in deferred:
                self.run_actions(case, actions)
            self.flush()

    # --- the whole story ---------------------------------------------------------------------

    def run(self) -> SimulationSummary:
        self.setup()
        first = self.start.date() - timedelta(days=self.start.weekday())
        weeks = (self.cutoff.date() - first).days // 7 + 1
        for week in range(weeks):
            self.monday = first + timedelta(weeks=week)
            self.week()
            if self.progress is not None:
                self.progress(SimulationProgress(week + 1, weeks, self.events))
        return SimulationSummary(
            counsellors=tuple(self.counsellor_ids),
            teams=tuple(team.id for team in self.teams),
            institutions=tuple(self.institution_ids),
            young_people=self.young_people,
            events=self.events,
        )

    def setup(self) -> None:
        """Teams, their counsellors and partner institutions, at the start of the story."""
        counsellors = max(1, math.ceil(self.youth / PLACES_PER_COUNSELLOR))
        team_count = max(1, round(counsellors / TEAM_SIZE))
        places = [
            self.youth // counsellors + (k < self.youth % counsellors) for k in range(counsellors)
        ]
        admin = Actor("simulation-admin", Role.ADMIN)
        for t, town in enumerate(self._towns(team_count)):
            team_id = f"{_slug(town)}-mobil"
            staff = []
            for k, target in enumerate(places[t::team_count]):
                lead = k == 0
                counsellor = Counsellor.register(
                    self.new_id(),
                    self.name(),
                    team_id,
                    CounsellorRole.TEAM_LEAD if lead else CounsellorRole.COUNSELLOR,
                    max(CASELOAD_LIMIT, target + 2),
                    self.stamp(admin, self.start, self.minutes(1, 5)),
                )
                self.touch(counsellor)
                self.counsellor_ids.append(counsellor.id)
                summer = self.rng.randint(27, 30)
                holidays = frozenset({summer, summer + 1, summer + 2, self.rng.choice((52, 1))})
                actor = Actor(str(counsellor.id), Role.TEAM_LEAD if lead else Role.COUNSELLOR)
                staff.append(_Staff(counsellor, actor, team_id, target, holidays))
            team = _Team(team_id, town, staff[0], staff, {})
            first_school = self.rng.randrange(len(txt.SCHOOL_HEADS))
            for k, kind in enumerate(INSTITUTIONS_PER_TEAM):
                nth = len(team.institutions.get(kind, []))
                institution = Institution.register(
                    self.new_id(),
                    _institution_name(kind, town, nth, first_school),
                    kind,
                    staff[k % len(staff)].aggregate.id,
                    self.stamp(team.lead.actor, self.start, self.minutes(1, 5)),
                )
                self.touch(institution)
                self.institution_ids.append(institution.id)
                partner = Actor(f"partner-{institution.id.hex[:12]}", Role.PARTNER)
                team.institutions.setdefault(kind, []).append(
                    _Institution(institution, kind, partner)
                )
            self.teams.append(team)
        self.flush()

    def _towns(self, count: int) -> list[str]:
        towns: list[str] = []
        while len(towns) < count:
            town = self.rng.choice(txt.TOWN_HEADS) + self.rng.choice(txt.TOWN_TAILS)
            town = town[0] + town[1:].lower()
            if town in towns:
                town = f"{town} {len(towns) + 1}"
            towns.append(town)
        return towns

    def week(self) -> None:
        for team in self.teams:
            self.team_changes(team)
        still: list[_Case] = []
        for case in self.cases:
            if case.status == "closed":
                self.write(case, self.closed_week)
            else:
                self.write(case, self.enrolled_week)
            if case.status == "enrolled" or case.agenda or case.reopen_on is not None:
                still.append(case)
            if self._unsaved >= SAVE_EVENTS:
                self.flush()
        self.cases = still
        for team in self.teams:
            self.intake(team)
        self.flush_week()

    # --- the team: changes, intake, weekly review, enrolment ---------------------------------

    def team_changes(self, team: _Team) -> None:
        """Now and then a counsellor's caseload limit changes, or an institution gets
        another contact person in the team."""
        lead = team.lead.actor
        for member in team.staff:
            moment = self.some_time(self.weekday(), 9, 15)
            if self.chance(0.002) and self.ok(moment):
                limit = max(member.load, member.limit + self.rng.choice((-2, 2)), 15)
                if limit != member.limit:
                    stamp = self.stamp(lead, moment, self.minutes(2, 30))
                    member.aggregate.change_caseload_limit(limit, stamp)
                    member.target = min(member.target, limit)
                    self.touch(member.aggregate)
        if len(team.staff) < 2:
            return
        for institutions in team.institutions.values():
            for institution in institutions:
                moment = self.some_time(self.weekday(), 9, 15)
                if self.chance(0.002) and self.ok(moment):
                    current = institution.aggregate.contact_counsellor_id
                    others = [s for s in team.staff if s.aggregate.id != current]
                    new = self.rng.choice(others).aggregate.id
                    stamp = self.stamp(lead, moment, self.minutes(2, 30))
                    institution.aggregate.assign_contact_person(new, stamp)
                    self.touch(institution.aggregate)

    def free_places(self, team: _Team) -> int:
        return sum(max(0, min(s.target, s.limit) - s.load) for s in team.staff)

    def intake(self, team: _Team) -> None:
        review_at = self.at(self.monday + timedelta(days=1), 9, 30)
        if self.ok(review_at):
            for case in list(team.pipeline):
                if case.referred_at < review_at:
                    self.write(case, partial(self.review, review_at=review_at))
        # Referrals arrive while there are places to fill, and some more: those wait.
        wanted = self.free_places(team) - len(team.pipeline)
        surplus = self.chance(0.3) if len(team.pipeline) < len(team.staff) else 0
        arrivals = sum(self.chance(0.45) for _ in range(max(0, wanted))) + surplus
        for _ in range(arrivals):
            moment = self.some_time(self.weekday(), 8, 15)
            if self.ok(moment):
                case = self.new_case(team, moment)
                self.write(case, self.refer)

    def new_case(self, team: _Team, moment: datetime) -> _Case:
        rng = self.rng
        pathway = rng.choices(PATHWAYS, PATHWAY_WEIGHTS)[0]
        referrer = None
        if rng.random() < 0.95:  # or by a colleague in the youth house
            referrer = rng.choice(team.institutions[rng.choice(REFERRED_BY[pathway])])
        age = rng.randint(*AGES[pathway])
        return _Case(
            id=self.new_id(),
            team=team,
            pathway=pathway,
            fragility=rng.betavariate(2, 2.5),
            age=age,
            on_benefit=pathway == "benefits" or (age >= 18 and rng.random() < 0.3),
            referrer=referrer,
            consents={(ConsentScope.CASE_WORK, None)},
            referred_at=moment,
        )

    def refer(self, case: _Case) -> None:
        rng = self.rng
        referrer = case.referrer
        scopes = [ConsentScope.CASE_WORK]
        for scope, p in ((ConsentScope.SMS_CONTACT, 0.85), (ConsentScope.PHONE_CONTACT, 0.6)):
            if rng.random() < p:
                scopes.append(scope)
                case.consents.add((scope, None))
        if referrer is not None and rng.random() < 0.5:
            scopes.append(ConsentScope.SHARING_WITH_INSTITUTION)
            case.consents.add((ConsentScope.SHARING_WITH_INSTITUTION, referrer.aggregate.id))
        moment = case.referred_at
        born = moment.date() - timedelta(days=case.age * 365 + rng.randint(0, 364))
        details = ReferralDetails(
            name=self.name(),
            date_of_birth=born,
            # The 00 range is not in use in Denmark: no real number is ever generated.
            phone=f"+45 00 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
            institution_id=referrer.aggregate.id if referrer else None,
            referrer_name=self.name(),
            reason=self.note(txt.REFERRAL_REASONS[case.pathway]),
            consent_scopes=tuple(scopes),
        )

        def do(stamp: Stamp) -> None:
            case.person = YoungPerson.refer(case.id, details, stamp)

        actor = referrer.partner if referrer else case.team.lead.actor
        self._actions.append(_Action(moment, self.minutes(0, 20), actor, do))
        case.status = "referred"
        case.team.pipeline.append(case)
        self.young_people += 1

    def review(self, case: _Case, review_at: datetime) -> None:
        """The weekly review of the referral list: accept while there are places."""
        team, person = case.team, self.person
        if case.status == "referred" and self.chance(0.08):
            outcome = ReviewOutcome.DECLINED
        elif self.free_places(team) > 0:
            outcome = ReviewOutcome.ACCEPTED
        elif case.status == "referred":
            outcome = ReviewOutcome.WAITLISTED
        else:
            return  # still waiting for a place: nothing new to record
        enrol_day = review_at.date() + timedelta(days=self.rng.randint(0, 3))
        reviewed_at = review_at + self.minutes(0, 50)
        enrol_at = max(self.some_time(enrol_day, 10, 15), reviewed_at + self.minutes(10, 60))
        # The meeting began before now, but its decisions are written down after it.
        if not self.ok(enrol_at if outcome is ReviewOutcome.ACCEPTED else reviewed_at):
            return
        note = self.note(txt.REVIEW_NOTES[outcome.value])
        review_day = review_at.date()
        self.record(
            reviewed_at,
            lambda s: person.review_referral(outcome, review_day, note, s),
            actor=team.lead.actor,
        )
        if outcome is ReviewOutcome.DECLINED:
            case.status = "declined"
            team.pipeline.remove(case)
        elif outcome is ReviewOutcome.WAITLISTED:
            case.status = "waitlisted"
        else:
            staff = max(team.staff, key=lambda s: min(s.target, s.limit) - s.load)
            self.record(enrol_at, self._enrol(case, staff), lag=(1, 30), actor=team.lead.actor)
            case.status = "enrolled"
            case.staff = staff
            case.enrolled_on = enrol_day
            team.pipeline.remove(case)
            self.cases.append(case)
            self.begin_case(case, enrol_day)

    def _enrol(self, case: _Case, staff: _Staff) -> Do:
        def do(stamp: Stamp) -> None:
            # What Overgang.enrol does: the young person is enrolled with the counsellor,
            # who takes a place in their caseload. The place is taken at once, so the next
            # review of the week sees it gone.
            person = case.person
            assert person is not None
            person.enrol(staff.aggregate.id, staff.team_id, stamp)
            staff.aggregate.take_case(person.id, self._override(staff), stamp)
            self.touch(staff.aggregate)

        return do

    def _override(self, staff: _Staff) -> str | None:
        return txt.OVER_LIMIT_REASON if staff.load >= staff.limit else None

    def begin_case(self, case: _Case, day: date) -> None:
        """What the counsellor plans at enrolment."""
        rng = self.rng
        late_plan = rng.random() < 0.1
        plan_day = day + timedelta(days=rng.randint(31, 60) if late_plan else rng.randint(5, 26))
        self.schedule(case, plan_day, "plan")
        if not case.has(ConsentScope.SMS_CONTACT) and rng.random() < 0.7:
            self.schedule(case, day + timedelta(days=rng.randint(3, 12)), "consent_sms")
        if (case.fragility > 0.5 and rng.random() < 0.55) or rng.random() < 0.08:
            self.schedule(case, day + timedelta(weeks=rng.randint(1, 10)), "wake_start")
        if case.on_benefit:
            self.schedule(case, day + timedelta(weeks=rng.randint(2, 6)), "readiness")
            if rng.random() < 0.2:
                self.schedule(case, day + timedelta(weeks=rng.randint(1, 3)), "other_decision")

    # --- one young person's week --------------------------------------------------------------

    def enrolled_week(self, case: _Case) -> None:
        rng = self.rng
        monday, sunday = self.monday, self.monday + timedelta(days=6)
        case.missed_meetings = [d for d in case.missed_meetings if (monday - d).days <= 28]
        if case.closing is None:
            self.closing_hazards(case)
        closing_at: datetime | None = None
        if case.closing is not None and case.closing[0] <= sunday:
            closing_at = self.some_time(max(case.closing[0], monday), 13, 16)
            if closing_at <= self.cutoff:
                self.horizon = closing_at - timedelta(seconds=1)  # nothing after the closing
            else:
                closing_at = None
        if case.quiet_until is None or case.quiet_until < monday:
            p = 0.012 + 0.05 * case.fragility**2
            if case.transition is not None and case.transition.in_education:
                p += 0.02 * case.fragility
            if rng.random() < p:
                case.quiet_until = monday + timedelta(weeks=rng.randint(1, 3), days=-1)
        self.agenda(case, sunday)
        self.contacts(case)
        self.signals(case)
        self.sanction(case)
        self.handover(case)
        # A dropout this week may have called off a closing planned for a settled case.
        if closing_at is not None and case.closing is not None:
            self.horizon = self.cutoff
            self.close(case, closing_at)

    def closed_week(self, case: _Case) -> None:
        sunday = self.monday + timedelta(days=6)
        self.agenda(case, sunday)
        if case.reopen_on is not None and case.reopen_on <= sunday:
            moment = self.some_time(max(case.reopen_on, self.monday), 9, 15)
            if self.ok(moment):
                self.reopen(case, moment)

    def agenda(self, case: _Case, sunday: date) -> None:
        while case.agenda and case.agenda[0][0] <= sunday:
            day, seq, kind, payload = heapq.heappop(case.agenda)
            day = max(day, self.monday)
            planned = len(self._actions)
            if not HANDLERS[kind](self, day, payload):
                # Not possible yet (after the closing, or after now): keep it, in order.
                heapq.heappush(case.agenda, (day, seq, kind, payload))
                return
            added = self._actions[planned:]
            if added:
                self._floor = max(self._floor, max(action.at for action in added))

    # --- contact: the heart of the work -------------------------------------------------------

    def contact(
        self,
        moment: datetime,
        channel: Channel,
        purpose: Purpose,
        reached: bool,
        *,
        place: Place | None = None,
        direction: Direction = Direction.OUTGOING,
        duration: int | None = None,
        lag: timedelta | None = None,
        actor: Actor | None = None,
    ) -> None:
        person = self.person
        if reached:
            note = self.note(txt.CONTACT_NOTES[purpose])
        else:
            note, duration = self.note(txt.UNREACHED_NOTES), None
        details = ContactDetails(channel, direction, place, purpose, reached, duration, note)
        contact_id = self.new_id()

        def do(stamp: Stamp) -> None:
            person.record_contact(contact_id, details, stamp)

        if lag is None:
            lag = self.minutes(1, 25) if duration is None else timedelta(minutes=duration + 5)
        self._actions.append(_Action(moment, lag, actor or self.staff.actor, do))

    def text_or_call(self) -> Channel:
        return Channel.SMS if self.case.has(ConsentScope.SMS_CONTACT) else Channel.PHONE

    def contacts(self, case: _Case) -> None:
        rng = self.rng
        monday = self.monday
        days = [monday + timedelta(days=d) for d in WEEKDAYS]
        if monday.isocalendar().week in self.staff.holiday_weeks:
            # The counsellor is away; a colleague covers with a text to hear how things are.
            moment = self.some_time(rng.choice(days), 9, 16)
            if rng.random() < 0.6 and self.ok(moment):
                colleagues = [s for s in case.team.staff if s is not self.staff] or [self.staff]
                self.contact(
                    moment,
                    self.text_or_call(),
                    Purpose.CHECK_IN,
                    rng.random() < 0.7,
                    actor=rng.choice(colleagues).actor,
                )
            return
        self.wake_ups(case, days)
        if case.quiet_until is not None and case.quiet_until >= monday:
            # Gone quiet: calls and texts go unanswered.
            for _ in range(rng.randint(1, 3)):
                moment = self.some_time(rng.choice(days), 9, 17)
                if self.ok(moment):
                    channel = rng.choice((Channel.PHONE, self.text_or_call()))
                    self.contact(moment, channel, Purpose.CHECK_IN, False)
            return
        self.weekly_contact(case, rng.choice(days))
        # Texts and calls in between, both ways; more in the first weeks of an education.
        extra = 0.8
        started = case.education_started_on
        if started is not None and (monday - started).days < 56:
            extra += 0.9
        for _ in range(self.poisson(extra)):
            self.extra_contact(case)

    def weekly_contact(self, case: _Case, day: date) -> None:
        """The baseline: once a week, mostly a meeting wherever the young person likes."""
        rng, f = self.rng, case.fragility
        moment = self.some_time(day, 9, 15)
        if not self.ok(moment):
            return
        kind = rng.choices(("meeting", "phone", "video", "sms"), (60, 28, 4, 8))[0]
        purpose = rng.choices(
            (
                Purpose.CHECK_IN,
                Purpose.PRACTICAL_HELP,
                Purpose.ENCOURAGEMENT,
                Purpose.FOLLOW_UP,
                Purpose.CRISIS,
            ),
            (55, 20, 10, 10, 2 + 8 * f),
        )[0]
        if kind == "meeting":
            self.meeting(case, moment, purpose)
        elif kind == "sms" and case.has(ConsentScope.SMS_CONTACT):
            self.contact(moment, Channel.SMS, purpose, rng.random() < 0.85 - 0.3 * f)
        else:
            channel = Channel.VIDEO if kind == "video" else Channel.PHONE
            reached = rng.random() < 0.88 - 0.25 * f
            duration = rng.randint(15, 45) if kind == "video" else rng.randint(4, 25)
            self.contact(moment, channel, purpose, reached, duration=duration)
            later = moment + self.minutes(10, 120)
            if not reached and case.has(ConsentScope.SMS_CONTACT) and self.ok(later):
                self.contact(later, Channel.SMS, Purpose.FOLLOW_UP, rng.random() < 0.6)

    def meeting(
        self, case: _Case, moment: datetime, purpose: Purpose, *, attended: bool | None = None
    ) -> None:
        """A meeting, with a reminder the day before (or that morning, for a Monday)."""
        rng, f = self.rng, case.fragility
        in_education = case.transition is not None and case.transition.in_education
        place = rng.choices(
            (
                Place.OFFICE,
                Place.EDUCATION_SITE,
                Place.HOME,
                Place.OUTDOORS,  # a walk by the harbour
                Place.CAFE,
                Place.CAR,  # on the way to another meeting
                Place.OTHER,
            ),
            (35, 30 if in_education else 6, 12, 12, 15, 6, 4),
        )[0]
        day = moment.astimezone(LOCAL).date()
        if day.weekday() == 0:
            reminder_at = self.some_time(day, 7, 7)
        else:
            reminder_at = self.some_time(day - timedelta(days=1), 15, 19)
        if rng.random() < 0.85 and self.ok(reminder_at):
            self.contact(reminder_at, self.text_or_call(), Purpose.REMINDER, rng.random() < 0.6)
        no_show = rng.random() < 0.06 + 0.22 * f if attended is None else not attended
        duration = rng.randint(20, 90)
        lag = timedelta(minutes=duration + rng.randint(5, 120))
        if rng.random() < 0.03:
            lag += timedelta(hours=rng.randint(16, 20))  # written up the next morning
        self.contact(
            moment,
            Channel.MEETING,
            purpose,
            not no_show,
            place=place,
            duration=duration,
            lag=lag,
        )
        if no_show:
            case.missed_meetings.append(day)
            later = moment + self.minutes(60, 180)
            if self.ok(later):
                reached = rng.random() < 0.5
                self.contact(later, Channel.PHONE, Purpose.FOLLOW_UP, reached, duration=5)

    def extra_contact(self, case: _Case) -> None:
        rng, f = self.rng, case.fragility
        moment = self.some_time(self.monday + timedelta(days=rng.randrange(7)), 8, 21)
        if not self.ok(moment):
            return
        sms = case.has(ConsentScope.SMS_CONTACT)
        kind = rng.choices(("text", "incoming", "call", "email"), (40, 30, 22, 8))[0]
        if kind == "text" and sms:
            purpose = rng.choice((Purpose.CHECK_IN, Purpose.ENCOURAGEMENT, Purpose.FOLLOW_UP))
            self.contact(moment, Channel.SMS, purpose, rng.random() < 0.8 - 0.3 * f)
        elif kind == "incoming" and sms:
            purpose = rng.choices(
                (Purpose.CHECK_IN, Purpose.PRACTICAL_HELP, Purpose.OTHER, Purpose.CRISIS),
                (40, 30, 25, 5),
            )[0]
            self.contact(moment, Channel.SMS, purpose, True, direction=Direction.INCOMING)
        elif kind == "email":
            self.contact(moment, Channel.EMAIL, Purpose.PRACTICAL_HELP, True)
        else:
            purpose = rng.choice((Purpose.PRACTICAL_HELP, Purpose.FOLLOW_UP, Purpose.CHECK_IN))
            direction = Direction.INCOMING if rng.random() < 0.25 else Direction.OUTGOING
            reached = direction is Direction.INCOMING or rng.random() < 0.75
            duration = rng.randint(3, 20)
            self.contact(
                moment, Channel.PHONE, purpose, reached, direction=direction, duration=duration
            )

    def wake_ups(self, case: _Case, days: list[date]) -> None:
        """Morning calls or texts on the agreed days; a missed one makes the next likelier."""
        wake = case.wake
        if wake is None:
            return
        rng, f = self.rng, case.fragility
        for day in days:
            if day.isoweekday() not in wake.weekdays:
                continue
            moment = self.at(day, wake.at.hour, wake.at.minute) + self.minutes(0, 6)
            if not self.ok(moment):
                continue
            missed = rng.random() < (0.45 if wake.missed_last else 0.1 + 0.25 * f)
            wake.missed_last = missed
            duration = 2 if wake.channel is Channel.PHONE else None
            quickly = self.minutes(0, 5)
            self.contact(
                moment, wake.channel, Purpose.WAKE_UP, not missed, duration=duration, lag=quickly
            )
            retry = moment + self.minutes(10, 20)
            if missed and rng.random() < 0.4 and self.ok(retry):
                reached = rng.random() < 0.5
                quickly = self.minutes(0, 5)
                self.contact(
                    retry, Channel.PHONE, Purpose.WAKE_UP, reached, duration=2, lag=quickly
                )

    def follow_up(self, after: datetime, *, meeting: bool = False) -> None:
        rng = self.rng
        moment = after + timedelta(hours=rng.randint(1, 30))
        if not self.ok(moment):
            return
        if meeting:
            purpose = rng.choice((Purpose.FOLLOW_UP, Purpose.CRISIS))
            self.meeting(self.case, moment, purpose)
        else:
            reached = rng.random() < 0.7
            self.contact(moment, Channel.PHONE, Purpose.FOLLOW_UP, reached, duration=8)

    # --- institution signals ------------------------------------------------------------------

    def signals(self, case: _Case) -> None:
        """Absence and concern reported by the school the young person is in."""
        rng, f = self.rng, case.fragility
        transition = case.transition
        source: _Institution | None = None
        in_education = False
        if transition is not None and transition.in_education:
            source, in_education = transition.institution, True
        elif transition is None and case.pathway in ("basic_course", "offer") and not case.settled:
            source = case.referrer
        if source is None:
            return
        person, institution_id = self.person, source.aggregate.id
        p_absence = (0.03 + 0.1 * f) if in_education else (0.02 + 0.05 * f)
        if rng.random() < p_absence:
            first = self.monday + timedelta(days=rng.randint(0, 2))
            last = first + timedelta(days=rng.randint(0, 2))
            moment = self.some_time(last + timedelta(days=1), 9, 14)
            note = self.note(txt.ABSENCE_NOTES)
            if self.ok(moment):
                self.record(
                    moment,
                    lambda s: person.report_absence(institution_id, first, last, note, s),
                    lag=(0, 10),
                    actor=source.partner,
                )
                self.follow_up(moment)
                if case.wake is None and f > 0.4 and rng.random() < 0.3:
                    self.schedule(case, self.monday + timedelta(days=8), "wake_start")
        if rng.random() < 0.008 + 0.03 * f:
            moment = self.some_time(self.weekday(), 9, 15)
            note = self.note(txt.CONCERN_NOTES)
            if self.ok(moment):
                self.record(
                    moment,
                    lambda s: person.report_concern(institution_id, note, s),
                    lag=(0, 10),
                    actor=source.partner,
                )
                self.follow_up(moment, meeting=True)

    # --- authority ----------------------------------------------------------------------------

    def content(self, kind: str, in_favour: bool, day: date) -> DecisionContent:
        """A decision's content; now and then incomplete, for the audit to find."""
        rng = self.rng
        texts = txt.DECISION_TEXTS[kind]
        careless = rng.random()
        held: date | None = None
        omitted: str | None = None
        if in_favour:
            omitted = txt.HEARING_NOT_NEEDED if rng.random() < 0.95 else None
        elif careless < 0.88:
            held = day - timedelta(days=rng.randint(3, 10))
        elif careless < 0.93:
            omitted = "Urgent: the decision could not wait for a hearing."
        return DecisionContent(
            legal_basis=texts["legal_basis"],
            reasons=texts["reasons"],
            main_considerations="" if careless > 0.97 else texts["considerations"],
            facts_relied_on="" if 0.955 < careless <= 0.97 else texts["facts"],
            fully_in_favour=in_favour,
            hearing_held_on=held,
            hearing_omitted_reason=omitted,
            appeal_guidance=txt.APPEAL_GUIDANCE if not in_favour or rng.random() < 0.3 else None,
            notified_via=rng.choices(list(NotificationMethod), (70, 10, 15, 5))[0],
            decided_by=self.staff.aggregate.id,
            declared_role=rng.choices(list(DeclaredRole), (15, 80, 5))[0],
        )

    def decide(self, moment: datetime, act: Callable[[YoungPerson, UUID, Stamp], None]) -> UUID:
        person, decision_id = self.person, self.new_id()
        self.record(moment, lambda s: act(person, decision_id, s), lag=(10, 90))
        self.case.decisions[decision_id] = "in_force"
        return decision_id

    def maybe_appeal(self, decision_id: UUID, day: date, p: float) -> None:
        if self.rng.random() < p:
            appeal_day = day + timedelta(days=self.rng.randint(3, 20))
            self.schedule(self.case, appeal_day, "appeal", decision_id)

    def sanction(self, case: _Case) -> None:
        """After missed meetings, now and then a sanction; first the counsellor tries to
        reach the young person (mostly)."""
        rng = self.rng
        if not case.on_benefit or not case.decisions:
            return
        friday = self.monday + timedelta(days=4)
        recent = [d for d in case.missed_meetings if 0 < (friday - d).days <= 21]
        if len(recent) < 2 or (case.last_sanction and (friday - case.last_sanction).days < 84):
            return
        moment = self.some_time(friday, 10, 14)
        if rng.random() > 0.35 or not self.ok(moment):
            return
        if rng.random() < 0.9:
            for days_before in (2, 1):
                attempt = self.some_time(friday - timedelta(days=days_before), 9, 15)
                if self.ok(attempt):
                    self.contact(attempt, Channel.PHONE, Purpose.FOLLOW_UP, False)
        content = self.content("sanction", False, friday)
        reduction = self.note(txt.SANCTION_REDUCTIONS)
        decision_id = self.decide(
            moment, lambda p, d, s: p.decide_sanction(d, reduction, content, s)
        )
        case.last_sanction = friday
        if rng.random() < 0.07:
            self.schedule(case, friday + timedelta(days=rng.randint(7, 30)), "revoke", decision_id)
        else:
            self.maybe_appeal(decision_id, friday, 0.35)

    # --- hand-overs and closing ---------------------------------------------------------------

    def handover(self, case: _Case) -> None:
        rng, previous, person = self.rng, self.staff, self.person
        if rng.random() > 0.0008:
            return
        candidates = [s for s in case.team.staff if s is not previous and s.load < s.limit]
        moment = self.some_time(self.weekday(), 9, 15)
        if not candidates or not self.ok(moment):
            return
        new = rng.choice(candidates)
        reason = self.note(txt.HANDOVER_REASONS)

        def do(stamp: Stamp) -> None:
            # What Overgang.assign_counsellor does, step by step.
            previous_id = person.assign_counsellor(new.aggregate.id, new.team_id, reason, stamp)
            new.aggregate.take_case(person.id, self._override(new), stamp)
            assert previous_id == previous.aggregate.id
            previous.aggregate.release_case(person.id, stamp)
            self.touch(new.aggregate)
            self.touch(previous.aggregate)

        self.record(moment, do, actor=case.team.lead.actor)
        case.staff = new

    def closing_hazards(self, case: _Case) -> None:
        """Cases also close for reasons of their own: a move, no wish for support, ..."""
        rng = self.rng
        quiet = case.quiet_until is not None and case.quiet_until >= self.monday
        assert case.enrolled_on is not None
        long_stay = (self.monday - case.enrolled_on).days > 78 * 7
        outcome: CaseOutcome | None = None
        if rng.random() < 0.0006:
            outcome = CaseOutcome.MOVED
        elif rng.random() < (0.05 if quiet else 0.0008):
            outcome = CaseOutcome.DECLINED_SUPPORT
        elif rng.random() < (0.02 if long_stay else 0.0004):
            outcome = CaseOutcome.OTHER
        if outcome is not None:
            self.plan_closing(case, self.weekday(), outcome)

    def plan_closing(self, case: _Case, day: date, outcome: CaseOutcome) -> None:
        if case.closing is None:
            case.closing = (day, outcome, self.note(txt.CLOSE_NOTES[outcome.value]))

    def close(self, case: _Case, moment: datetime) -> None:
        assert case.closing is not None
        _, outcome, note = case.closing
        person, staff = self.person, self.staff
        if case.wake is not None and self.rng.random() < 0.6:
            reason = self.note(txt.WAKE_UP_END_REASONS)
            ended = moment - self.minutes(1, 30)
            self.record(ended, lambda s: person.end_wake_up(reason, s), lag=(1, 5))

        def do(stamp: Stamp) -> None:
            # What Overgang.close_case does: close, and free the place in the caseload.
            held = person.holds_a_caseload_place
            person.close_case(outcome, note, stamp)
            if person.counsellor_id is not None and held != person.holds_a_caseload_place:
                staff.aggregate.release_case(person.id, stamp)
                self.touch(staff.aggregate)

        self.record(moment, do)
        case.status = "closed"
        case.closing = None
        case.wake = None
        case.quiet_until = None
        case.transition_planned = False
        for milestone in case.milestones:
            milestone.pending = False
        kept = [item for item in case.agenda if item[2] in KEPT_AFTER_CLOSING]
        heapq.heapify(kept)
        case.agenda = kept
        if self.rng.random() < 0.06:
            case.reopen_on = moment.date() + timedelta(weeks=self.rng.randint(2, 16))

    def reopen(self, case: _Case, moment: datetime) -> None:
        rng, person, staff = self.rng, self.person, self.staff
        reason = self.note(txt.REOPEN_REASONS)

        def do(stamp: Stamp) -> None:
            # What Overgang.reopen_case does: reopen, and take the place back.
            held = person.holds_a_caseload_place
            person.reopen_case(reason, stamp)
            if person.counsellor_id is not None and held != person.holds_a_caseload_place:
                staff.aggregate.take_case(person.id, self._override(staff), stamp)
                self.touch(staff.aggregate)

        self.record(moment, do)
        case.status = "enrolled"
        case.reopen_on = None
        case.missed_meetings.clear()
        case.settled = False
        day = moment.date()
        if case.transition is not None:
            # The transition left open at the closing did not last.
            why = "dropout" if case.transition.in_education else "before"
            self.schedule(case, day + timedelta(days=1), "abandon", (case.transition, why))
        if case.plan_drafted:
            self.schedule(case, day + timedelta(weeks=rng.randint(1, 3)), "review")
        else:
            self.schedule(case, day + timedelta(days=rng.randint(5, 20)), "plan")
        if not case.transition_planned:
            self.schedule(case, day + timedelta(weeks=rng.randint(2, 6)), "transition")
            case.transition_planned = True


def _institution_name(kind: InstitutionKind, town: str, nth: int, first_school: int) -> str:
    """The ``nth`` institution of ``kind`` in ``town``; ``first_school`` picks the schools."""
    patterns = txt.INSTITUTION_NAMES[kind]
    school = txt.SCHOOL_HEADS[(first_school + nth) % len(txt.SCHOOL_HEADS)]
    name = patterns[nth % len(patterns)].format(town=town, school=school)
    if nth >= len(patterns) and kind is not InstitutionKind.PRIMARY_SCHOOL:
        name = f"{name} {nth + 1}"
    return name


def _slug(town: str) -> str:
    table = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", " ": "-"})
    return town.lower().translate(table)


# --- agenda handlers --------------------------------------------------------------------------
# Each plans the current young person's actions for an agenda item due on ``day`` and
# returns False when its moment is not possible (after a closing this week, or after now).

Handler = Callable[[_Simulation, date, Any], bool]


def _draft_plan(sim: _Simulation, day: date, _: Any) -> bool:
    """The plan, written together within the first month, with its first milestones."""
    rng, case = sim.rng, sim.case
    moment = sim.when(day, 9, 14)
    # The plan and its milestones follow the meeting a minute apart (up to 4 minutes).
    if not sim.ok(moment + timedelta(minutes=4)):
        return False
    person = sim.person
    case.target_programme = case.target_programme or _programme_guess(sim)
    goal = sim.note(txt.PLAN_GOALS).format(programme=case.target_programme)
    together = rng.random() < 0.92
    sim.meeting(case, moment, Purpose.PLAN_REVIEW, attended=True)
    sim.record(
        moment + timedelta(minutes=1),
        lambda s: person.draft_plan(goal, together, s),
        lag=(30, 120),
    )
    case.plan_drafted = True
    for k in range(rng.randint(2, 3)):
        _set_milestone(sim, moment + timedelta(minutes=2 + k), day)
    sim.schedule(case, day + timedelta(days=rng.randint(42, 70)), "review")
    if not case.transition_planned:
        sim.schedule(case, day + timedelta(days=rng.randint(7, 42)), "transition")
        case.transition_planned = True
    return True


def _programme_guess(sim: _Simulation) -> str:
    kind = {
        "school_leaver": InstitutionKind.VOCATIONAL_COLLEGE,
        "benefits": InstitutionKind.VUC,
        "basic_course": InstitutionKind.VOCATIONAL_COLLEGE,
        "offer": InstitutionKind.FGU,
    }[sim.case.pathway]
    return sim.note(txt.PROGRAMMES[kind])


def _set_milestone(sim: _Simulation, moment: datetime, day: date) -> None:
    rng, case, person = sim.rng, sim.case, sim.person
    taken = {m.title for m in case.milestones if m.status == "open"}
    title = rng.choice([t for t in txt.MILESTONES if t not in taken] or list(txt.MILESTONES))
    due = day + timedelta(days=rng.randint(14, 90))
    milestone = _Milestone(sim.new_id(), title, due)
    milestone_id = milestone.id
    sim.record(moment, lambda s: person.set_milestone(milestone_id, title, due, s), lag=(30, 120))
    case.milestones.append(milestone)
    _milestone_fate(sim, milestone, day)


def _milestone_fate(sim: _Simulation, milestone: _Milestone, after: date) -> None:
    """Reached by its date, missed, or left overdue until the next plan review."""
    rng, case = sim.rng, sim.case
    r = rng.random()
    if r < 0.62 - 0.2 * case.fragility:
        day = max(after + timedelta(days=1), milestone.due - timedelta(days=rng.randint(0, 7)))
        sim.schedule(case, day, "milestone", (milestone, "reach"))
    elif r < 0.85:
        day = milestone.due + timedelta(days=rng.randint(0, 6))
        sim.schedule(case, day, "milestone", (milestone, "miss"))
    else:
        return
    milestone.pending = True


def _milestone(sim: _Simulation, day: date, payload: tuple[_Milestone, str]) -> bool:
    rng, case = sim.rng, sim.case
    milestone, what = payload
    moment = sim.when(day, 9, 17)
    if not sim.ok(moment):
        return False
    person, milestone_id = sim.person, milestone.id
    milestone.pending = False
    if what == "reach":
        note = sim.note(txt.MILESTONE_NOTES["reached"])
        if milestone.title in txt.EXAM_MILESTONES:
            # "Good luck" the evening before, "how did it go?" after.
            eve = sim.some_time(day - timedelta(days=1), 18, 20)
            if sim.ok(eve) and case.has(ConsentScope.SMS_CONTACT):
                sim.contact(eve, Channel.SMS, Purpose.ENCOURAGEMENT, True)
            after = moment - timedelta(minutes=30)
            sim.contact(after, sim.text_or_call(), Purpose.FOLLOW_UP, True)
        sim.record(moment, lambda s: person.reach_milestone(milestone_id, note, s))
        milestone.status = "reached"
    elif what == "miss":
        note = sim.note(txt.MILESTONE_NOTES["missed"])
        sim.record(moment, lambda s: person.miss_milestone(milestone_id, note, s))
        milestone.status = "missed"
        r = rng.random()
        if r < 0.65:
            later = day + timedelta(days=rng.randint(1, 7))
            sim.schedule(case, later, "milestone", (milestone, "reschedule"))
            milestone.pending = True
        elif r < 0.85:
            later = day + timedelta(days=rng.randint(1, 14))
            sim.schedule(case, later, "milestone", (milestone, "drop"))
            milestone.pending = True
    elif what == "reschedule":
        _reschedule(sim, milestone, moment, day)
    else:
        _drop(sim, milestone, moment)
    return True


def _reschedule(sim: _Simulation, milestone: _Milestone, moment: datetime, day: date) -> None:
    person, milestone_id = sim.person, milestone.id
    due = day + timedelta(days=sim.rng.randint(14, 42))
    reason = sim.note(txt.MILESTONE_NOTES["rescheduled"])
    sim.record(moment, lambda s: person.reschedule_milestone(milestone_id, due, reason, s))
    milestone.status, milestone.due = "open", due
    _milestone_fate(sim, milestone, day)


def _drop(sim: _Simulation, milestone: _Milestone, moment: datetime) -> None:
    person, milestone_id = sim.person, milestone.id
    reason = sim.note(txt.MILESTONE_NOTES["dropped"])
    sim.record(moment, lambda s: person.drop_milestone(milestone_id, reason, s))
    milestone.status = "dropped"


def _review_plan(sim: _Simulation, day: date, _: Any) -> bool:
    """The plan taken out now and then: how far have we come? Overdue steps are moved,
    dropped or ticked off, and a new one may be added."""
    rng, case = sim.rng, sim.case
    if not case.plan_drafted:
        return True  # drafting the plan schedules its first review
    if rng.random() < 0.2 and not case.review_postponed:
        case.review_postponed = True  # the review slips; the plan is overdue for a while
        sim.schedule(case, day + timedelta(days=rng.randint(7, 28)), "review")
        return True
    moment = sim.when(day, 9, 14)
    settled = sum(
        not m.pending and (m.status == "missed" or (m.status == "open" and m.due < day))
        for m in case.milestones
    )
    # The review, the milestones it settles and a new one follow the meeting a minute
    # apart: the last of them, not only the meeting, must lie before now (or the closing).
    if not sim.ok(moment + timedelta(minutes=3 + settled)):
        return False
    case.review_postponed = False
    person = sim.person
    sim.meeting(case, moment, Purpose.PLAN_REVIEW, attended=True)
    next_day = day + timedelta(days=rng.randint(42, 84))
    next_review = next_day if rng.random() < 0.95 else None
    note = sim.note(txt.PLAN_REVIEW_NOTES)
    sim.record(
        moment + timedelta(minutes=1),
        lambda s: person.review_plan(note, next_review, s),
        lag=(30, 120),
    )
    when = moment + timedelta(minutes=2)
    for milestone in case.milestones:
        overdue = milestone.status == "open" and milestone.due < day
        if milestone.pending or not (overdue or milestone.status == "missed"):
            continue
        when += timedelta(minutes=1)
        r = rng.random()
        if r < 0.6:
            _reschedule(sim, milestone, when, day)
        elif r < 0.85:
            _drop(sim, milestone, when)
        else:
            milestone_id, reached = milestone.id, sim.note(txt.MILESTONE_NOTES["reached"])
            sim.record(when, partial(person.reach_milestone, milestone_id, reached))
            milestone.status = "reached"
    if rng.random() < 0.4:
        _set_milestone(sim, when + timedelta(minutes=1), day)
    if next_review is not None:
        sim.schedule(case, next_day, "review")
    return True


def _consent_sms(sim: _Simulation, day: date, _: Any) -> bool:
    moment = sim.when(day, 9, 15)
    if not sim.ok(moment):
        return False
    person = sim.person
    sim.record(moment, lambda s: person.record_consent(ConsentScope.SMS_CONTACT, None, s))
    sim.case.consents.add((ConsentScope.SMS_CONTACT, None))
    return True


def _wake_start(sim: _Simulation, day: date, _: Any) -> bool:
    rng, case = sim.rng, sim.case
    if case.wake is not None:
        return True
    moment = sim.when(day, 10, 15)
    if not sim.ok(moment):
        return False
    person = sim.person
    at = time(rng.choice((6, 7, 7, 7, 8)), rng.choice((0, 15, 30, 45)))
    weekdays = rng.choices(((1, 2, 3, 4, 5), (1, 2, 3, 4), (1, 3, 5)), (60, 25, 15))[0]
    texts = case.has(ConsentScope.SMS_CONTACT) and rng.random() < 0.4
    channel = Channel.SMS if texts else Channel.PHONE
    sim.record(moment, lambda s: person.agree_wake_up(at, list(weekdays), channel, s))
    case.wake = _WakeUp(at, weekdays, channel)
    sim.schedule(case, day + timedelta(weeks=rng.randint(4, 14)), "wake_end")
    return True


def _wake_end(sim: _Simulation, day: date, _: Any) -> bool:
    case = sim.case
    if case.wake is None:
        return True
    moment = sim.when(day, 10, 15)
    if not sim.ok(moment):
        return False
    person, reason = sim.person, sim.note(txt.WAKE_UP_END_REASONS)
    sim.record(moment, lambda s: person.end_wake_up(reason, s))
    case.wake = None
    return True


# --- transitions ------------------------------------------------------------------------------


def _next_intake(day: date, earliest_days: int) -> date:
    """The next start of an intake at least ``earliest_days`` away: August or January."""
    earliest = day + timedelta(days=earliest_days)
    for year in (earliest.year, earliest.year + 1):
        for month, dom in ((1, 8), (8, 12)):
            start = date(year, month, dom)
            start += timedelta(days=(7 - start.weekday()) % 7)  # a Monday
            if start >= earliest:
                return start
    raise AssertionError("an intake comes every year")


def _monday_after(day: date, days: int) -> date:
    target = day + timedelta(days=days)
    return target + timedelta(days=(7 - target.weekday()) % 7)


def _choose_transition(
    sim: _Simulation, day: date
) -> tuple[TransitionKind, _Institution | None, str, date]:
    """Where the next step leads: kind, institution, programme and expected start."""
    rng, case = sim.rng, sim.case
    institutions = case.team.institutions

    def one_of(*kinds: InstitutionKind) -> _Institution:
        return rng.choice(institutions[rng.choice(kinds)])

    if case.settled and case.age >= 19:
        return TransitionKind.EDUCATION_TO_JOB, None, sim.note(txt.JOBS), _monday_after(day, 14)
    if case.pathway == "basic_course" and not case.after_dropout:
        target = case.referrer or one_of(InstitutionKind.VOCATIONAL_COLLEGE)
        start = _monday_after(day, rng.randint(28, 84))
        return TransitionKind.BASIC_TO_MAIN_COURSE, target, sim.note(txt.MAIN_COURSES), start
    if case.after_dropout or (case.pathway == "offer" and case.offers == 0 and rng.random() < 0.5):
        target, kind = one_of(*OFFERS), TransitionKind.OFFER_TO_OFFER
    elif not case.had_bridge and rng.random() < 0.45:
        target = one_of(
            InstitutionKind.VOCATIONAL_COLLEGE,
            InstitutionKind.UPPER_SECONDARY,
            InstitutionKind.FGU,
        )
        start = _monday_after(day, 7 + rng.randint(0, 14))
        programme = sim.note(txt.PROGRAMMES[target.kind])
        return TransitionKind.BRIDGE_BUILDING, target, programme, start
    elif case.age < 18:
        kinds = (
            InstitutionKind.VOCATIONAL_COLLEGE,
            InstitutionKind.UPPER_SECONDARY,
            InstitutionKind.FGU,
        )
        target = one_of(rng.choices(kinds, (55, 20, 25))[0])
        kind = TransitionKind.SCHOOL_TO_YOUTH_EDUCATION
    else:
        kinds = (InstitutionKind.VOCATIONAL_COLLEGE, InstitutionKind.VUC, InstitutionKind.FGU)
        target = one_of(rng.choices(kinds, (45, 30, 25))[0])
        kind = TransitionKind.BENEFIT_TO_EDUCATION
    programme = sim.note(txt.PROGRAMMES[target.kind])
    if target.kind in EDUCATIONS:
        start = _next_intake(day, 21)
    else:
        start = _monday_after(day, rng.randint(14, 42))
    return kind, target, programme, start


def _start_transition(sim: _Simulation, day: date, _: Any) -> bool:
    rng, case = sim.rng, sim.case
    if case.transition is not None:
        case.transition_planned = False  # one at a time; the open one plans the next
        return True
    moment = sim.when(day, 9, 15)
    if not sim.ok(moment + timedelta(minutes=2)):  # the consent follows 2 minutes later
        return False
    person = sim.person
    kind, target, programme, start = _choose_transition(sim, day)
    transition = _Transition(sim.new_id(), kind, target, programme, start)
    details = TransitionDetails(
        kind=kind,
        from_situation=txt.FROM_SITUATIONS["education" if case.settled else case.pathway],
        to_institution_id=target.aggregate.id if target else None,
        programme=programme,
        expected_start=start,
    )
    transition_id = transition.id
    sim.record(moment, lambda s: person.start_transition(transition_id, details, s))
    if target is not None and rng.random() < 0.75:
        target_id = target.aggregate.id
        if not case.has(ConsentScope.SHARING_WITH_INSTITUTION, target_id):
            sharing = ConsentScope.SHARING_WITH_INSTITUTION
            sim.record(
                moment + timedelta(minutes=2),
                lambda s: person.record_consent(sharing, target_id, s),
            )
            case.consents.add((sharing, target_id))
    case.transition = transition
    case.transition_planned = False
    case.target_programme = programme
    if kind is TransitionKind.BRIDGE_BUILDING:
        case.had_bridge = True
    if kind is TransitionKind.OFFER_TO_OFFER:
        case.offers += 1
    _plan_transition(sim, transition, day)
    return True


def _plan_transition(sim: _Simulation, transition: _Transition, day: date) -> None:
    """Lay out the transition's course: the steps before the start, the start, its fate."""
    rng, case = sim.rng, sim.case
    start, kind = transition.expected_start, transition.kind
    bridge = kind is TransitionKind.BRIDGE_BUILDING
    lead_days = (start - day).days

    def step(on: date, what: str, payload: Any) -> None:
        sim.schedule(case, on, what, payload)

    applied = day + timedelta(days=rng.randint(1, max(1, min(14, lead_days // 3))))
    if not bridge:
        step(applied, "step", (transition, TransitionStep.APPLIED))
    if rng.random() < 0.55 and lead_days > 6:
        third = lead_days // 3 + 1
        visit = day + timedelta(days=rng.randint(third, max(third, lead_days - 3)))
        step(visit, "step", (transition, TransitionStep.VISITED))
    if rng.random() < (0.05 if bridge else 0.1):
        give_up = day + timedelta(days=rng.randint(3, max(3, lead_days - 1)))
        step(give_up, "abandon", (transition, "before"))
        return
    if not bridge and kind is not TransitionKind.EDUCATION_TO_JOB:
        admitted = max(start - timedelta(days=rng.randint(3, 21)), applied + timedelta(days=2))
        step(admitted, "step", (transition, TransitionStep.ADMITTED))
    step(start, "begin", transition)
    if bridge:
        if rng.random() < 0.85:
            step(start + timedelta(days=rng.randint(5, 12)), "complete", transition)
        else:
            step(start + timedelta(days=rng.randint(2, 4)), "abandon", (transition, "trial"))
        return
    if kind is TransitionKind.EDUCATION_TO_JOB:
        settles = rng.random() < 0.85
    else:
        settles = rng.random() < max(0.35, 0.85 - 0.45 * case.fragility)
    leaves = 5 + min(150, int(rng.expovariate(1 / 25)))  # the day a dropout leaves
    if settles or leaves > 7:
        step(start + timedelta(days=7), "step", (transition, TransitionStep.FIRST_WEEK))
    if settles or leaves > 28:
        step(start + timedelta(days=28), "step", (transition, TransitionStep.FIRST_MONTH))
    if not settles:
        step(start + timedelta(days=leaves), "dropout", transition)
        return
    step(start + timedelta(days=rng.randint(42, 90)), "complete", transition)
    if kind is not TransitionKind.OFFER_TO_OFFER and rng.random() < 0.08:
        # Let go too early: the case closes within eight weeks of the start.
        early = start + timedelta(days=rng.randint(21, 49))
        sim.plan_closing(case, early, CaseOutcome.IN_EDUCATION)


def _step(sim: _Simulation, day: date, payload: tuple[_Transition, TransitionStep]) -> bool:
    case = sim.case
    transition, step = payload
    if case.transition is not transition:
        return True
    moment = sim.when(day, 9, 16)
    if not sim.ok(moment):
        return False
    person, transition_id = sim.person, transition.id
    if step is TransitionStep.VISITED:
        before = moment - timedelta(minutes=30)
        sim.meeting(case, before, Purpose.PRACTICAL_HELP, attended=True)
    note = sim.note(txt.TRANSITION_STEP_NOTES[step.value])
    sim.record(moment, lambda s: person.record_transition_step(transition_id, step, note, s))
    return True


def _begin(sim: _Simulation, day: date, transition: _Transition) -> bool:
    """The first day: good luck the evening before, the start, and "how did it go?"."""
    rng, case = sim.rng, sim.case
    if case.transition is not transition:
        return True
    started = sim.when(day, 8, 9)
    evening = max(sim.some_time(day, 16, 19), started + timedelta(hours=1))
    if not sim.ok(evening):
        return False
    person, transition_id = sim.person, transition.id
    eve = sim.some_time(day - timedelta(days=1), 18, 20)
    if sim.ok(eve):
        sim.contact(eve, sim.text_or_call(), Purpose.ENCOURAGEMENT, True)
    if transition.kind is not TransitionKind.EDUCATION_TO_JOB:
        where = transition.institution.aggregate.id if transition.institution else None
        sim.record(
            started,
            lambda s: person.start_education(transition_id, where, s),
            lag=(5, 120),
        )
        transition.in_education = True
        case.education_started_on = day
    note = sim.note(txt.TRANSITION_STEP_NOTES["first_day"])
    first_day = TransitionStep.FIRST_DAY
    sim.record(evening, lambda s: person.record_transition_step(transition_id, first_day, note, s))
    how_did_it_go = evening - timedelta(minutes=5)
    sim.contact(how_did_it_go, sim.text_or_call(), Purpose.FOLLOW_UP, rng.random() < 0.85)
    if case.wake is None and case.fragility > 0.55 and rng.random() < 0.3:
        sim.schedule(case, day - timedelta(days=3), "wake_start")
    return True


def _complete(sim: _Simulation, day: date, transition: _Transition) -> bool:
    rng, case = sim.rng, sim.case
    if case.transition is not transition:
        return True
    moment = sim.when(day, 9, 15)
    if not sim.ok(moment):
        return False
    person, transition_id = sim.person, transition.id
    sim.record(moment, lambda s: person.complete_transition(transition_id, s))
    case.transition = None
    kind = transition.kind
    if kind is TransitionKind.BRIDGE_BUILDING or kind is TransitionKind.OFFER_TO_OFFER:
        bridge = kind is TransitionKind.BRIDGE_BUILDING
        weeks = rng.randint(1, 4) if bridge else rng.randint(8, 20)
        sim.schedule(case, day + timedelta(weeks=weeks), "transition")
        case.transition_planned = True
        case.after_dropout = False
        return True
    if kind is TransitionKind.EDUCATION_TO_JOB:
        sim.plan_closing(case, day + timedelta(weeks=rng.randint(1, 6)), CaseOutcome.EMPLOYED)
        return True
    case.settled = True
    if case.age >= 19 and rng.random() < 0.12:
        sim.schedule(case, day + timedelta(weeks=rng.randint(4, 16)), "transition")
        case.transition_planned = True
        return True
    completed = kind is TransitionKind.BASIC_TO_MAIN_COURSE or rng.random() < 0.15
    outcome = CaseOutcome.COMPLETED if completed else CaseOutcome.IN_EDUCATION
    sim.plan_closing(case, day + timedelta(weeks=rng.randint(1, 10)), outcome)
    return True


def _abandon(sim: _Simulation, day: date, payload: tuple[_Transition, str]) -> bool:
    case = sim.case
    transition, why = payload
    if case.transition is not transition:
        return True
    moment = sim.when(day, 9, 15)
    if not sim.ok(moment):
        return False
    person, transition_id = sim.person, transition.id
    reason = sim.note(txt.ABANDON_REASONS[why])
    sim.record(moment, lambda s: person.abandon_transition(transition_id, reason, s))
    _after_abandon(sim, day, dropped_out=why == "dropout")
    return True


def _after_abandon(sim: _Simulation, day: date, *, dropped_out: bool) -> None:
    rng, case = sim.rng, sim.case
    case.transition = None
    case.education_started_on = None
    case.settled = False
    if case.closing is not None and case.closing[1] is not CaseOutcome.DECLINED_SUPPORT:
        case.closing = None  # it was to close because the young person was settled
    if dropped_out:
        case.after_dropout = True
        if rng.random() < 0.1:
            later = day + timedelta(weeks=rng.randint(1, 4))
            sim.plan_closing(case, later, CaseOutcome.DECLINED_SUPPORT)
            return
        if case.plan_drafted and rng.random() < 0.4:
            sim.schedule(case, day + timedelta(days=rng.randint(7, 21)), "redraft")
    if not case.transition_planned:
        sim.schedule(case, day + timedelta(weeks=rng.randint(2, 8)), "transition")
        case.transition_planned = True


def _dropout(sim: _Simulation, day: date, transition: _Transition) -> bool:
    """The school reports the dropout; the counsellor closes the transition and calls."""
    rng, case = sim.rng, sim.case
    if case.transition is not transition:
        return True
    reported = sim.when(day, 9, 12)
    abandoned = reported + timedelta(hours=rng.randint(1, 4))
    if not sim.ok(abandoned + timedelta(hours=1)):
        return False
    person, transition_id = sim.person, transition.id
    institution = transition.institution
    if institution is not None:
        institution_id, note = institution.aggregate.id, sim.note(txt.DROPOUT_NOTES)
        sim.record(
            reported,
            lambda s: person.report_dropout(institution_id, note, s),
            lag=(0, 10),
            actor=institution.partner,
        )
    reason = sim.note(txt.ABANDON_REASONS["dropout"])
    sim.record(abandoned, lambda s: person.abandon_transition(transition_id, reason, s))
    call = abandoned + timedelta(minutes=20)
    sim.contact(call, Channel.PHONE, Purpose.CRISIS, rng.random() < 0.7, duration=25)
    sharing = ConsentScope.SHARING_WITH_INSTITUTION
    shared = institution is not None and case.has(sharing, institution.aggregate.id)
    if institution is not None and shared and rng.random() < 0.1:
        withdrawn = institution.aggregate.id
        sim.record(
            abandoned + timedelta(hours=1),
            lambda s: person.withdraw_consent(sharing, withdrawn, s),
        )
        case.consents.discard((sharing, withdrawn))
    _after_abandon(sim, day, dropped_out=True)
    return True


def _redraft(sim: _Simulation, day: date, _: Any) -> bool:
    moment = sim.when(day, 9, 14)
    if not sim.ok(moment + timedelta(minutes=2)):  # the milestone follows 2 minutes later
        return False
    person = sim.person
    goal = sim.note(txt.PLAN_GOALS).format(programme=_programme_guess(sim))
    sim.record(moment, lambda s: person.draft_plan(goal, True, s), lag=(30, 120))
    _set_milestone(sim, moment + timedelta(minutes=2), day)
    return True


# --- decisions --------------------------------------------------------------------------------


def _readiness(sim: _Simulation, day: date, _: Any) -> bool:
    rng, case, f = sim.rng, sim.case, sim.case.fragility
    moment = sim.when(day, 10, 15)
    if not sim.ok(moment):
        return False
    ready, activity = ReadinessLevel.EDUCATION_READY, ReadinessLevel.ACTIVITY_READY
    if f < 0.3:
        level = rng.choice((ReadinessLevel.OPENLY_EDUCATION_READY, ready))
    else:
        level = rng.choices((ready, activity), (60, 40) if f < 0.6 else (25, 75))[0]
    content = sim.content("readiness", rng.random() < 0.55, day)
    decision_id = sim.decide(moment, lambda p, d, s: p.assess_readiness(d, level, content, s))
    if not content.fully_in_favour:
        sim.maybe_appeal(decision_id, day, 0.1)
    if level is not activity and case.injunction is None and rng.random() < 0.75:
        sim.schedule(case, day + timedelta(weeks=rng.randint(1, 6)), "injunction")
    if rng.random() < 0.5:
        sim.schedule(case, day + timedelta(weeks=rng.randint(24, 30)), "readiness")
    return True


def _injunction_details(sim: _Simulation, day: date) -> InjunctionDetails:
    rng = sim.rng
    return InjunctionDetails(
        education_goal=sim.case.target_programme or _programme_guess(sim),
        deadline=day + timedelta(days=rng.randint(60, 150)) if rng.random() < 0.9 else None,
        support_offered=sim.note(txt.INJUNCTION_SUPPORT),
        drawn_up_with_young_person=rng.random() < 0.88,
    )


def _injunction(sim: _Simulation, day: date, _: Any) -> bool:
    """An education injunction (uddannelsespålæg): an order, so never fully in favour."""
    rng, case = sim.rng, sim.case
    moment = sim.when(day, 10, 15)
    if not sim.ok(moment):
        return False
    details = _injunction_details(sim, day)
    content = sim.content("injunction", False, day)
    decision_id = sim.decide(moment, lambda p, d, s: p.issue_injunction(d, details, content, s))
    case.injunction = decision_id
    sim.maybe_appeal(decision_id, day, 0.08)
    if rng.random() < 0.2:
        sim.schedule(case, day + timedelta(weeks=rng.randint(6, 20)), "revise", decision_id)
    return True


def _revise(sim: _Simulation, day: date, old: UUID) -> bool:
    case = sim.case
    if case.decisions.get(old) not in ("in_force", "appeal_decided"):
        return True  # appealed, revoked or revised already: no revision now
    moment = sim.when(day, 10, 15)
    if not sim.ok(moment):
        return False
    details = _injunction_details(sim, day)
    changes = sim.note(txt.INJUNCTION_CHANGES)
    content = sim.content("injunction", False, day)
    decision_id = sim.decide(
        moment, lambda p, d, s: p.revise_injunction(d, old, details, changes, content, s)
    )
    case.decisions[old] = "superseded"
    case.injunction = decision_id
    return True


def _other_decision(sim: _Simulation, day: date, _: Any) -> bool:
    moment = sim.when(day, 10, 15)
    if not sim.ok(moment):
        return False
    subject = sim.note(txt.OTHER_DECISION_SUBJECTS)
    content = sim.content("other", True, day)
    sim.decide(moment, lambda p, d, s: p.make_other_decision(d, subject, content, s))
    return True


def _appeal(sim: _Simulation, day: date, decision_id: UUID) -> bool:
    rng, case = sim.rng, sim.case
    if case.decisions.get(decision_id) != "in_force":
        return True
    moment = sim.when(day, 9, 15)
    if not sim.ok(moment):
        return False
    person, note = sim.person, sim.note(txt.APPEAL_NOTES)
    sim.record(moment, lambda s: person.appeal_decision(decision_id, note, s), lag=(10, 120))
    case.decisions[decision_id] = "appealed"
    later = day + timedelta(weeks=rng.randint(4, 12))
    sim.schedule(case, later, "appeal_decided", decision_id)
    return True


def _appeal_decided(sim: _Simulation, day: date, decision_id: UUID) -> bool:
    case = sim.case
    if case.decisions.get(decision_id) != "appealed":
        return True
    moment = sim.when(day, 9, 15)
    if not sim.ok(moment):
        return False
    person = sim.person
    outcome = sim.rng.choices(list(AppealOutcome), (60, 15, 15, 10))[0]
    note = sim.note(txt.APPEAL_DECISION_NOTES)
    sim.record(
        moment,
        lambda s: person.decide_appeal(decision_id, outcome, note, s),
        lag=(10, 240),
        actor=case.team.lead.actor,
    )
    case.decisions[decision_id] = "appeal_decided"
    return True


def _revoke(sim: _Simulation, day: date, decision_id: UUID) -> bool:
    case = sim.case
    if case.decisions.get(decision_id) not in ("in_force", "appealed", "appeal_decided"):
        return True
    moment = sim.when(day, 9, 15)
    if not sim.ok(moment):
        return False
    person, reason = sim.person, sim.note(txt.REVOKE_REASONS)
    sim.record(
        moment,
        lambda s: person.revoke_decision(decision_id, reason, s),
        lag=(10, 120),
        actor=case.team.lead.actor,
    )
    case.decisions[decision_id] = "revoked"
    return True


HANDLERS: dict[str, Handler] = {
    "plan": _draft_plan,
    "review": _review_plan,
    "milestone": _milestone,
    "consent_sms": _consent_sms,
    "wake_start": _wake_start,
    "wake_end": _wake_end,
    "transition": _start_transition,
    "step": _step,
    "begin": _begin,
    "complete": _complete,
    "abandon": _abandon,
    "dropout": _dropout,
    "redraft": _redraft,
    "readiness": _readiness,
    "injunction": _injunction,
    "revise": _revise,
    "other_decision": _other_decision,
    "appeal": _appeal,
    "appeal_decided": _appeal_decided,
    "revoke": _revoke,
}
