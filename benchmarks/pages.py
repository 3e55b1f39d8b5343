"""Pages under load: the patient home, booking, the therapist's agenda and a note, as people
open them, on SQLite and PostgreSQL, beside a floor.

    .venv/bin/python -m benchmarks.pages                       # SQLite, then PostgreSQL if reachable
    .venv/bin/python -m benchmarks.pages --database sqlite --seconds 3
    .venv/bin/python -m benchmarks.pages --postgres postgresql+asyncpg://postgres@127.0.0.1/postgres

For each database the script migrates a fresh database, loads the demo clinic, starts
`telehealth serve` in a subprocess, signs in through the form as a browser does (the demo patient
for her pages, the demo therapist for theirs) and keeps 1, 8 and 32 connections busy on each page
for `--seconds`, printing p50, p99 and requests per second.

The floor is a bare aiohttp server in its own process answering each path with the very bytes our
server sent for it (no database, no templates, no middleware): what the machine, aiohttp and the
load generator cost. Ratios are ours/floor for p99 and ours/floor for throughput. On PostgreSQL
the script also runs the patient home on two instances of the service at once (clients split
between them) against one instance: nothing on the request path may serialize instances.

The load generator shares the machine with the servers; on a 2-core machine it takes about one
core, so absolute figures are low and the ratios are what to compare between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from benchmarks.signaling_relay import free_port, wait_listening

HERE = Path(__file__).resolve().parent
PATIENT = ("maria.lopez@demo.clinic", "demo-patient-pass")
THERAPIST = ("dana.reyes@demo.clinic", "demo-therapist-pass")
CONNECTIONS = (1, 8, 32)
VISIT_LINK = re.compile(r'href="/visits/([0-9a-f-]{36})')


@dataclass
class Figures:
    """One measurement."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def per_second(self) -> float:
        """Throughput."""
        return self.requests / self.seconds


