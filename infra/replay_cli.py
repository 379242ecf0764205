"""``overgang replay``: the evaluators' replay from the command line (see infra/study.py)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra.bootstrap import build_app
from infra.keys import KeyConfigurationError
from infra.pseudonyms import study_pseudonyms
from infra.replay import LogSource, ReplayBy, parse_as_of, sealed_mapper
from infra.settings import Settings
from projections.risk_rules import RULE_VERSIONS

log = logging.getLogger("overgang")

DEFAULT_WORKERS = max(1, min(2, os.cpu_count() or 1))
"""Two processes where there are two cores: the read models split about evenly in two."""


def add_replay_parser(commands: Any) -> None:
    """The ``replay`` command's arguments, on the CLI's subcommands."""
    replay = commands.add_parser(
        "replay",
        help="rebuild every read model as of a date into a separate store and write a "
        "pseudonymized outcomes report (CSV, SVG, index.html) for a study",
    )
    replay.add_argument(
        "--as-of",
        required=True,
        type=_as_of,
        help="a date (its end, Copenhagen time) or an ISO 8601 moment with a time zone",
    )
    replay.add_argument(
        "--study", required=True, help="the study's name: its pseudonyms are its own"
    )
    replay.add_argument(
        "--out", required=True, type=Path, help="directory for the report (new or empty)"
    )
    replay.add_argument(
        "--by",
        choices=[by.value for by in ReplayBy],
        default=ReplayBy.OCCURRED.value,
        help="which date decides what had happened by then: when it happened in the "
        "world (occurred, the default) or when it was recorded",
    )
    replay.add_argument(
        "--compare-rules",
        type=int,
        choices=sorted(version for version in RULE_VERSIONS if version != 1),
        default=None,
        help="also flag the history under this rule book version, as if it had always been "
        "in force, and report the difference",
    )
    replay.add_argument(
        "--store",
        type=Path,
        default=None,
        help="keep the replay's store in this directory (it holds internal ids: for "
        "operators, never for evaluators); default: a temporary directory",
    )
    replay.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help="processes to share the read models between (default: %(default)s)",
    )
    replay.add_argument("--no-progress", action="store_true", help="no progress bar")


def _as_of(text: str) -> Any:
    try:
        return parse_as_of(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def run_replay(settings: Settings, args: argparse.Namespace) -> int:
    """Replay as ``args`` ask; prints one line of JSON: what was replayed and written."""
    # Here, not at the top: every other command of the CLI would import the report
    # writer and rich for nothing (about 50 ms).
    from infra.study import StudyReplay, StudyReplayError, replay_study

    try:
        pseudonyms = study_pseudonyms(settings, args.study)
    except (KeyConfigurationError, ValueError) as error:
        log.error("not replaying: %s", error)
        return 2
    request = StudyReplay(
        study=args.study,
        as_of=args.as_of,
        out=args.out,
        by=ReplayBy(args.by),
        compare_rules=args.compare_rules,
        store=args.store,
    )
    try:
        with _ProgressBar(enabled=not args.no_progress) as progress:
            result = replay_study(
                _source(settings),
                pseudonyms,
                request,
                quiet_policy=settings.quiet_policy(),
                workers=args.workers,
                progress=progress,
            )
    except StudyReplayError as error:
        log.error("not replaying: %s", error)
        return 2
    summary = {
        "study": request.study,
        "as_of": request.as_of.isoformat(),
        "by": request.by.value,
        "events_read": result.counts.events_read,
        "events_replayed": result.counts.events_replayed,
        "out": str(request.out),
        "files": len(result.files),
        # This process's peak, and the largest worker's: their sum bounds the replay's.
        "peak_memory_mib": {
            "main": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            "worker": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024,
        },
    }
    print(json.dumps(summary), flush=True)
    return 0


def _source(settings: Settings) -> Callable[[], LogSource]:
    """Opens the configured event log, in whichever process asks."""

    def open_source() -> LogSource:
        app = build_app(settings)
        return LogSource(app.recorder, sealed_mapper(app.mapper), close=app.close)

    return open_source


class _ProgressBar:
    """A rich progress bar on stderr: log positions read, of how many, at how many events
    a second. Disabled, it shows nothing and costs nothing."""

    def __init__(self, *, enabled: bool) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._enabled = enabled
        self._bar = Progress(
            TextColumn("replaying"),
            BarColumn(),
            TextColumn("{task.completed:,.0f}/{task.total:,.0f} events"),
            TextColumn("{task.fields[rate]:,.0f} events/s"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            disable=not enabled,
        )
        self._task = self._bar.add_task("replay", total=0, rate=0.0)
        self._started = time.monotonic()

    def __enter__(self) -> Any:
        self._bar.__enter__()
        self._started = time.monotonic()
        return self.update if self._enabled else None

    def update(self, position: int, last: int) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        self._bar.update(self._task, completed=position, total=last, rate=position / elapsed)

    def __exit__(self, *exc_info: object) -> None:
        self._bar.__exit__(None, None, None)
