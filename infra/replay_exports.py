"""What leaves a replay's store for evaluators: chosen columns of the read models, with
study pseudonyms in place of ids, and the comparison of two risk-rule versions.

Nothing is exported by default: each export names the columns it takes (or derives), and
no column of free text is among them, so a read model that gains a personal column later
does not leak it here. Every id is replaced by its study pseudonym (young people ``yp-``,
transitions ``tr-``, alerts ``al-``, decisions ``dc-``); staff ids are not exported at all.
The rows of young people erased at any time are left out: their facts stay in the
aggregate figures only.

Rows are sorted after pseudonymizing, so the files are byte-identical whatever order the
store returns them in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import overload

from infra.pseudonyms import StudyPseudonyms
from projections.risk_flags import FLAGS, HISTORY
from projections.store import Row, ViewCursor, ViewStore, quote_identifier

CsvTable = tuple[list[str], list[list[str]]]
"""A CSV file's header and rows, as text."""


@dataclass(frozen=True)
class Export:
    """One CSV file made from one read-model table."""

    name: str
    """The file's stem."""
    caption: str
    table: str
    columns: Mapping[str, str]
    """Header name -> the SQL expression read for it (a column, or derived from columns)."""
    pseudonymized: Mapping[str, str] = field(default_factory=dict)
    """Header name -> the pseudonym prefix its ids are replaced with."""
    person: str = "young_person"
    """The header of the young person's id: whose row it is, for leaving out the erased."""


PERSON = {"young_person": "young_person_id"}

EXPORTS: tuple[Export, ...] = (
    Export(
        name="people_events",
        caption="Every event of every young person: what happened, to whom, and when.",
        table="timeline_entries",
        columns={
            **PERSON,
            "occurred_at": "occurred_at",
            "recorded_at": "recorded_at",
            "event_type": "event_type",
            "recorded_by_role": "actor_role",
        },
        pseudonymized={"young_person": "yp"},
    ),
    Export(
        name="people_cases",
        caption="Each young person's case as it stood: status, team and current transition.",
        table="caseload",
        columns={
            **PERSON,
            "status": "status",
            "team": "team_id",
            "referred_at": "referred_at",
            "enrolled_at": "enrolled_at",
            "closed_at": "closed_at",
            "last_reached_contact_at": "last_reached_contact_at",
            "transition_kind": "transition_kind",
            "transition_phase": "transition_phase",
            "education_started_at": "education_started_at",
        },
        pseudonymized={"young_person": "yp"},
    ),
    Export(
        name="people_transitions",
        caption="Every transition with its phase and dates.",
        table="transitions",
        columns={
            **PERSON,
            "transition": "transition_id",
            "kind": "kind",
            "phase": "phase",
            "started_at": "started_at",
            "expected_start": "expected_start",
            "education_started_at": "education_started_at",
            "ended_at": "ended_at",
        },
        pseudonymized={"young_person": "yp", "transition": "tr"},
    ),
    Export(
        name="people_alerts",
        caption="Alerts raised when a transition went quiet, and how each was handled.",
        table="alerts",
        columns={
            **PERSON,
            "alert": "alert_id",
            "transition": "transition_id",
            "transition_kind": "transition_kind",
            "team": "team_id",
            "level": "level",
            "severity": "severity",
            "status": "status",
            "phase": "phase",
            "quiet_since": "quiet_since",
            "raised_at": "raised_at",
            "escalated_at": "escalated_at",
            "acknowledged_at": "acknowledged_at",
            "resolved_at": "resolved_at",
            "resolution": "resolution",
        },
        pseudonymized={"young_person": "yp", "alert": "al", "transition": "tr"},
    ),
    Export(
        name="people_decisions",
        caption="Authority decisions with their legal completeness and what the decider "
        "could see (counts only).",
        table="decision_audit",
        columns={
            **PERSON,
            "decision": "decision_id",
            "kind": "kind",
            "readiness_level": "readiness_level",
            "occurred_at": "occurred_at",
            "decided_by_mentor": "CASE WHEN decided_by = mentor_id THEN 1 ELSE 0 END",
            "declared_role": "declared_role",
            "fully_in_favour": "fully_in_favour",
            "complete": "complete",
            "hearing_held_on": "hearing_held_on",
            "contacts_90_days": "contacts",
            "contacts_reached_90_days": "contacts_reached",
            "absences": "absences",
            "concerns": "concerns",
            "status": "status",
            "appealed_at": "appealed_at",
            "appeal_outcome": "appeal_outcome",
            "revoked_at": "revoked_at",
        },
        pseudonymized={"young_person": "yp", "decision": "dc"},
    ),
)


