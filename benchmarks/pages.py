"""Pages under load: the patient home, booking, the therapist's agenda and a note, as people
open them, on SQLite and PostgreSQL, beside their floors.

    .venv/bin/python -m benchmarks.pages                       # SQLite, then PostgreSQL if reachable
    .venv/bin/python -m benchmarks.pages --database sqlite --seconds 3
    .venv/bin/python -m benchmarks.pages --postgres postgresql+asyncpg://postgres@127.0.0.1/postgres

For each database the script migrates a fresh database, loads the demo clinic, starts
`telehealth serve` in a subprocess, signs in through the form as a browser does (the demo patient
for her pages, the demo therapist for theirs) and keeps 1, 8 and 32 connections busy on each page
for `--seconds`, printing p50, p99, requests per second and the server process's CPU time per
request (less sensitive than the others to other work on the machine). The booking page is loaded
with a type chosen and the demo therapist's free times for a week (400 slots).

Each line sets ours beside two floors, each in its own process:

* the raw-driver floor (benchmarks/pages_floor.py): per page, a bare aiohttp handler that runs the
  SQL our server runs for that view (session lookup, the page's reads, its audit rows) through
  asyncpg or sqlite3 and renders the same template. The targets are set against it: at 32
  connections, ours at most twice its p99 and at least half its throughput. Its CPU per request
  reads "a+b": a its own, b our idle server's meanwhile (which links the audit rows the floor
  inserted into the chain, as it does its own);
* the static floor: a bare aiohttp server answering each path with the very bytes our server sent
  (no database, no templates): what the machine, aiohttp and the load generator cost. Extra
  information (`--no-static` leaves it out).

On PostgreSQL the script also runs the patient home on two instances of the service at once
(clients split between them) against one instance (target: at least 1.7 times the throughput).

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
from yarl import URL

from benchmarks.signaling_relay import cpu_seconds, free_port, wait_listening

HERE = Path(__file__).resolve().parent
PATIENT = ("maria.lopez@demo.clinic", "demo-patient-pass")
THERAPIST = ("dana.reyes@demo.clinic", "demo-therapist-pass")
CONNECTIONS = (1, 8, 32)
VISIT_LINK = re.compile(r'href="/visits/([0-9a-f-]{36})')
# The booking page as a patient opens it after choosing: a seeded type, by video, with the demo
# therapist (who works around the clock in the demo, so a week holds the page's 400 slots).
BOOK_TYPE, BOOK_MODALITY = "follow_up", "virtual"
# Both servers run on plain http, so the session cookie has no __Host- prefix.
SESSION_COOKIE = "th_session"
# The targets, at TARGET_CONNECTIONS, against the raw-driver floor.
TARGET_CONNECTIONS = 32
MAX_P99_RATIO = 2.0
MIN_THROUGHPUT_RATIO = 0.5
MIN_TWO_INSTANCES = 1.7


@dataclass
class Figures:
    """One measurement."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    # Server CPU (user + system) per request: the server's own, and our server's while it was
    # idle beside a floor (sealing the audit rows the floor inserted, into the chain).
    cpu_ms: float | None = None
    beside_ms: float | None = None

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


async def catalog_loaded(http: aiohttp.ClientSession) -> None:
    """Return once the server has loaded its clinical catalog.

    `telehealth serve` answers at once and loads the catalog (the ICD-10-CM code set: about 10 s
    of CPU) in a worker thread, which holds the interpreter most of that time: pages measured
    meanwhile run several times slower. A patient's exercises page waits for the catalog.
    """
    async with http.get("/my/exercises", timeout=aiohttp.ClientTimeout(total=300)) as response:
        assert response.status == 200, f"/my/exercises answered {response.status}"
        await response.read()


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


