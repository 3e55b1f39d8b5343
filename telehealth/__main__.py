"""`python -m telehealth` = the `telehealth` command: serve, migrate, create-user, demo-data, audit verify, notes verify."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TypeVar

from aiohttp import web

from telehealth.accounts.models import Role
from telehealth.clock import SystemClock
from telehealth.config import Settings, SettingsError
from telehealth.db import create_engine, create_session_factory
from telehealth.passwords import Passwords
from telehealth.unit_of_work import Services

T = TypeVar("T")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="telehealth", description="Virtual physical-therapy clinic"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the web service")
    serve.add_argument("--host", help="override TELEHEALTH_HOST")
    serve.add_argument("--port", type=int, help="override TELEHEALTH_PORT")
    sub.add_parser("migrate", help="apply database migrations")
    user = sub.add_parser(
        "create-user",
        help="create an account (password from a prompt, or the first line of standard input)",
    )
    user.add_argument("--email", required=True)
    user.add_argument("--name", required=True)
    user.add_argument("--role", choices=[r.value for r in Role], required=True)
    user.add_argument("--time-zone", default=None)
    sub.add_parser("demo-data", help="load the demo clinic and print its logins")
    audit = sub.add_parser("audit", help="audit trail tools")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser(
        "verify",
        help="check the chain against the seal keys and the checkpoints; report the first "
        "altered, forged or missing row",
    )
    verify.add_argument(
        "--checkpoints",
        type=Path,
        default=None,
        help="checkpoint file to trust (default TELEHEALTH_AUDIT_CHECKPOINT_FILE)",
    )
    audit_sub.add_parser("seal", help="link the recorded events into the chain now")
    notes = sub.add_parser("notes", help="visit note tools")
    notes_sub = notes.add_subparsers(dest="notes_command", required=True)
    notes_sub.add_parser(
        "verify", help="check every signed note and addendum against its keyed seal"
    )
    return parser


async def _with_services(settings: Settings, work: Callable[[Services], Awaitable[T]]) -> T:
    engine = create_engine(settings)
    try:
        services = Services(
            settings,
            SystemClock(),
            create_session_factory(engine, settings.db_pool_timeout),
            Passwords(settings),
        )
        return await work(services)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Entry point; bad settings stop here with one line and exit status 2."""
    args = _parser().parse_args(argv)
    try:
        environ: Mapping[str, str] = os.environ
        if args.command == "serve":
            environ = serve_environ(environ, args.host, args.port)
        settings = Settings.from_env(environ)
        if args.command == "serve":
            return _serve(settings)
        if args.command == "migrate":
            return _migrate(settings)
        if args.command == "create-user":
            return _create_user(settings, args)
        if args.command == "demo-data":
            return _demo_data(settings)
        if args.command == "audit":
            if args.audit_command == "seal":
                return _audit_seal(settings)
            return _audit_verify(settings, args.checkpoints or settings.audit_checkpoint_file)
        if args.command == "notes":
            return _notes_verify(settings)
    except SettingsError as exc:
        print(f"telehealth: configuration error: {exc}", file=sys.stderr)
        return 2
    return 1


def _migrate(settings: Settings) -> int:
    from telehealth.db_roles import RoleError
    from telehealth.migrate import upgrade

    try:
        upgrade(settings)
    except RoleError as exc:
        print(f"telehealth: {exc}", file=sys.stderr)
        return 1
    print("database is up to date")
    return 0


def serve_environ(environ: Mapping[str, str], host: str | None, port: int | None) -> dict[str, str]:
    """The environment with `serve --host/--port` standing in for TELEHEALTH_HOST/PORT.

    They feed every setting derived from them, the default PUBLIC_URL included, so the pages'
    WebSocket Origin check and the join links name the port the server really listens on.
    """
    merged = dict(environ)
    if host:
        merged["TELEHEALTH_HOST"] = host
    if port:
        merged["TELEHEALTH_PORT"] = str(port)
    return merged


def _serve(settings: Settings) -> int:
    from telehealth.app import create_app, freeze_startup_objects
    from telehealth.db_roles import current_role_problems
    from telehealth.logs import setup_logging

    if settings.is_production:
        # A service that could rewrite its own history is not started with real patients' data.
        problems = asyncio.run(current_role_problems(settings.database_url))
        if problems:
            print(
                "telehealth: refusing to serve: the database role "
                + "; ".join(problems)
                + " (run migrations as TELEHEALTH_DATABASE_OWNER_URL, see docs/deployment.md)",
                file=sys.stderr,
            )
            return 1

    setup_logging(settings)
    app = create_app(settings)
    app.on_startup.append(freeze_startup_objects)  # after the resources: they are long-lived too
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        access_log=None,
        print=print,
        loop=_event_loop(),
    )
    return 0


def _event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (a dependency off Windows), else asyncio's own loop.

    Signaling is socket-bound: relaying a frame costs about half the CPU on uvloop.
    """
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _create_user(settings: Settings, args: argparse.Namespace) -> int:
    from telehealth.accounts import service
    from telehealth.errors import DomainError

    password = (
        getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    )
    person = service.NewPerson(
        email=args.email,
        display_name=args.name,
        role=Role(args.role),
        password=password,
        time_zone=args.time_zone or settings.clinic_time_zone,
    )
    try:
        user = asyncio.run(
            _with_services(settings, lambda s: service.create_person_unattended(s, person))
        )
    except DomainError as exc:
        print(f"telehealth: {exc.message}", file=sys.stderr)
        return 1
    print(f"created {user.role} {user.email} ({user.id})")
    return 0


def _demo_data(settings: Settings) -> int:
    from telehealth.demo import describe_logins, load_demo_data

    people = asyncio.run(_with_services(settings.with_secret(), load_demo_data))
    print(describe_logins(people, settings.public_url))
    return 0


def _audit_verify(settings: Settings, checkpoint_file: Path | None) -> int:
    from telehealth.audit import service

    try:
        found = asyncio.run(
            _with_services(
                settings.with_secret(), lambda services: service.verify(services, checkpoint_file)
            )
        )
    except (OSError, ValueError) as exc:
        print(f"telehealth: cannot read the checkpoints: {exc}", file=sys.stderr)
        return 2
    if found.problem is not None:
        print(f"audit trail BROKEN: {found.problem.describe()}", file=sys.stderr)
        return 1
    print(
        f"audit trail intact: {found.linked} rows verified"
        + (f"; {found.unsealed} recorded rows not yet sealed" if found.unsealed else "")
    )
    if checkpoint_file is None:
        print(
            "warning: no checkpoint file was given (--checkpoints or "
            "TELEHEALTH_AUDIT_CHECKPOINT_FILE): rows removed from the end of the chain could "
            "only be told by the checkpoints stored in the database itself",
            file=sys.stderr,
        )
    return 0


def _audit_seal(settings: Settings) -> int:
    from telehealth.audit import service

    linked = asyncio.run(_with_services(settings.with_secret(), service.seal))
    print(f"audit trail: {linked} rows sealed")
    return 0


def _notes_verify(settings: Settings) -> int:
    from telehealth.notes import service

    count, problem = asyncio.run(_with_services(settings.with_secret(), service.verify_all))
    if problem is None:
        print(f"signed notes intact: {count} notes and their addenda verified")
        return 0
    print(f"signed notes BROKEN after {count} intact: {problem}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
