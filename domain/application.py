"""The application service: one method per command, each answering with ids and a position.

It loads aggregates, lets them decide, and saves every changed aggregate in one
transaction, so a command is written whole or not at all. It has no I/O of its own beyond
the event store it is given, and reads the time only from the injected clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Recording
from eventsourcing.utils import Environment, EnvType

from domain.actors import Actor
from domain.alerts import QuietPolicy
from domain.counsellor import Counsellor
from domain.decisions import DecisionContent
from domain.errors import (
    ConcurrentUpdateError,
    CounsellorNotFoundError,
    InstitutionNotFoundError,
    NotFoundError,
    YoungPersonNotFoundError,
)
from domain.institution import Institution
from domain.publishing import outbox_messages
from domain.recording import RecordingAggregate, Stamp
from domain.transcodings import register_domain_transcodings
from domain.values import ContactDetails, InjunctionDetails, ReferralDetails, TransitionDetails
from domain.vocabulary import (
    AppealOutcome,
    CaseOutcome,
    Channel,
    ConsentScope,
    CounsellorRole,
    ErasureRequester,
    InstitutionKind,
    ReadinessLevel,
    ReviewOutcome,
    TransitionStep,
)
from domain.young_person import YoungPerson

Clock = Callable[[], datetime]
A = TypeVar("A", bound=RecordingAggregate)


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's key for one command, so that a retry records nothing new."""

    key: str  # already scoped to the caller by whoever builds it
    fingerprint: str  # digest of the request: the same key with another request is refused


@dataclass(frozen=True)
class CommandContext:
    actor: Actor
    occurred_at: datetime | None = None  # when it happened in the world; default: now
    idempotency: IdempotencyKey | None = None


@dataclass(frozen=True)
class CommandResult:
    ids: Mapping[str, UUID]
    position: int  # the last log position written: read models reaching it show the write


@dataclass(frozen=True)
class IdempotentRecording:
    """Handed to the recorder, which stores it in the same transaction as the events."""

    key: IdempotencyKey
    ids: Mapping[str, UUID] = field(default_factory=dict)


@dataclass(frozen=True)
class IdempotentOutcome:
    """What a command answered the first time it was recorded under an idempotency key."""

    fingerprint: str
    ids: Mapping[str, UUID]
    position: int