def serve_static(port: int, pages: dict[str, bytes]) -> None:
    """The static floor: each path answered with fixed bytes by a bare aiohttp handler."""
    import uvloop

    app = web.Application()
    for path, body in pages.items():

        async def handle(_: web.Request, body: bytes = body) -> web.Response:
            return web.Response(body=body, content_type="text/html", charset="utf-8")

        app.router.add_get(path.partition("?")[0], handle)
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
    """The bytes a server sends for each page (ours: for the static floor to send back)."""
    bodies = {}
    for path, who in pages.items():
        async with clients[who].get(path, allow_redirects=False) as response:
            assert response.status == 200, f"{path} answered {response.status}"
            bodies[path] = await response.read()
    return bodies


async def pages_of(base: str) -> tuple[dict[str, aiohttp.ClientSession], dict[str, str]]:
    """Signed-in clients, and the pages to load with whose client."""
    clients = {
        "patient": await signed_in(base, PATIENT),
        "therapist": await signed_in(base, THERAPIST),
    }
    pages = {"/": "patient", await booking_path(clients): "patient", "/agenda": "therapist"}
    agenda = await (await clients["therapist"].get("/agenda?view=week")).text()
    for visit in dict.fromkeys(VISIT_LINK.findall(agenda)):
        # The note beside the first visit of the week whose note opens.
        async with clients["therapist"].get(f"/visits/{visit}/note") as response:
            if response.status == 200:
                pages[f"/visits/{visit}/note"] = "therapist"
                break
    return clients, pages


async def booking_path(clients: dict[str, aiohttp.ClientSession]) -> str:
    """The booking page with the demo therapist's free times (their id read off the pages)."""
    agenda = await (await clients["therapist"].get("/agenda")).text()
    name = re.search(r'<span class="who">([^<]+?) <span', agenda)
    assert name is not None, "no name of the signed-in therapist on the agenda"
    book = await (await clients["patient"].get("/book")).text()
    option = re.search(rf'<option value="([0-9a-f-]{{36}})"[^>]*>{re.escape(name.group(1))}<', book)
    assert option is not None, f"{name.group(1)} is not offered on the booking page"
    return f"/book?type={BOOK_TYPE}&modality={BOOK_MODALITY}&therapist_id={option.group(1)}"


def label_of(path: str) -> str:
    """How a page is named in the output: its path without the query or the visit's id."""
    return "/visits/{id}/note" if path.endswith("/note") else path.partition("?")[0]


def figures(measured: Figures) -> str:
    """Throughput, p50, p99, errors and CPU per request of one measurement."""
    text = (
        f"{measured.per_second:6.0f}/s p50 {measured.p50_ms:6.1f} ms"
        f" p99 {measured.p99_ms:6.1f} ms errors {measured.errors}"
    )
    if measured.cpu_ms is not None:
        text += f" cpu {measured.cpu_ms:5.2f}"
        if measured.beside_ms is not None:
            text += f"+{measured.beside_ms:4.2f}"
        text += " ms/req"
    return text


def row(label: str, ours: Figures, floor: Figures | None, static: Figures | None = None) -> str:
    """One printed line: ours, then the raw-driver floor and the ratios, then the static floor."""
    line = f"{label:<28} ours {figures(ours)}"
    if floor is not None:
        line += (
            f" | floor {figures(floor)}"
            f" | p99 x{ours.p99_ms / floor.p99_ms:4.1f} throughput x{ours.per_second / floor.per_second:4.2f}"
        )
    if static is not None:
        line += f" | static {static.per_second:6.0f}/s p99 {static.p99_ms:5.1f} ms"
    return line


@dataclass
class Floors:
    """The floors' processes and their clients (the raw-driver floor's signed in as ours are)."""

    processes: list[subprocess.Popen[bytes]]
    raw: dict[str, aiohttp.ClientSession]
    static: aiohttp.ClientSession | None

    async def close(self) -> None:
        """Close the clients and stop the processes."""
        for http in [*self.raw.values(), *([self.static] if self.static else [])]:
            await http.close()
        for process in self.processes:
            process.terminate()
            process.wait()