PSEUDONYM_FUNCTION = "study_pseudonym"
"""The SQL function a replay's store offers: ``study_pseudonym(kind, id)``."""

_FETCH = 5000


def sql_functions(pseudonyms: StudyPseudonyms) -> dict[str, Callable[..., str | None]]:
    """The functions a replay's scratch store must offer for :class:`ExportedRows`."""

    def study_pseudonym(kind: str, identifier: str | None) -> str | None:
        return None if identifier is None or identifier == "" else pseudonyms.of(identifier, kind)

    return {PSEUDONYM_FUNCTION: study_pseudonym}


class ExportedRows(Sequence[Sequence[str]]):
    """The rows of ``export``, pseudonymized, sorted, without the erased: read from the
    store as they are written, never all in memory (the events alone are a row each).

    The database sorts them by their pseudonymized values, so the order depends on the
    content and the study only (sorting by the stored ids would line rows of two studies
    up person by person, and so link their pseudonyms). The store must offer
    :func:`sql_functions`.
    """

    def __init__(self, store: ViewStore, export: Export, erased: Collection[str]) -> None:
        self._store = store
        self._export = export
        self._erased = frozenset(erased)
        person = export.columns[export.person]
        table = quote_identifier(export.table)
        with store.transaction(readonly=True) as cur:
            total = cur.execute(f"SELECT COUNT(*) AS n FROM {table}").fetchone()
            left_out = cur.execute(
                f"SELECT COUNT(*) AS n FROM {table} WHERE {person} = ANY(%s)",
                (sorted(self._erased),),
            ).fetchone()
        assert total is not None and left_out is not None
        self._length = total["n"] - (left_out["n"] if self._erased else 0)

    def _select(self) -> str:
        export = self._export
        selected = [f"{export.columns[export.person]} AS person__"]
        for name, expression in export.columns.items():
            if name in export.pseudonymized:
                value = f"{PSEUDONYM_FUNCTION}('{export.pseudonymized[name]}', {expression})"
            else:
                value = expression
            selected.append(f"{value} AS {quote_identifier(name)}")
        order = ", ".join(str(number) for number in range(2, len(selected) + 1))
        return (
            f"SELECT {', '.join(selected)} FROM {quote_identifier(export.table)} ORDER BY {order}"
        )

    def __iter__(self) -> Iterator[Sequence[str]]:
        header = list(self._export.columns)
        with self._store.transaction(readonly=True) as cur:
            cur.execute(self._select())
            while rows := cur.fetchmany(_FETCH):
                for row in rows:
                    if _hex(row["person__"]) not in self._erased:
                        yield [_text(row[name]) for name in header]

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> Sequence[str]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Sequence[str]]: ...

    def __getitem__(self, index: int | slice) -> Sequence[str] | Sequence[Sequence[str]]:
        rows = list(self)  # not for large tables: iterate them
        return rows[index]


# --- risk rules compared ----------------------------------------------------------------


def rules_suffix(version: int) -> str:
    """The table suffix of a replay's second risk-flags projection, under ``version``."""
    return f"__rules_v{version}"


@dataclass(frozen=True, order=True)
class Flag:
    """A risk flag that had been raised by the as-of moment."""

    young_person_id: str
    rule: str
    subject: str
    rule_version: int
    severity: str
    since: str
    until: str
    """When it ended, if it had by the as-of moment; "" while it was still open."""


