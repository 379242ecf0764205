"""The ``overgang`` command: serve, projections, tokens and the demo data set."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

from pydantic import ValidationError

from domain.actors import Actor, Role
from domain.application import CommandContext
from domain.errors import DomainError
from domain.vocabulary import ErasureRequester
from infra.alerts import SweeperThread, build_sweeper, run_sweeper
from infra.bootstrap import Services, build_projection_locks, build_services
from infra.keys import KeyConfigurationError, load_master_keys, open_data_key_store
from infra.replay_cli import add_replay_parser, run_replay
from infra.settings import Settings
from infra.simulate import DEMO_MONTHS, DEMO_SEED, DEMO_YOUTH, SimulationProgress, simulate

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("overgang")

TOKEN_ROLES = [role.value for role in Role if role is not Role.SYSTEM]

CLI_ACTOR = Actor(id="overgang-cli", role=Role.ADMIN)
"""Who records what an administrator does with the command line."""

DEFAULT_ERASURE_BASIS = "GDPR art. 17 (right to erasure)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="overgang", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="API, GraphQL and projections in one process")
    serve.add_argument("--host", default=None, help="default: OVERGANG_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default: OVERGANG_PORT or 8000")
    serve.add_argument(
        "--no-projections",
        action="store_true",
        help="serve only; projection workers run as their own processes",
    )
    serve.add_argument(
        "--no-sweeper",
        action="store_true",
        help="do not sweep for quiet transitions here; `overgang alerts run` does it",
    )
    serve.add_argument(
        "--demo", action="store_true", help="load the demo data set first if the log is empty"
    )
    serve.add_argument(
        "--workers",
        type=_at_least_one,
        default=1,
        help="API processes sharing the port (one Python process uses one core); each "
        "runs the projection runner, and a lock lets one of them apply each read model",
    )

    projections = commands.add_parser("projections", help="run or rebuild the read models")
    verbs = projections.add_subparsers(dest="verb", required=True)
    verbs.add_parser("run", help="catch up, then follow the event log until stopped")
    rebuild = verbs.add_parser("rebuild", help="rebuild read models from position zero")
    rebuild.add_argument("name", nargs="?", help="one read model (default: all)")

    token = commands.add_parser("token", help="print a signed development token")
    token.add_argument("--role", required=True, choices=TOKEN_ROLES)
    token.add_argument("--sub", required=True, help="the subject: who the token speaks for")
    token.add_argument("--team")
    token.add_argument("--institution")
    token.add_argument("--hours", type=float, default=12.0, help="validity in hours")
    token.add_argument(
        "--private-key-file",
        type=Path,
        default=None,
        help="RS256 only (tokens normally come from the identity provider): the PEM "
        "private key to sign with",
    )
    token.add_argument("--kid", default=None, help="RS256: the key id a JWKS names it by")

    erase = commands.add_parser("erase", help="erase a young person's personal data for good")
    erase.add_argument("young_person_id", metavar="ID", type=UUID)
    erase.add_argument(
        "--requested-by",
        choices=[requester.value for requester in ErasureRequester],
        default=ErasureRequester.YOUNG_PERSON.value,
    )
    erase.add_argument("--legal-basis", default=DEFAULT_ERASURE_BASIS)

    retention = commands.add_parser("retention", help="apply the retention policy")
    retention_verbs = retention.add_subparsers(dest="verb", required=True)
    retention_erase = retention_verbs.add_parser(
        "erase", help="erase everyone whose case closed more than N years ago"
    )
    retention_erase.add_argument(
        "--years", type=int, default=None, help="default: OVERGANG_RETENTION_YEARS or 5"
    )

    demo = commands.add_parser(
        "demo", help="load the demo data set (a simulated team) if the event log is empty"
    )
    demo.add_argument("--youth", type=_at_least_one, default=DEMO_YOUTH, help=argparse.SUPPRESS)
    demo.add_argument("--months", type=_at_least_one, default=DEMO_MONTHS, help=argparse.SUPPRESS)

    simulation = commands.add_parser(
        "simulate",
        help="write realistic synthetic histories into an empty event log "
        "(deterministic with --seed and --now); the last output line is JSON",
    )
    simulation.add_argument(
        "--youth",
        type=_at_least_one,
        default=DEMO_YOUTH,
        help="young people followed at a time, one counsellor per 18 (default: %(default)s)",
    )
    simulation.add_argument(
        "--months", type=_at_least_one, default=DEMO_MONTHS, help="default: %(default)s"
    )
    simulation.add_argument("--seed", type=int, default=DEMO_SEED, help="default: %(default)s")
    simulation.add_argument(
        "--now",
        type=_aware_datetime,
        default=None,
        help="when the history ends, ISO 8601 with a time zone (default: now)",
    )

    webhooks = commands.add_parser("webhooks", help="outgoing webhooks (the outbox)")
    webhook_verbs = webhooks.add_subparsers(dest="verb", required=True)
    webhook_verbs.add_parser(
        "deliver", help="send every webhook delivery that is due now, once; prints JSON"
    )

    alerts = commands.add_parser("alerts", help="quiet-transition alerts: the sweeper")
    alert_verbs = alerts.add_subparsers(dest="verb", required=True)
    sweep = alert_verbs.add_parser(
        "sweep",
        help="raise and escalate the alerts due now, once; the last output line is JSON",
    )
    sweep.add_argument(
        "--now",
        type=_aware_datetime,
        default=None,
        help="sweep as of this moment, ISO 8601 with a time zone (default: now)",
    )
    alert_verbs.add_parser(
        "run",
        help="sweep every OVERGANG_ALERT_SWEEP_INTERVAL seconds until stopped (and send "
        "due webhooks); reads the alerts read model, which `projections run` keeps",
    )

    add_replay_parser(commands)

    keys = commands.add_parser("keys", help="the master key that wraps the data keys")
    key_verbs = keys.add_subparsers(dest="verb", required=True)
    key_verbs.add_parser(
        "rotate",
        help="re-wrap every data key with OVERGANG_MASTER_KEY (events are not touched); "
        "old keys must be in OVERGANG_PREVIOUS_MASTER_KEYS until this has run",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as error:
        # Names the settings at fault, never their values (hide_input_in_errors).
        log.error("not starting: %s", error)
        return 2
    if args.command in ("token", "serve"):
        # Unsafe token settings (a default secret outside embedded development, a missing
        # key file) stop the process before it serves or signs anything.
        from api.auth import AuthConfigurationError, TokenVerifier

        try:
            TokenVerifier(settings)
        except AuthConfigurationError as error:
            log.error("not starting: %s", error)
            return 2
    if args.command == "token":
        return _token(settings, args)
    if args.command == "keys":
        return _rotate_master_key(settings)
    if args.command == "replay":
        # Only the event log: a replay needs neither data keys nor the live read models.
        return run_replay(settings, args)
    try:
        services = build_services(settings)
    except KeyConfigurationError as error:
        log.error("not starting: %s", error)
        return 2
    try:
        if args.command == "serve":
            return _serve(services, args)
        if args.command == "projections":
            return _projections(services, args)
        if args.command == "demo":
            _load_demo(services, youth=args.youth, months=args.months)
            return 0
        if args.command == "simulate":
            return _simulate(services, args)
        if args.command == "erase":
            return _erase(services, args)
        if args.command == "retention":
            return _apply_retention(services, args)
        if args.command == "webhooks":
            return _deliver_webhooks(services)
        if args.command == "alerts":
            return _alerts(services, args)
    finally:
        services.close()
    return 2


def _rotate_master_key(settings: Settings) -> int:
    # Only the key store: rotating needs neither the application nor the read models.
    try:
        keys = open_data_key_store(settings, load_master_keys(settings))
        try:
            count = keys.rotate_master_key()
        finally:
            keys.close()
    except KeyConfigurationError as error:
        log.error("master key not rotated: %s", error)
        return 2
    log.info("re-wrapped %d data keys with master key %s", count, keys.current_master_key_id)
    return 0


def _token(settings: Settings, args: argparse.Namespace) -> int:
    from api.auth import issue_token

    private_key: Path | None = args.private_key_file
    if settings.jwt_algorithm == "RS256" and private_key is None:
        log.error("RS256 tokens come from the identity provider (or pass --private-key-file)")
        return 2

    print(
        issue_token(
            settings,
            role=args.role,
            sub=args.sub,
            team=args.team,
            institution=args.institution,
            ttl=timedelta(hours=args.hours),
            private_key=None if private_key is None else private_key.read_text(),
            kid=args.kid,
        )
    )
    return 0


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _aware_datetime(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not an ISO 8601 date and time") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise argparse.ArgumentTypeError("needs a time zone, e.g. 2025-06-02T12:00:00+00:00")
    return moment


def _progress_on_stderr() -> Callable[[SimulationProgress], None]:
    """A line on stderr every few seconds, so stdout carries only the JSON summary."""
    began = time.monotonic()
    last_shown: float | None = None

    def show(progress: SimulationProgress) -> None:
        nonlocal last_shown
        now = time.monotonic()
        done = progress.week == progress.weeks
        if not done and last_shown is not None and now - last_shown < 5:
            return
        last_shown = now
        rate = progress.events / max(now - began, 1e-9)
        print(
            f"simulate: week {progress.week}/{progress.weeks}, "
            f"{progress.events:,} events ({rate:,.0f}/s)",
            file=sys.stderr,
            flush=True,
        )

    return show


def _simulate(services: Services, args: argparse.Namespace) -> int:
    if services.app.recorder.max_notification_id():
        # A simulation is a whole world (teams, institutions, their histories); mixed
        # into another one, or run twice with one seed, it would make no sense.
        log.error("event log is not empty: simulate writes into an empty event log only")
        return 1
    now = args.now or services.clock()
    if now > services.clock():
        log.error("--now lies in the future: a history ends now or earlier")
        return 2
    summary = simulate(
        services.app,
        youth=args.youth,
        months=args.months,
        seed=args.seed,
        now=now,
        progress=_progress_on_stderr(),
    )
    print(summary.to_json(), flush=True)
    return 0


def _load_demo(services: Services, *, youth: int = DEMO_YOUTH, months: int = DEMO_MONTHS) -> None:
    """A team of five counsellors and two years of its work, simulated (see
    ``infra.simulate``), unless the event log already holds something."""
    if services.app.recorder.max_notification_id():
        log.info("event log is not empty: demo data not loaded")
        return
    summary = simulate(
        services.app,
        youth=youth,
        months=months,
        seed=DEMO_SEED,
        now=services.clock(),
        progress=_progress_on_stderr(),
    )
    log.info(
        "demo loaded: %d counsellors in team(s) %s, %d institutions, %d young people, "
        "%d events; a token: overgang token --role counsellor --sub demo --team %s",
        len(summary.counsellors),
        ", ".join(summary.teams),
        len(summary.institutions),
        summary.young_people,
        summary.events,
        summary.teams[0],
    )


def _serve(services: Services, args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    if args.demo:
        _load_demo(services)
    if args.workers > 1:
        # Each worker process builds its own services from the same environment.
        services.close()
        os.environ[_WORKERS_RUN_PROJECTIONS] = "0" if args.no_projections else "1"
        os.environ[_WORKERS_RUN_SWEEPER] = "0" if args.no_sweeper else "1"
        uvicorn.run(
            "infra.cli:worker_app",
            factory=True,
            workers=args.workers,
            host=args.host or services.settings.host,
            port=args.port or services.settings.port,
            log_level="info",
            access_log=False,
        )
        return 0
    if not args.no_projections:
        services.projections.start_in_thread()
        if services.webhooks is not None:
            services.webhooks.start_in_thread(services.settings.webhook_poll_interval)
    # The sweeper only reads the alerts read model, so it runs with --no-projections too
    # (a projector elsewhere keeps the view); compose runs it as its own service.
    sweeper = None if args.no_sweeper else _sweeper_thread(services)
    try:
        uvicorn.run(
            create_app(services),
            host=args.host or services.settings.host,
            port=args.port or services.settings.port,
            log_level="info",
            # One log line per request costs every command time and says little that the
            # response codes do not; turn it on behind a proxy that does not log.
            access_log=False,
        )
    finally:
        if sweeper is not None:
            sweeper.stop()
    return 0


def _sweeper_thread(services: Services) -> SweeperThread:
    """The alert sweeper in a daemon thread; a lock lets one process sweep at a time."""
    return SweeperThread(
        build_sweeper(services),
        services.settings.alert_sweep_interval,
        lock=build_projection_locks(services.settings),
    ).start()


def _alerts(services: Services, args: argparse.Namespace) -> int:
    sweeper = build_sweeper(services)
    if args.verb == "sweep":
        now = args.now or services.clock()
        if now > services.clock():
            log.error("--now lies in the future: alerts are raised now or earlier")
            return 2
        report = sweeper.sweep_once(now)
        print(json.dumps(report.counts()), flush=True)
        return 0
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    log.info("alert sweeper running every %ss", services.settings.alert_sweep_interval)
    run_sweeper(
        stop,
        sweeper,
        services.settings.alert_sweep_interval,
        webhooks=services.webhooks,
        webhook_interval=services.settings.webhook_poll_interval,
        lock=build_projection_locks(services.settings),
    )
    log.info("alert sweeper stopped")
    return 0


_WORKERS_RUN_PROJECTIONS = "OVERGANG_SERVE_WORKERS_RUN_PROJECTIONS"
"""Tells ``serve --workers N``'s worker processes whether to run the projections."""