def session_token(http: aiohttp.ClientSession) -> str:
    """The session cookie our server gave a signed-in client."""
    return next(c.value for c in http.cookie_jar if c.key == SESSION_COOKIE)


def floor_client(base: str, token: str | None) -> aiohttp.ClientSession:
    """A client of a floor; with a token, it carries that session as a cookie (a cookie jar, as
    our clients have, so the load generator does the same work for both)."""
    http = aiohttp.ClientSession(
        base,
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        connector=aiohttp.TCPConnector(limit=0),
    )
    if token is not None:
        http.cookie_jar.update_cookies({SESSION_COOKIE: token}, URL(base))
    return http


def start_floors(
    env: dict[str, str],
    clients: dict[str, aiohttp.ClientSession],
    bodies: dict[str, bytes],
    static: bool,
) -> Floors:
    """The raw-driver floor on our server's environment (its database and configuration), and the
    static floor serving `bodies` if asked."""
    raw_process, raw_port = start_raw_floor(env)
    floors = Floors([raw_process], {}, None)
    raw_base = f"http://127.0.0.1:{raw_port}"
    floors.raw = {who: floor_client(raw_base, session_token(http)) for who, http in clients.items()}
    if static:
        static_process, static_port = start_static_floor(bodies)
        floors.processes.append(static_process)
        floors.static = floor_client(f"http://127.0.0.1:{static_port}", None)
    return floors


async def compare_pages(ours: dict[str, bytes], floors: Floors, pages: dict[str, str]) -> None:
    """Print each page's size from ours and from the raw-driver floor (which must answer 200)."""
    theirs = await capture(floors.raw, pages)
    for path, body in ours.items():
        floor = theirs[path]
        same = "same bytes" if floor == body else f"differs by {len(floor) - len(body):+d} B"
        print(f"size {label_of(path)} ours {len(body)} B floor {len(floor)} B ({same})")


Results = dict[tuple[str, int], tuple[Figures, Figures]]


async def costed_load(
    http: aiohttp.ClientSession,
    path: str,
    connections: int,
    seconds: float,
    server: int,
    beside: int | None = None,
) -> Figures:
    """`load`, with the CPU the server process (and `beside`, another) spent per request."""
    pids = [server] if beside is None else [server, beside]
    before = [cpu_seconds(pid) for pid in pids]
    measured = await load([http], path, connections, seconds)
    spent = [
        (cpu_seconds(pid) - b) * 1000 / max(measured.requests, 1)
        for pid, b in zip(pids, before, strict=True)
    ]
    measured.cpu_ms = spent[0]
    measured.beside_ms = spent[1] if beside is not None else None
    return measured


async def measure(
    clients: dict[str, aiohttp.ClientSession],
    ours_pid: int,
    floors: Floors,
    pages: dict[str, str],
    seconds: float,
    connections_list: tuple[int, ...],
) -> Results:
    """Every page at every concurrency: ours, the raw-driver floor, the static floor, in turn."""
    results: Results = {}
    floor_pid = floors.processes[0].pid
    for path, who in pages.items():
        for connections in connections_list:
            ours = await costed_load(clients[who], path, connections, seconds, ours_pid)
            floor = await costed_load(
                floors.raw[who], path, connections, seconds, floor_pid, beside=ours_pid
            )
            static = None
            if floors.static is not None:
                static = await load([floors.static], path, connections, seconds)
            label = label_of(path)
            print(row(f"{label} c={connections}", ours, floor, static))
            results[label, connections] = (ours, floor)
    return results


def met(ok: bool) -> str:
    """A target's verdict."""
    return "met" if ok else "NOT met"