def telehealth(*args: str, env: dict[str, str]) -> None:
    """Run a `telehealth` command to completion."""
    subprocess.run(
        [sys.executable, "-m", "telehealth", *args],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_service(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """`telehealth serve` on a free port; returns the process and its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "telehealth", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_listening(port)
    return process, f"http://127.0.0.1:{port}"


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server and wait for it."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def signed_in(base: str, who: tuple[str, str]) -> aiohttp.ClientSession:
    """A client session signed in through the form (cookie and all)."""
    http = aiohttp.ClientSession(
        base,
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        connector=aiohttp.TCPConnector(limit=0),
    )
    page = await (await http.get("/login")).text()
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None, "no CSRF token on the sign-in page"
    email, password = who
    response = await http.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": found.group(1), "next": "/"},
        headers={"Origin": base},
        allow_redirects=False,
    )
    assert response.status == 303, f"sign-in as {email} answered {response.status}"
    return http


async def load(
    clients: list[aiohttp.ClientSession], path: str, connections: int, seconds: float
) -> Figures:
    """Keep `connections` requests for `path` in flight, spread over `clients`."""
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            started = time.perf_counter()
            async with http.get(path, allow_redirects=False) as response:
                await response.read()
                errors += response.status != 200
            latencies.append(time.perf_counter() - started)

    began = time.monotonic()
    await asyncio.gather(*(worker(clients[n % len(clients)]) for n in range(connections)))
    took = time.monotonic() - began
    latencies.sort()
    return Figures(
        requests=len(latencies),
        seconds=took,
        p50_ms=latencies[len(latencies) // 2] * 1000,
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        errors=errors,
    )


def serve_floor(port: int, pages: dict[str, bytes]) -> None:
    """The floor: each path answered with fixed bytes by a bare aiohttp handler."""
    import uvloop

    app = web.Application()
    for path, body in pages.items():

        async def handle(_: web.Request, body: bytes = body) -> web.Response:
            return web.Response(body=body, content_type="text/html", charset="utf-8")

        app.router.add_get(path, handle)
    web.run_app(
        app,
        host="127.0.0.1",
        port=port,
        print=None,
        access_log=None,
        loop=uvloop.new_event_loop(),
    )


async def capture(
    clients: dict[str, aiohttp.ClientSession], pages: dict[str, str]
) -> dict[str, bytes]:
    """The bytes our server sends for each page (for the floor to send back)."""
    bodies = {}
    for path, who in pages.items():
        async with clients[who].get(path) as response:
            assert response.status == 200, f"{path} answered {response.status}"
            bodies[path] = await response.read()
    return bodies


async def pages_of(base: str) -> tuple[dict[str, aiohttp.ClientSession], dict[str, str]]:
    """Signed-in clients, and the pages to load with whose client."""
    clients = {
        "patient": await signed_in(base, PATIENT),
        "therapist": await signed_in(base, THERAPIST),
    }
    pages = {"/": "patient", "/book": "patient", "/agenda": "therapist"}
    agenda = await (await clients["therapist"].get("/agenda?view=week")).text()
    for visit in dict.fromkeys(VISIT_LINK.findall(agenda)):
        # The note beside the first visit of the week whose note opens.
        async with clients["therapist"].get(f"/visits/{visit}/note") as response:
            if response.status == 200:
                pages[f"/visits/{visit}/note"] = "therapist"
                break
    return clients, pages


def row(label: str, ours: Figures, floor: Figures | None) -> str:
    """One printed line."""
    line = (
        f"{label:<34} {ours.per_second:8.0f}/s  p50 {ours.p50_ms:7.1f} ms  "
        f"p99 {ours.p99_ms:7.1f} ms  errors {ours.errors}"
    )
    if floor is not None:
        line += (
            f"  | floor {floor.per_second:6.0f}/s p99 {floor.p99_ms:6.1f} ms"
            f"  | p99 x{ours.p99_ms / floor.p99_ms:5.1f}"
            f"  throughput x{ours.per_second / floor.per_second:5.2f}"
        )
    return line


async def run_database(
    name: str, database_url: str | None, seconds: float, connections_list: tuple[int, ...]
) -> None:
    """Every page at every concurrency on one database."""
    with tempfile.TemporaryDirectory() as data:
        # The service's defaults and ours only: a TELEHEALTH_* variable of the caller's shell
        # (or of the test run) would change what is measured, or be refused as unknown.
        env = {k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")}
        env.update(TELEHEALTH_DATA_DIR=data, TELEHEALTH_LOG_LEVEL="WARNING")
        if database_url:
            env["TELEHEALTH_DATABASE_URL"] = database_url
        telehealth("migrate", env=env)
        telehealth("demo-data", env=env)
        process, base = start_service(env)
        floor_process: subprocess.Popen[bytes] | None = None
        clients: dict[str, aiohttp.ClientSession] = {}
        try:
            clients, pages = await pages_of(base)
            bodies = await capture(clients, pages)
            floor_process, floor_port = start_floor(bodies)
            floor_base = f"http://127.0.0.1:{floor_port}"
            async with aiohttp.ClientSession(
                floor_base, connector=aiohttp.TCPConnector(limit=0)
            ) as floor_http:
                print(f"\n{name}: {len(pages)} pages, {seconds:g} s each")
                for path, who in pages.items():
                    for connections in connections_list:
                        ours = await load([clients[who]], path, connections, seconds)
                        floor = await load([floor_http], path, connections, seconds)
                        label = "/visits/{id}/note" if path.endswith("/note") else path
                        print(row(f"{label} c={connections}", ours, floor))
            if database_url:
                await two_instances(env, base, clients["patient"], seconds)
        finally:
            for http in clients.values():
                await http.close()
            stop(process)
            if floor_process is not None:
                floor_process.terminate()
                floor_process.wait()


async def two_instances(
    env: dict[str, str], base: str, first: aiohttp.ClientSession, seconds: float
) -> None:
    """The patient home on two instances of the service against one."""
    second_process, second_base = start_service(env)
    second = await signed_in(second_base, PATIENT)
    try:
        one = await load([first], "/", 32, seconds)
        two = await load([first, second], "/", 32, seconds)
        print(row("home c=32, one instance", one, None))
        print(row("home c=32, two instances", two, None))
        ratio = two.per_second / one.per_second
        print(f"two instances / one: x{ratio:.2f} throughput (target >= 1.7)")
    finally:
        await second.close()
        stop(second_process)
    del base


def start_floor(bodies: dict[str, bytes]) -> tuple[subprocess.Popen[bytes], int]:
    """The floor server in its own process; it reads its pages from stdin (written by this
    script, nothing else)."""
    import pickle

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", _FLOOR_BOOT, str(port)],
        cwd=HERE.parent,
        stdin=subprocess.PIPE,
    )
    assert process.stdin is not None
    process.stdin.write(pickle.dumps(bodies))
    process.stdin.close()
    wait_listening(port)
    return process, port


_FLOOR_BOOT = (
    "import pickle, sys; from benchmarks.pages import serve_floor; "
    "serve_floor(int(sys.argv[1]), pickle.loads(sys.stdin.buffer.read()))"
)


async def postgres_admin(admin_url: str, statement: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE)."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def main(args: argparse.Namespace) -> None:
    """Run the chosen databases."""
    if args.database in ("sqlite", "both"):
        await run_database("SQLite", None, args.seconds, args.connections)
    if args.database in ("postgresql", "both"):
        from sqlalchemy.engine import make_url

        name = f"bench_pages_{uuid.uuid4().hex[:8]}"
        try:
            await postgres_admin(args.postgres, f'CREATE DATABASE "{name}"')
        except Exception as exc:
            print(f"\nPostgreSQL skipped: {type(exc).__name__}: {exc}")
            return
        url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
        try:
            await run_database("PostgreSQL", url, args.seconds, args.connections)
        finally:
            await postgres_admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "BENCHMARK_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
        ),
        help="a PostgreSQL URL whose role may create databases",
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="per page and concurrency")
    parser.add_argument(
        "--tiny", action="store_true", help="a check that the script runs: SQLite, 1 connection"
    )
    arguments = parser.parse_args()
    arguments.connections = CONNECTIONS
    if arguments.tiny:
        arguments.database, arguments.seconds, arguments.connections = "sqlite", 0.3, (1,)
    import uvloop

    uvloop.run(main(arguments))
