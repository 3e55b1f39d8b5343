"""`python -m telehealth` = the `telehealth` command: serve, migrate, create-user, demo-data, audit verify."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from telehealth.accounts.models import Role
from telehealth.accounts.passwords import Passwords
from telehealth.clock import SystemClock
from telehealth.config import Settings, SettingsError
from telehealth.db import create_engine, create_session_factory
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
    audit_sub.add_parser(
        "verify", help="check the hash chain; report the first altered or missing row"
    )
    return parser


async def _with_services(settings: Settings, work: Callable[[Services], Awaitable[T]]) -> T:
    engine = create_engine(settings)
    try:
        services = Services(
            settings, SystemClock(), create_session_factory(engine), Passwords(settings)
        )
        return await work(services)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Entry point; bad settings stop here with one line and exit status 2."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
        if args.command == "serve":
            return _serve(settings, args.host, args.port)
        if args.command == "migrate":
            from telehealth.migrate import upgrade

            upgrade(settings)
            print("database is up to date")
            return 0
        if args.command == "create-user":
            return _create_user(settings, args)
        if args.command == "demo-data":
            return _demo_data(settings)
        if args.command == "audit":
            return _audit_verify(settings)
    except SettingsError as exc:
        print(f"telehealth: configuration error: {exc}", file=sys.stderr)
        return 2
    return 1


def _serve(settings: Settings, host: str | None, port: int | None) -> int:
    from telehealth.app import create_app, freeze_startup_objects
    from telehealth.logs import setup_logging

    setup_logging(settings)
    app = create_app(settings)
    app.on_startup.append(freeze_startup_objects)  # after the resources: they are long-lived too
    web.run_app(
        app,
        host=host or settings.host,
        port=port or settings.port,
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


def _audit_verify(settings: Settings) -> int:
    from telehealth.audit import service

    count, problem = asyncio.run(_with_services(settings, service.verify))
    if problem is None:
        print(f"audit trail intact: {count} rows verified")
        return 0
    print(f"audit trail BROKEN: {problem.describe()}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