def print_targets(name: str, results: Results) -> None:
    """The targets against the raw-driver floor, page by page, met or not."""
    at = TARGET_CONNECTIONS
    pages = [label for label, connections in results if connections == at]
    if not pages:
        print(f"targets ({name}): not measured (they are set at {at} connections)")
        return
    print(
        f"targets ({name}, {at} connections, against the raw-driver floor):"
        f" p99 <= {MAX_P99_RATIO:g}x the floor's, throughput >= {MIN_THROUGHPUT_RATIO:g}x"
    )
    for label in pages:
        ours, floor = results[label, at]
        p99 = ours.p99_ms / floor.p99_ms
        throughput = ours.per_second / floor.per_second
        print(
            f"  {label:<20} p99 x{p99:4.2f} {met(p99 <= MAX_P99_RATIO):<8}"
            f" throughput x{throughput:4.2f} {met(throughput >= MIN_THROUGHPUT_RATIO)}"
        )


async def run_database(name: str, database_url: str | None, args: argparse.Namespace) -> None:
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
        floors: Floors | None = None
        clients: dict[str, aiohttp.ClientSession] = {}
        try:
            clients, pages = await pages_of(base)
            await catalog_loaded(clients["patient"])
            bodies = await capture(clients, pages)
            floors = start_floors(env, clients, bodies, static=not args.no_static)
            booking = next(p for p in pages if p.startswith("/book"))
            print(f"\n{name}: {len(pages)} pages, {args.seconds:g} s each; /book is {booking}")
            await compare_pages(bodies, floors, pages)
            results = await measure(
                clients, process.pid, floors, pages, args.seconds, args.connections
            )
            print_targets(name, results)
            if database_url:
                await two_instances(env, clients["patient"], args.seconds)
        finally:
            for http in clients.values():
                await http.close()
            stop(process)
            if floors is not None:
                await floors.close()


async def two_instances(env: dict[str, str], first: aiohttp.ClientSession, seconds: float) -> None:
    """The patient home on two instances of the service against one."""
    second_process, second_base = start_service(env)
    second = await signed_in(second_base, PATIENT)
    try:
        await catalog_loaded(second)
        one = await load([first], "/", 32, seconds)
        two = await load([first, second], "/", 32, seconds)
        print(row("home c=32, one instance", one, None))
        print(row("home c=32, two instances", two, None))
        ratio = two.per_second / one.per_second
        print(
            f"two instances / one: x{ratio:.2f} throughput"
            f" (target >= {MIN_TWO_INSTANCES:g}): {met(ratio >= MIN_TWO_INSTANCES)}"
        )
    finally:
        await second.close()
        stop(second_process)


def start_raw_floor(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """The raw-driver floor in its own process, on our server's environment."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.pages_floor", "--port", str(port)],
        cwd=HERE.parent,
        env=env,
    )
    wait_listening(port)
    return process, port


def start_static_floor(bodies: dict[str, bytes]) -> tuple[subprocess.Popen[bytes], int]:
    """The static floor in its own process; it reads its pages from stdin (written by this
    script, nothing else)."""
    import pickle

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", _STATIC_BOOT, str(port)],
        cwd=HERE.parent,
        stdin=subprocess.PIPE,
    )
    assert process.stdin is not None
    process.stdin.write(pickle.dumps(bodies))
    process.stdin.close()
    wait_listening(port)
    return process, port


_STATIC_BOOT = (
    "import pickle, sys; from benchmarks.pages import serve_static; "
    "serve_static(int(sys.argv[1]), pickle.loads(sys.stdin.buffer.read()))"
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
        await run_database("SQLite", None, args)
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
            await run_database("PostgreSQL", url, args)
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
        "--no-static", action="store_true", help="leave out the static floor (extra information)"
    )
    parser.add_argument(
        "--tiny", action="store_true", help="a check that the script runs: SQLite, 1 connection"
    )
    arguments = parser.parse_args()
    arguments.connections = CONNECTIONS
    if arguments.tiny:
        arguments.database, arguments.seconds, arguments.connections = "sqlite", 0.3, (1,)
    import uvloop

    uvloop.run(main(arguments))