class Overgang(Application[UUID]):
    """Every stream of Overgang: young people, counsellors and institutions."""

    name = "Overgang"

    def __init__(
        self,
        clock: Clock,
        env: EnvType | None = None,
        *,
        new_id: Callable[[], UUID] = uuid4,
        future_tolerance: timedelta = timedelta(minutes=5),
        snapshot_interval: int = 100,
        quiet_policy: QuietPolicy | None = None,
    ) -> None:
        self.clock = clock
        self.quiet_policy = quiet_policy if quiet_policy is not None else QuietPolicy()
        self.new_id = new_id
        self._recording_listeners: list[Callable[[int], None]] = []
        self.future_tolerance = future_tolerance
        # Snapshots keep the cost of a command independent of the length of a history.
        self.snapshotting_intervals = {  # type: ignore[misc]
            YoungPerson: snapshot_interval,
            Counsellor: snapshot_interval,
        }
        super().__init__(env)

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        # Unlike the library's default, ignore os.environ: all configuration comes from the
        # composition root, so what runs is what the settings say.
        _env = dict(type(self).env)
        _env["IS_SNAPSHOTTING_ENABLED"] = "y"
        if env is not None:
            _env.update(env)
        return Environment(name, _env)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_domain_transcodings(transcoder)

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        # The library snapshots by loading the aggregate again at the interval's version,
        # replaying up to a whole interval of events. When that version is the aggregate's
        # last one, the aggregate in hand already is that state: snapshot it directly.
        if self.snapshots is None:
            return
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            if aggregate is None:
                continue
            interval = self.snapshotting_intervals.get(type(aggregate))
            if not interval or event.originator_version % interval:
                continue
            if event.originator_version == aggregate.version:
                self.snapshots.put([Snapshot.take(aggregate)])
            else:
                self.take_snapshot(event.originator_id, version=event.originator_version)

    def listen_to_recordings(self, listener: Callable[[int], None]) -> None:
        """Have ``listener`` called with the last position written after each save here.

        Lets read models in this process catch up at once instead of at their next poll.
        """
        self._recording_listeners.append(listener)

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        super()._notify(recordings)
        if recordings:
            for listener in self._recording_listeners:
                listener(recordings[-1].notification.id)

    # --- plumbing --------------------------------------------------------------------------

    def _stamp(self, ctx: CommandContext) -> Stamp:
        return Stamp.of(ctx.actor, ctx.occurred_at, self.clock(), self.future_tolerance)

    def _load(self, cls: type[A], aggregate_id: UUID, missing: NotFoundError) -> A:
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise missing from None
        if not isinstance(aggregate, cls):
            raise missing
        return aggregate

    def young_person(self, young_person_id: UUID) -> YoungPerson:
        missing = YoungPersonNotFoundError(f"young person {young_person_id} not found")
        return self._load(YoungPerson, young_person_id, missing)

    def counsellor(self, counsellor_id: UUID) -> Counsellor:
        missing = CounsellorNotFoundError(f"counsellor {counsellor_id} not found")
        return self._load(Counsellor, counsellor_id, missing)

    def institution(self, institution_id: UUID) -> Institution:
        missing = InstitutionNotFoundError(f"institution {institution_id} not found")
        return self._load(Institution, institution_id, missing)

    def _require_institution(self, institution_id: UUID | None) -> None:
        if institution_id is not None:
            self.institution(institution_id)

    def _commit(
        self, *aggregates: RecordingAggregate, ctx: CommandContext, **ids: UUID
    ) -> CommandResult:
        save_kwargs: dict[str, Any] = {}
        if ctx.idempotency is not None:
            save_kwargs["idempotency"] = IdempotentRecording(key=ctx.idempotency, ids=ids)
        # Announcements of published events go into the events' own transaction (an
        # outbox): a message exists if and only if its event was recorded.
        messages = outbox_messages(e for a in aggregates for e in a.pending_events)
        if messages:
            save_kwargs["outbox"] = tuple(messages)
        try:
            recordings = self.save(*aggregates, **save_kwargs)
        except IntegrityError:
            # Another writer got there first (or this idempotency key was just used): the
            # whole transaction rolled back, so nothing of this command was written.
            raise ConcurrentUpdateError(
                "the record was changed by someone else; reload and try again"
            ) from None
        return CommandResult(ids=ids, position=recordings[-1].notification.id)

    def _on_person(
        self,
        young_person_id: UUID,
        ctx: CommandContext,
        act: Callable[[YoungPerson, Stamp], None],
        **ids: UUID,
    ) -> CommandResult:
        person = self.young_person(young_person_id)
        act(person, self._stamp(ctx))
        return self._commit(person, ctx=ctx, young_person_id=young_person_id, **ids)

    # --- counsellors and institutions ------------------------------------------------------

    def register_counsellor(
        self,
        name: str,
        team_id: str,
        role: CounsellorRole,
        caseload_limit: int,
        ctx: CommandContext,
    ) -> CommandResult:
        counsellor = Counsellor.register(
            self.new_id(), name, team_id, role, caseload_limit, self._stamp(ctx)
        )
        return self._commit(counsellor, ctx=ctx, counsellor_id=counsellor.id)

    def change_caseload_limit(
        self, counsellor_id: UUID, caseload_limit: int, ctx: CommandContext
    ) -> CommandResult:
        counsellor = self.counsellor(counsellor_id)
        counsellor.change_caseload_limit(caseload_limit, self._stamp(ctx))
        return self._commit(counsellor, ctx=ctx, counsellor_id=counsellor_id)

    def register_institution(
        self,
        name: str,
        kind: InstitutionKind,
        contact_counsellor_id: UUID | None,
        ctx: CommandContext,
    ) -> CommandResult:
        if contact_counsellor_id is not None:
            self.counsellor(contact_counsellor_id)
        institution = Institution.register(
            self.new_id(), name, kind, contact_counsellor_id, self._stamp(ctx)
        )
        return self._commit(institution, ctx=ctx, institution_id=institution.id)

    def assign_institution_contact(
        self, institution_id: UUID, counsellor_id: UUID, ctx: CommandContext
    ) -> CommandResult:
        institution = self.institution(institution_id)
        self.counsellor(counsellor_id)
        institution.assign_contact_person(counsellor_id, self._stamp(ctx))
        return self._commit(
            institution, ctx=ctx, institution_id=institution_id, counsellor_id=counsellor_id
        )

    # --- intake and consent ----------------------------------------------------------------

    def refer(self, referral: ReferralDetails, ctx: CommandContext) -> CommandResult:
        self._require_institution(referral.institution_id)
        person = YoungPerson.refer(self.new_id(), referral, self._stamp(ctx))
        return self._commit(person, ctx=ctx, young_person_id=person.id)

    def review_referral(
        self,
        young_person_id: UUID,
        outcome: ReviewOutcome,
        review_date: date,
        note: str,
        ctx: CommandContext,
    ) -> CommandResult:
        return self._on_person(
            young_person_id,
            ctx,
            lambda p, s: p.review_referral(outcome, review_date, note, s),
        )

    def enrol(
        self,
        young_person_id: UUID,
        counsellor_id: UUID,
        over_limit_reason: str | None,
        ctx: CommandContext,
    ) -> CommandResult:
        person = self.young_person(young_person_id)
        counsellor = self.counsellor(counsellor_id)
        stamp = self._stamp(ctx)
        person.enrol(counsellor.id, counsellor.team_id, stamp)
        counsellor.take_case(person.id, over_limit_reason, stamp)
        return self._commit(
            person, counsellor, ctx=ctx, young_person_id=person.id, counsellor_id=counsellor.id
        )

    def assign_counsellor(
        self,
        young_person_id: UUID,
        counsellor_id: UUID,
        reason: str,
        over_limit_reason: str | None,
        ctx: CommandContext,
    ) -> CommandResult:
        person = self.young_person(young_person_id)
        counsellor = self.counsellor(counsellor_id)
        stamp = self._stamp(ctx)
        previous_id = person.assign_counsellor(counsellor.id, counsellor.team_id, reason, stamp)
        counsellor.take_case(person.id, over_limit_reason, stamp)
        changed: list[RecordingAggregate] = [person, counsellor]
        if previous_id is not None:
            previous = self.counsellor(previous_id)
            previous.release_case(person.id, stamp)
            changed.append(previous)
        return self._commit(
            *changed, ctx=ctx, young_person_id=person.id, counsellor_id=counsellor.id
        )

    def record_consent(
        self,
        young_person_id: UUID,
        scope: ConsentScope,
        institution_id: UUID | None,
        ctx: CommandContext,
    ) -> CommandResult:
        self._require_institution(institution_id)
        return self._on_person(
            young_person_id, ctx, lambda p, s: p.record_consent(scope, institution_id, s)
        )

    def withdraw_consent(
        self,
        young_person_id: UUID,
        scope: ConsentScope,
        institution_id: UUID | None,
        ctx: CommandContext,
    ) -> CommandResult:
        return self._on_person(
            young_person_id, ctx, lambda p, s: p.withdraw_consent(scope, institution_id, s)
        )

    # --- contact ---------------------------------------------------------------------------

    def record_contact(
        self, young_person_id: UUID, contact: ContactDetails, ctx: CommandContext
    ) -> CommandResult:
        contact_id = self.new_id()
        return self._on_person(
            young_person_id,
            ctx,
            lambda p, s: p.record_contact(contact_id, contact, s),
            contact_id=contact_id,
        )

    def agree_wake_up(
        self,
        young_person_id: UUID,
        wake_up_time: time,
        weekdays: list[int],
        channel: Channel,
        ctx: CommandContext,
    ) -> CommandResult:
        return self._on_person(
            young_person_id,
            ctx,
            lambda p, s: p.agree_wake_up(wake_up_time, weekdays, channel, s),
        )

    def end_wake_up(self, young_person_id: UUID, reason: str, ctx: CommandContext) -> CommandResult:
        return self._on_person(young_person_id, ctx, lambda p, s: p.end_wake_up(reason, s))

    # --- plan ------------------------------------------------------------------------------

    def draft_plan(
        self, young_person_id: UUID, goal: str, drafted_together: bool, ctx: CommandContext
    ) -> CommandResult:
        return self._on_person(
            young_person_id, ctx, lambda p, s: p.draft_plan(goal, drafted_together, s)
        )

    def set_milestone(
        self, young_person_id: UUID, title: str, due: date, ctx: CommandContext
    ) -> CommandResult:
        milestone_id = self.new_id()
        return self._on_person(
            young_person_id,
            ctx,
            lambda p, s: p.set_milestone(milestone_id, title, due, s),
            milestone_id=milestone_id,
        )

    def reach_milestone(
        self, young_person_id: UUID, milestone_id: UUID, note: str, ctx: CommandContext
    ) -> CommandResult:
        return self._on_person(
            young_person_id,
            ctx,
            lambda p, s: p.reach_milestone(milestone_id, note, s),
            milestone_id=milestone_id,
        )

    def miss_milestone(
        self, young_person_id: UUID, milestone_id: UUID, note: str, ctx: CommandContext
    ) -> CommandResult:
        return self._on_person(
            young_person_id,
            ctx,
            lambda p, s: p.miss_milestone(milestone_id, note, s),
            milestone_id=milestone_id,
        )

    def reschedule_milestone(
        self,
        young_person_id: UUID,
        milestone_id: UUID,
        due: date,
        reason: str,
        ctx: CommandContext,
    ) -> CommandResult:
        return self._on_person(
            young_person_id,
            ctx,
            lambda p, s: p.reschedule_milestone(milestone_id, due, reason, s),
            milestone_id=milestone_id,
        )

    def drop_milestone(
        self, young_person_id: UUID, milestone_id: UUID, reason: str, ctx: CommandContext
    ) -> CommandResult:
        return self._on_person(
            young_person_id,
            ctx,
            lambda p, s: p.drop_milestone(milestone_id, reason, s),
            milestone_id=milestone_id,
        )

    def review_plan(
        self, young_person_id: UUID, note: str, next_review: date | None, ctx: CommandContext
    ) -> CommandResult:
        return self._on_person(
            young_person_id, ctx, lambda p, s: p.review_plan(note, next_review, s)
        )

    # --- transitions -----------------------------------------------------------------------

    def start_transition(
        self, young_person_id: UUID, transition: TransitionDetails, ctx: CommandContext
    ) -> CommandResult:
        self._require_institution(transition.to_institution_id)
        transition_id = self.new_id()
        return self._on_person(
            young_person_id,
            ctx,
            lambda p, s: p.start_transition(transition_id, transition, s),
            transition_id=transition_id,
        )

    def record_transition_step(
        self,
        young_person_id: UUID,
        transition_id: UUID,
        step: TransitionStep,
        note: str,
        ctx: CommandContext,
    ) -> CommandResult:
        return self._on_person(
            young_person_id,
            ctx,
            lambda p, s: p.record_transition_step(transition_id, step, note, s),
            transition_id=transition_id,
        )

    def start_education(
        self,
        young_person_id: UUID,
        transition_id: UUID,
        institution_id: UUID | None,
        ctx: CommandContext,
    ) -> CommandResult:
        self._require_institution(institution_id)
        return self._on_person(
            young_person_id,
            ctx,
            lambda p, s: p.start_education(transition_id, institution_id, s),
            transition_id=transition_id,
        )

    def complete_transition(
        self, young_person_id: UUID, transition_id: UUID, ctx: CommandContext
    ) -> CommandResult:
        return self._on_person(
            young_person_id,
            ctx,
            lambda p, s: p.complete_transition(transition_id, s),
            transition_id=transition_id,
        )

    def abandon_transition(
        self, young_person_id: UUID, transition_id: UUID, reason: str, ctx: CommandContext
    ) -> CommandResult:
        return self._on_person(
            young_person_id,
            ctx,
            lambda p, s: p.abandon_transition(transition_id, reason, s),
            transition_id=transition_id,
        )

    # --- institution signals ---------------------------------------------------------------

    def report_absence(
        self,
        young_person_id: UUID,
        institution_id: UUID,
        absent_from: date,
        absent_to: date,
        note: str,
        ctx: CommandContext,
    ) -> CommandResult:
        self._require_institution(institution_id)
        return self._on_person(
            young_person_id,
            ctx,
            lambda p, s: p.report_absence(institution_id, absent_from, absent_to, note, s),
        )

    def report_concern(
        self, young_person_id: UUID, institution_id: UUID, note: str, ctx: CommandContext
    ) -> CommandResult:
        self._require_institution(institution_id)
        return self._on_person(
            young_person_id, ctx, lambda p, s: p.report_concern(institution_id, note, s)
        )

    def report_dropout(
        self, young_person_id: UUID, institution_id: UUID, note: str, ctx: CommandContext
    ) -> CommandResult:
        self._require_institution(institution_id)
        return self._on_person(
            young_person_id, ctx, lambda p, s: p.report_dropout(institution_id, note, s)
        )

    # --- authority -------------------------------------------------------------------------

    def _decision(
        self,
        young_person_id: UUID,
        content: DecisionContent,
        ctx: CommandContext,
        act: Callable[[YoungPerson, UUID, Stamp], None],
    ) -> CommandResult:
        self.counsellor(content.decided_by)
        decision_id = self.new_id()
        return self._on_person(
            young_person_id,
            ctx,
            lambda p, s: act(p, decision_id, s),
            decision_id=decision_id,
        )

    def assess_readiness(
        self,
        young_person_id: UUID,
        level: ReadinessLevel,
        content: DecisionContent,
        ctx: CommandContext,
    ) -> CommandResult:
        return self._decision(
            young_person_id,
            content,
            ctx,
            lambda p, d, s: p.assess_readiness(d, level, content, s),
        )

    def issue_injunction(
        self,
        young_person_id: UUID,
        injunction: InjunctionDetails,
        content: DecisionContent,
        ctx: CommandContext,
    ) -> CommandResult:
        return self._decision(
            young_person_id,
            content,
            ctx,
            lambda p, d, s: p.issue_injunction(d, injunction, content, s),
        )

    def revise_injunction(
        self,
        young_person_id: UUID,
        revises_decision_id: UUID,
        injunction: InjunctionDetails,
        changes: str,
        content: DecisionContent,
        ctx: CommandContext,
    ) -> CommandResult:
        return self._decision(
            young_person_id,
            content,
            ctx,
            lambda p, d, s: p.revise_injunction(
                d, revises_decision_id, injunction, changes, content, s
            ),
        )

    def decide_sanction(
        self,
        young_person_id: UUID,
        reduction: str,
        content: DecisionContent,
        ctx: CommandContext,
    ) -> CommandResult:
        return self._decision(
            young_person_id,
            content,
            ctx,
            lambda p, d, s: p.decide_sanction(d, reduction, content, s),
        )

    def make_other_decision(
        self,
        young_person_id: UUID,
        subject: str,
        content: DecisionContent,
        ctx: CommandContext,
    ) -> CommandResult:
        return self._decision(
            young_person_id,
            content,
            ctx,
            lambda p, d, s: p.make_other_decision(d, subject, content, s),
        )

    def appeal_decision(
        self, young_person_id: UUID, decision_id: UUID, note: str, ctx: CommandContext
    ) -> CommandResult:
        return self._on_person(
            young_person_id,
            ctx,
            lambda p, s: p.appeal_decision(decision_id, note, s),
            decision_id=decision_id,
        )

    def decide_appeal(
        self,
        young_person_id: UUID,
        decision_id: UUID,
        outcome: AppealOutcome,
        note: str,
        ctx: CommandContext,
    ) -> CommandResult:
        return self._on_person(
            young_person_id,
            ctx,
            lambda p, s: p.decide_appeal(decision_id, outcome, note, s),
            decision_id=decision_id,
        )

    def revoke_decision(
        self, young_person_id: UUID, decision_id: UUID, reason: str, ctx: CommandContext
    ) -> CommandResult:
        return self._on_person(
            young_person_id,
            ctx,
            lambda p, s: p.revoke_decision(decision_id, reason, s),
            decision_id=decision_id,
        )

    # --- closing and privacy ---------------------------------------------------------------

    def _with_counsellor(
        self,
        young_person_id: UUID,
        ctx: CommandContext,
        act: Callable[[YoungPerson, Stamp], None],
        adjust: Callable[[Counsellor, UUID, Stamp], None],
    ) -> CommandResult:
        """A change to the case that also changes the counsellor's caseload."""
        person = self.young_person(young_person_id)
        stamp = self._stamp(ctx)
        held_place = person.holds_a_caseload_place
        act(person, stamp)
        changed: list[RecordingAggregate] = [person]
        if person.counsellor_id is not None and held_place != person.holds_a_caseload_place:
            counsellor = self.counsellor(person.counsellor_id)
            adjust(counsellor, person.id, stamp)
            changed.append(counsellor)
        return self._commit(*changed, ctx=ctx, young_person_id=young_person_id)

    # --- alerts ------------------------------------------------------------------------------

    def raise_quiet_alert(
        self, young_person_id: UUID, transition_id: UUID, ctx: CommandContext
    ) -> CommandResult:
        """Raise the alert of a transition quiet past its threshold (the sweeper's command).

        ``TransitionNotQuietError`` when it is not due (the read model that found it was
        behind), ``AlertAlreadyOpenError`` when another sweeper raised it first.
        """
        person = self.young_person(young_person_id)
        # Derived from the stream's version: the same alert has the same id on a retry.
        alert_id = uuid5(young_person_id, f"alert:{transition_id.hex}:{person.version}")
        person.raise_quiet_alert(alert_id, transition_id, self.quiet_policy, self._stamp(ctx))
        return self._commit(person, ctx=ctx, young_person_id=young_person_id, alert_id=alert_id)

    def escalate_quiet_alert(
        self, young_person_id: UUID, alert_id: UUID, ctx: CommandContext
    ) -> CommandResult:
        return self._on_person(
            young_person_id,
            ctx,
            lambda p, s: p.escalate_quiet_alert(alert_id, self.quiet_policy, s),
            alert_id=alert_id,
        )

    def acknowledge_alert(
        self, young_person_id: UUID, alert_id: UUID, note: str, ctx: CommandContext
    ) -> CommandResult:
        return self._on_person(
            young_person_id,
            ctx,
            lambda p, s: p.acknowledge_alert(alert_id, note, s),
            alert_id=alert_id,
        )

    def resolve_alert(
        self, young_person_id: UUID, alert_id: UUID, reason: str, ctx: CommandContext
    ) -> CommandResult:
        return self._on_person(
            young_person_id,
            ctx,
            lambda p, s: p.resolve_alert(alert_id, reason, s),
            alert_id=alert_id,
        )

    def close_case(
        self, young_person_id: UUID, outcome: CaseOutcome, note: str, ctx: CommandContext
    ) -> CommandResult:
        return self._with_counsellor(
            young_person_id,
            ctx,
            lambda p, s: p.close_case(outcome, note, s),
            lambda c, p, s: c.release_case(p, s),
        )

    def reopen_case(
        self,
        young_person_id: UUID,
        reason: str,
        over_limit_reason: str | None,
        ctx: CommandContext,
    ) -> CommandResult:
        return self._with_counsellor(
            young_person_id,
            ctx,
            lambda p, s: p.reopen_case(reason, s),
            lambda c, p, s: c.take_case(p, over_limit_reason, s),
        )

    def record_subject_access_export(
        self,
        young_person_id: UUID,
        export_format: str,
        format_version: int,
        ctx: CommandContext,
    ) -> CommandResult:
        """Record that the young person's data was exported to them (GDPR art. 15)."""
        return self._on_person(
            young_person_id,
            ctx,
            lambda p, s: p.record_subject_access_export(export_format, format_version, s),
        )

    def erase_personal_data(
        self,
        young_person_id: UUID,
        requested_by: ErasureRequester,
        legal_basis: str,
        ctx: CommandContext,
    ) -> CommandResult:
        return self._with_counsellor(
            young_person_id,
            ctx,
            lambda p, s: p.erase_personal_data(requested_by, legal_basis, s),
            lambda c, p, s: c.release_case(p, s),
        )