_WORKERS_RUN_SWEEPER = "OVERGANG_SERVE_WORKERS_RUN_SWEEPER"
"""Tells ``serve --workers N``'s worker processes whether to run the alert sweeper."""


def worker_app() -> FastAPI:
    """The app of one ``serve --workers N`` process, with services of its own."""
    from api.app import create_app

    services = build_services(Settings())
    if os.environ.get(_WORKERS_RUN_PROJECTIONS, "1") == "1":
        # Every worker runs the runner: the per-read-model locks let one of them apply each
        # read model, and another takes over should that worker die.
        services.projections.start_in_thread()
        if services.webhooks is not None:
            # Claims are leased (SKIP LOCKED on PostgreSQL): workers never send one twice.
            services.webhooks.start_in_thread(services.settings.webhook_poll_interval)
    if os.environ.get(_WORKERS_RUN_SWEEPER, "1") == "1":
        # In every worker, but its lock lets one sweep (another takes over if it dies).
        _sweeper_thread(services)
    return create_app(services)


def _projections(services: Services, args: argparse.Namespace) -> int:
    runner = services.projections
    if args.verb == "rebuild":
        names = [args.name] if args.name else [p.name for p in runner.projections]
        for name in names:
            count = runner.rebuild(name)
            log.info("rebuilt %s from %d events", name, count)
        return 0
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    runner.run(stop)
    return 0


