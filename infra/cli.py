"""The ``overgang`` command: serve, projections, tokens and the demo data set."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import timedelta

from domain.actors import Role
from infra.bootstrap import Services, build_services
from infra.settings import Settings

log = logging.getLogger("overgang")

TOKEN_ROLES = [role.value for role in Role if role is not Role.SYSTEM]


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
        "--demo", action="store_true", help="load the demo data set first if the log is empty"
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

    commands.add_parser("demo", help="load the demo data set if the event log is empty")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = _parser().parse_args(argv)
    settings = Settings()
    if args.command == "token":
        return _token(settings, args)
    services = build_services(settings)
    try:
        if args.command == "serve":
            return _serve(services, args)
        if args.command == "projections":
            return _projections(services, args)
        if args.command == "demo":
            _load_demo(services)
            return 0
    finally:
        services.close()
    return 2


def _token(settings: Settings, args: argparse.Namespace) -> int:
    from api.auth import issue_token

    print(
        issue_token(
            settings,
            role=args.role,
            sub=args.sub,
            team=args.team,
            institution=args.institution,
            ttl=timedelta(hours=args.hours),
        )
    )
    return 0


def _load_demo(services: Services) -> None:
    from infra.demo import load_demo

    if services.app.recorder.max_notification_id():
        log.info("event log is not empty: demo data not loaded")
        return
    summary = load_demo(services.app)
    log.info("demo loaded: %s", summary)


def _serve(services: Services, args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    if args.demo:
        _load_demo(services)
    if not args.no_projections:
        services.projections.start_in_thread()
    uvicorn.run(
        create_app(services),
        host=args.host or services.settings.host,
        port=args.port or services.settings.port,
        log_level="info",
        # One log line per request costs every command time and says little that the
        # response codes do not; turn it on behind a proxy that does not log.
        access_log=False,
    )
    return 0


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


if __name__ == "__main__":
    sys.exit(main())
