"""An evaluators' study replay: ``overgang replay --as-of DATE --study NAME --out DIR``.

1. Every read model is rebuilt as of the date into a store of the replay's own (a scratch
   SQLite file in a temporary directory, or where ``--store`` says), never the live ones
   (:mod:`infra.replay`); with ``--compare-rules N`` the risk flags a second time, under
   rule book version N as if it had always been in force.
2. From that store, the outcome figures (:mod:`projections.outcome_figures`), the
   pseudonymized per-person tables (:mod:`infra.replay_exports`) and, when asked, the
   comparison of the two rule books.
3. Into DIR: one CSV file per table, the charts as SVG files, and ``index.html`` showing
   them (:mod:`infra.report`).

The same log, date, mode and study give byte-identical files: nothing in them depends on
the clock, the store's row order or the machine.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from domain.alerts import QuietPolicy
from infra.bootstrap import all_projections
from infra.pseudonyms import StudyPseudonyms
from infra.replay import (
    LogSource,
    Progress,
    ReplayBy,
    ReplayCounts,
    ReplayWindow,
    replay_in_parallel,
)
from infra.replay_exports import (
    EXPORTS,
    ExportedRows,
    compare_rules,
    export_flags,
    flags_as_of,
    rules_suffix,
    sql_functions,
)
from infra.report import ReportPage, Section, Table, write_report
from infra.study_report import outcome_sections
from projections.base import Projection
from projections.columns import iso_utc
from projections.outcome_figures import outcomes_as_of
from projections.risk_flags import RiskFlagsProjection
from projections.risk_rules import RULE_VERSIONS, rules_as_if_always
from projections.store import ScratchSQLiteViewStore, ViewStore

log = logging.getLogger(__name__)

STORE_FILE = "replay.sqlite"
IN_FORCE_RULES = 1
"""The rule book version the live read models run (``DEFAULT_RULES``)."""

PSEUDONYMS_NOTE = (
    "Young people, transitions, alerts and decisions are named by pseudonyms of this study "
    "only: keyed hashes (HMAC-SHA256) of their ids under the study's own key. The same "
    "young person has the same pseudonym in every replay of this study, and pseudonyms of "
    "different studies cannot be linked. No names, notes or other free text are in this "
    "report, and young people whose data was erased appear in the aggregate figures only."
)


class StudyReplayError(Exception):
    """The replay cannot start as asked (the output directory is not empty, ...)."""


@dataclass(frozen=True)
class StudyReplay:
    """What to replay, and where to."""

    study: str
    as_of: datetime
    out: Path
    by: ReplayBy = ReplayBy.OCCURRED
    compare_rules: int | None = None
    """A rule book version to compare with the one in force."""
    store: Path | None = None
    """Keep the replay's store in this directory (it holds the read models' own ids:
    for operators, not for evaluators); None: a temporary directory, removed after."""


@dataclass(frozen=True)
class StudyResult:
    counts: ReplayCounts
    files: list[Path]


def replay_study(
    open_source: Callable[[], LogSource],
    pseudonyms: StudyPseudonyms,
    request: StudyReplay,
    *,
    quiet_policy: QuietPolicy | None = None,
    workers: int = 1,
    progress: Progress | None = None,
) -> StudyResult:
    """Replay the event log ``open_source`` opens for ``request`` and write the study's
    files; with ``workers`` > 1 the read models are split over that many processes (each
    opens the log for itself)."""
    if request.compare_rules is not None and request.compare_rules not in RULE_VERSIONS:
        known = ", ".join(str(version) for version in sorted(RULE_VERSIONS))
        raise StudyReplayError(f"no rule book version {request.compare_rules} (known: {known})")
    _require_empty(request.out, "the output directory")
    projections: list[Projection] = list(all_projections(quiet_policy))
    if request.compare_rules is not None:
        candidate = RiskFlagsProjection(rules_as_if_always(request.compare_rules))
        projections.append(candidate.with_suffix(rules_suffix(request.compare_rules)))
    window = ReplayWindow(request.as_of, request.by)
    with _store_directory(request.store) as directory:
        store = ScratchSQLiteViewStore(directory / STORE_FILE, functions=sql_functions(pseudonyms))
        try:
            began = time.perf_counter()
            counts = replay_in_parallel(
                open_source, store, projections, window, workers=workers, progress=progress
            )
            replayed = time.perf_counter()
            # Written while the store is open: the per-person tables stream from it.
            files = write_report(request.out, _page(store, request, pseudonyms, counts))
            log.info(
                "study replay: read models %.1f s, report %.1f s (%d files)",
                replayed - began,
                time.perf_counter() - replayed,
                len(files),
            )
        finally:
            store.close()
    return StudyResult(counts=counts, files=files)


def _page(
    store: ViewStore, request: StudyReplay, pseudonyms: StudyPseudonyms, counts: ReplayCounts
) -> ReportPage:
    erased = counts.erased
    as_of = iso_utc(request.as_of)
    with store.transaction(readonly=True) as cur:
        sections = outcome_sections(outcomes_as_of(cur, request.as_of))
        flags = flags_as_of(cur, as_of)
        candidate = (
            None
            if request.compare_rules is None
            else flags_as_of(cur, as_of, rules_suffix(request.compare_rules))
        )
    tables = [
        Table(
            export.name, list(export.columns), ExportedRows(store, export, erased), export.caption
        )
        for export in EXPORTS
    ]
    tables.append(
        Table(
            "people_risk_flags",
            *export_flags(flags, pseudonyms, erased),
            "Dropout-risk flags raised by the as-of date: the rule and its version, the "
            "severity, and when the flag was open (no end: still open).",
        )
    )
    sections.append(
        Section(
            "Young people, one row each fact",
            "What happened, to whom and when, by pseudonym: events, cases, transitions, "
            "alerts, decisions and risk flags as the read models held them on the as-of "
            "date. Each table's full CSV file is linked below it.",
            tables=tables,
        )
    )
    if request.compare_rules is not None and candidate is not None:
        sections.append(
            Section(
                f"Risk rules: version {IN_FORCE_RULES} against version {request.compare_rules}",
                f"The same history judged by the rule book in force (version "
                f"{IN_FORCE_RULES}) and by version {request.compare_rules}, as if it had "
                "been in force all along: how many flags each rule raised, how many young "
                "people it flagged, and how many only one of the two flagged.",
                tables=[
                    Table(
                        "risk_rules_compared",
                        *compare_rules(
                            flags, candidate, IN_FORCE_RULES, request.compare_rules, erased
                        ),
                        "Flags and young people flagged per rule under each rule book.",
                    ),
                    Table(
                        f"people_risk_flags_v{request.compare_rules}",
                        *export_flags(candidate, pseudonyms, erased),
                        f"The flags rule book version {request.compare_rules} would have raised.",
                    ),
                ],
            )
        )
    return ReportPage(
        title="Overgang: outcomes replayed",
        study=request.study,
        as_of=as_of,
        mode=f"by {request.by.value}",
        events_replayed=counts.events_replayed,
        sections=sections,
        pseudonyms_note=PSEUDONYMS_NOTE,
    )


def _require_empty(directory: Path, what: str) -> None:
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise StudyReplayError(f"{what} {directory} exists and is not empty")


@contextmanager
def _store_directory(keep_in: Path | None) -> Iterator[Path]:
    if keep_in is not None:
        _require_empty(keep_in, "the store directory")
        keep_in.mkdir(parents=True, exist_ok=True)
        yield keep_in
        return
    with tempfile.TemporaryDirectory(prefix="overgang-replay-") as directory:
        yield Path(directory)