def _erase(services: Services, args: argparse.Namespace) -> int:
    from infra.erasure import erase_person

    try:
        result = erase_person(
            services,
            args.young_person_id,
            ErasureRequester(args.requested_by),
            args.legal_basis,
            CommandContext(actor=CLI_ACTOR),
        )
    except DomainError as error:
        # Messages name ids and rules only, never personal data.
        print(json.dumps({"error": error.code, "message": error.message}), file=sys.stderr)
        return 1
    print(json.dumps({"erased": str(args.young_person_id), "position": result.position}))
    return 0


def _deliver_webhooks(services: Services) -> int:
    if services.webhooks is None:
        print(json.dumps({"error": "no_webhooks", "message": "OVERGANG_WEBHOOK_URLS is not set"}))
        return 2
    report = services.webhooks.deliver_due()
    print(json.dumps({"sent": report.sent, "retried": report.retried, "failed": report.failed}))
    return 0


def _apply_retention(services: Services, args: argparse.Namespace) -> int:
    from infra.erasure import erase_after_retention

    years = args.years if args.years is not None else services.settings.retention_years
    if years < 1:
        print(json.dumps({"error": "invalid_value", "message": "--years must be at least 1"}))
        return 2
    run = erase_after_retention(services, years)
    print(json.dumps({"erased": run.erased, "failed": run.failed}))
    return 0 if run.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