def flags_as_of(cur: ViewCursor, as_of: str, suffix: str = "") -> list[Flag]:
    """Every flag raised by ``as_of`` (ISO, UTC): ended ones from the history, and the
    candidates whose condition had arisen by then (a candidate from a later moment is
    only a forecast). ``suffix`` names a second risk-flags projection's tables."""
    flags: set[Flag] = set()
    history = cur.execute(
        "SELECT young_person_id, rule, subject, rule_version, severity, since, "
        f"cleared_at FROM {quote_identifier(HISTORY + suffix)} WHERE since <= %s",
        (as_of,),
    ).fetchall()
    for row in history:
        until = row["cleared_at"] if row["cleared_at"] <= as_of else ""
        flags.add(_flag(row, row["since"], until))
    candidates = cur.execute(
        "SELECT young_person_id, rule, subject, rule_version, severity, active_from, "
        f"active_until FROM {quote_identifier(FLAGS + suffix)} WHERE active_from <= %s",
        (as_of,),
    ).fetchall()
    ended = {(flag.young_person_id, flag.rule, flag.subject, flag.since) for flag in flags}
    for row in candidates:
        if (row["young_person_id"], row["rule"], row["subject"], row["active_from"]) in ended:
            continue  # lapsed, and in the history already
        lapsed = row["active_until"]
        until = lapsed if lapsed is not None and lapsed <= as_of else ""
        flags.add(_flag(row, row["active_from"], until))
    return sorted(flags)


def _flag(row: Row, since: str, until: str) -> Flag:
    return Flag(
        young_person_id=row["young_person_id"],
        rule=row["rule"],
        subject=row["subject"],
        rule_version=row["rule_version"],
        severity=row["severity"],
        since=since,
        until=until,
    )


def export_flags(
    flags: Sequence[Flag], pseudonyms: StudyPseudonyms, erased: Collection[str]
) -> CsvTable:
    """The flags as evaluators see them: pseudonymized, without the erased."""
    header = ["young_person", "rule", "rule_version", "severity", "since", "until"]
    rows = sorted(
        [
            pseudonyms.of(flag.young_person_id, "yp"),
            flag.rule,
            str(flag.rule_version),
            flag.severity,
            flag.since,
            flag.until,
        ]
        for flag in flags
        if flag.young_person_id not in erased
    )
    return header, rows


def compare_rules(
    baseline: Sequence[Flag],
    candidate: Sequence[Flag],
    baseline_version: int,
    candidate_version: int,
    erased: Collection[str],
) -> CsvTable:
    """Per rule: the flags raised and the young people flagged under each rule book,
    and how many were flagged under only one of them."""
    ours, theirs = _by_rule(baseline, erased), _by_rule(candidate, erased)
    a_name, b_name = f"v{baseline_version}", f"v{candidate_version}"
    header = [
        "rule",
        f"flags_{a_name}",
        f"flags_{b_name}",
        f"people_{a_name}",
        f"people_{b_name}",
        f"people_only_{a_name}",
        f"people_only_{b_name}",
    ]
    rows = []
    for rule in sorted(set(ours) | set(theirs)):
        a, b = ours.get(rule, Counter()), theirs.get(rule, Counter())
        rows.append(
            [
                rule,
                str(a.total()),
                str(b.total()),
                str(len(a)),
                str(len(b)),
                str(len(a.keys() - b.keys())),
                str(len(b.keys() - a.keys())),
            ]
        )
    return header, rows


def _by_rule(flags: Sequence[Flag], erased: Collection[str]) -> dict[str, Counter[str]]:
    """Rule -> how many flags each young person had under it."""
    by_rule: dict[str, Counter[str]] = {}
    for flag in flags:
        if flag.young_person_id not in erased:
            by_rule.setdefault(flag.rule, Counter())[flag.young_person_id] += 1
    return by_rule


def _hex(value: str | None) -> str:
    return "" if value is None else value.replace("-", "").lower()


def _text(value: object) -> str:
    return "" if value is None else str(value)
