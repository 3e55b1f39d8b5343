"""Scheduling benchmark: slot search and booking throughput on a busy clinic, SQLite and PostgreSQL.

The clinic: ``--therapists`` therapists (Mon-Fri 09:00-17:00 New York, lunch 12-13), each with an
equal share of ``--appointments`` hour-long follow-ups (45 min + 15 min documentation) bulk-inserted
over the past year and the next four weeks (about five in six working hours taken).

Measured through the real app over loopback HTTP (aiohttp server and client in this process):

* slot search, one therapist, four weeks (what the booking page asks when a therapist is chosen),
  against the bare indexed read of that therapist's appointments in the same window, and against
  the cheapest signed-in request (``GET /api/v1/me``: session lookup, one-row transaction);
* slot search, all therapists, four weeks, ``limit=50`` earliest (the "anyone available" page),
  against the bare indexed read of every therapist's appointments in that window;
* booking throughput: 100 concurrent clients booking distinct free hours (all must succeed);
* the overlapping-slot race: ``--race`` bookings sent at once (over at most 100 connections), all
  of one fresh therapist, at starts a quarter of an hour apart with 45- and 60-minute visits
  (every request overlaps several others), a few rounds: no overlapping rows, no 5xx, every 201
  a row and every row a 201; the time of a round (p50, p99) is printed;
* the same-patient race: the same, but all ``--race`` bookings are of one fresh patient, spread
  over ``--race-therapists`` therapists, so they collide on the patient's time instead of a
  therapist's; the same checks and figures.

The bare read is the floor a search is compared with: the same range scan of the
(therapist_id, blocked_start) index the search makes, run the cheapest way the application could
run it: a session from the same pool, one statement built once, rows fetched, nothing else (no
HTTP, no sign-in, no rules, no slot arithmetic). A search is one HTTP request: the session
lookup (its own transaction) and the search's transaction of two statements. The server runs as
``telehealth serve`` runs it: on uvloop when installed, with start-up objects frozen out of the
garbage collector (``freeze_startup_objects``).

    .venv/bin/python -m benchmarks.scheduling                      # both engines, full size
    .venv/bin/python -m benchmarks.scheduling --engine sqlite --tiny
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import ClientSession, TCPConnector
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import Select, Uuid, bindparam, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from telehealth.accounts.models import Role, User
from telehealth.app import create_app, freeze_startup_objects
from telehealth.clock import ManualClock
from telehealth.config import Settings
from telehealth.http.keys import SERVICES
from telehealth.migrate import upgrade
from telehealth.scheduling.models import (
    INACTIVE_STATUSES,
    Appointment,
    AppointmentTypeRow,
    AvailabilityRules,
    WeeklyHours,
)
from telehealth.scheduling.repository import LONGEST_BLOCK
from telehealth.unit_of_work import Services

# The same server the test suite uses (an admin URL: the run creates and drops its own database).
POSTGRES_URL = os.environ.get(
    "TELEHEALTH_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
ZONE = ZoneInfo("America/New_York")
# A Monday, 08:00 in New York: the search window is the next four weeks.
NOW = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
WINDOW = timedelta(days=28)
PAST_WEEKS = 60
HOURS = (9, 10, 11, 13, 14, 15, 16)  # an hour-long follow-up fits at each, lunch 12-13
PASSWORD = "benchmark password 1"  # noqa: S105 - a throwaway account in a throwaway database
CONCURRENT_CLIENTS = 100


@dataclass(frozen=True)
class Size:
    """How big a run is."""

    therapists: int
    appointments: int
    searches: int
    bookings: int
    race: int = 400
    race_rounds: int = 3
    race_therapists: int = 10


def percentile(samples: list[float], q: float) -> float:
    """The q-quantile (0..1) of samples, nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def settings_for(url: str, data_dir: Path) -> Settings:
    """Settings of a benchmark instance (quiet logs, cheap but valid password hashing)."""
    return Settings(
        env="test",
        data_dir=data_dir,
        database_url=url,
        secret_key="benchmark-secret-" + "x" * 32,
        log_format="text",
        log_level="ERROR",
        session_idle=timedelta(days=1),
        # The race queues hundreds of bookings of one therapist on purpose: let them wait.
        db_pool_timeout=120.0,
        db_statement_timeout=120.0,
    )


def hour_starts(first_day: datetime, weeks: int) -> list[datetime]:
    """Every working-hour start (UTC) on weekdays from a Monday, for some weeks."""
    starts = []
    day = first_day.astimezone(ZONE).date()
    for offset in range(weeks * 7):
        local = day + timedelta(days=offset)
        if local.weekday() >= 5:
            continue
        for hour in HOURS:
            starts.append(
                datetime(local.year, local.month, local.day, hour, tzinfo=ZONE).astimezone(UTC)
            )
    return starts


async def populate(
    services: Services, size: Size
) -> tuple[list[uuid.UUID], list[tuple[uuid.UUID, datetime]], list[uuid.UUID]]:
    """Bulk-insert people, hours and appointments; return therapists, free future hours, bookers."""
    rng = random.Random(7)
    now = NOW
    async with services.sessions() as session:
        type_id = await session.scalar(
            select(AppointmentTypeRow.id).where(AppointmentTypeRow.key == "follow_up")
        )
        assert type_id is not None

        def person(role: Role, n: int) -> dict[str, Any]:
            return {
                "id": uuid.uuid4(),
                "email": f"{role.value}{n}@bench.test",
                "display_name": f"{role.value.title()} {n}",
                "role": role.value,
                "password_hash": "!",
                "is_active": True,
                "time_zone": "America/New_York",
                "created_at": now,
                "updated_at": now,
            }

        therapists = [person(Role.THERAPIST, n) for n in range(size.therapists)]
        per_therapist_patients = 20
        patients = [
            person(Role.PATIENT, n) for n in range(size.therapists * per_therapist_patients)
        ]
        bookers = [person(Role.PATIENT, 100_000 + n) for n in range(size.bookings)]
        await session.execute(insert(User), therapists + patients + bookers)
        await session.execute(
            insert(AvailabilityRules),
            [
                {"therapist_id": t["id"], "time_zone": "America/New_York", "updated_at": now}
                for t in therapists
            ],
        )
        await session.execute(
            insert(WeeklyHours),
            [
                {
                    "id": uuid.uuid4(),
                    "therapist_id": t["id"],
                    "weekday": d,
                    "start_local": s,
                    "end_local": e,
                }
                for t in therapists
                for d in range(5)
                for s, e in (
                    (datetime(2000, 1, 1, 9).time(), datetime(2000, 1, 1, 12).time()),
                    (datetime(2000, 1, 1, 13).time(), datetime(2000, 1, 1, 17).time()),
                )
            ],
        )
        candidates = hour_starts(now - timedelta(weeks=PAST_WEEKS), PAST_WEEKS + 4)
        share = size.appointments // size.therapists
        if share > len(candidates):
            raise SystemExit(f"at most {len(candidates)} appointments per therapist fit")
        rows: list[dict[str, Any]] = []
        free: list[tuple[uuid.UUID, datetime]] = []
        for i, t in enumerate(therapists):
            taken = sorted(rng.sample(range(len(candidates)), share))
            taken_set = set(taken)
            free += [
                (t["id"], s)
                for k, s in enumerate(candidates)
                if k not in taken_set and now + timedelta(hours=1) < s < now + WINDOW
            ]
            for k in taken:
                start = candidates[k]
                rows.append(
                    {
                        "id": uuid.uuid4(),
                        "patient_id": patients[
                            i * per_therapist_patients + k % per_therapist_patients
                        ]["id"],
                        "therapist_id": t["id"],
                        "type_id": type_id,
                        "modality": "virtual",
                        "status": "completed" if start < now else "booked",
                        "start_at": start,
                        "end_at": start + timedelta(minutes=45),
                        "blocked_start": start,
                        "blocked_end": start + timedelta(minutes=60),
                        "reason": "",
                        "created_by": t["id"],
                        "created_at": now,
                        "updated_at": now,
                        "late_cancellation": False,
                        "version": 1,
                    }
                )
        for chunk in range(0, len(rows), 5000):
            await session.execute(insert(Appointment), rows[chunk : chunk + 5000])
        await session.commit()
    rng.shuffle(free)
    return [t["id"] for t in therapists], free, [b["id"] for b in bookers]


async def timed(samples: list[float], work: Callable[[], Awaitable[Any]]) -> Any:
    """Run work once, appending its wall time in milliseconds."""
    started = time.perf_counter()
    result = await work()
    samples.append((time.perf_counter() - started) * 1000)
    return result


@functools.cache
def bare_statement() -> Select[uuid.UUID, datetime, datetime]:
    """The busy read of the search, as a statement built once."""
    return select(
        Appointment.therapist_id, Appointment.blocked_start, Appointment.blocked_end
    ).where(
        Appointment.therapist_id.in_(bindparam("ids", expanding=True)),
        Appointment.blocked_start >= bindparam("floor"),
        Appointment.blocked_start < bindparam("high"),
        Appointment.blocked_end > bindparam("low"),
        Appointment.status.not_in(INACTIVE_STATUSES),
    )


async def bare_read(
    services: Services, therapist_ids: list[uuid.UUID], window: timedelta = WINDOW
) -> int:
    """The indexed read the search itself makes of busy intervals: nothing else."""
    low, high = NOW, NOW + window
    params = {"ids": therapist_ids, "floor": low - LONGEST_BLOCK, "low": low, "high": high}
    async with services.sessions() as session:
        rows = (await session.execute(bare_statement(), params)).all()
    return len(rows)


def iso(instant: datetime) -> str:
    """UTC with a Z (query-string safe)."""
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


# Pairs of the race's active rows that overlap: a therapist's (with buffers) or a patient's visits.
RACE_OVERLAPS = """
SELECT count(*) FROM appointments a JOIN appointments b
  ON a.id < b.id AND a.therapist_id IN :tids AND b.therapist_id IN :tids
 AND a.status NOT IN ('cancelled', 'no_show') AND b.status NOT IN ('cancelled', 'no_show')
 AND ((a.therapist_id = b.therapist_id
       AND a.blocked_start < b.blocked_end AND b.blocked_start < a.blocked_end)
   OR (a.patient_id = b.patient_id AND a.start_at < b.end_at AND b.start_at < a.end_at))
"""
# A morning of starts a quarter of an hour apart, 09:00-11:45 New York.
RACE_STARTS = 12
RACE_TYPES = ("follow_up", "initial_evaluation")  # 45 min + 15 after; 60 min, 10 before, 15 after

RaceBodies = Callable[[int, list[datetime]], list[dict[str, str]]]


@dataclass
class RaceResult:
    """What the rounds of one race answered and left in the database, and how long they took."""

    round_s: list[float]
    latencies: list[float]
    statuses: Counter[int]
    refusals: Counter[str]
    rows: int = 0
    overlaps: int = 0


async def _race_cast(
    services: Services, therapists: list[uuid.UUID], patients: list[uuid.UUID]
) -> None:
    """Fresh people for a race (no other booking touches them); therapists work mornings."""

    def person(pid: uuid.UUID, role: Role) -> dict[str, Any]:
        return {
            "id": pid,
            "email": f"race-{pid.hex[:12]}@bench.test",
            "display_name": f"Race {role.value} {pid.hex[:4]}",
            "role": role.value,
            "password_hash": "!",
            "is_active": True,
            "time_zone": "America/New_York",
            "created_at": NOW,
            "updated_at": NOW,
        }

    async with services.sessions() as session:
        await session.execute(
            insert(User),
            [person(t, Role.THERAPIST) for t in therapists]
            + [person(p, Role.PATIENT) for p in patients],
        )
        await session.execute(
            insert(AvailabilityRules),
            [
                {"therapist_id": t, "time_zone": "America/New_York", "updated_at": NOW}
                for t in therapists
            ],
        )
        await session.execute(
            insert(WeeklyHours),
            [
                {
                    "id": uuid.uuid4(),
                    "therapist_id": t,
                    "weekday": d,
                    "start_local": datetime(2000, 1, 1, 9).time(),
                    "end_local": datetime(2000, 1, 1, 12).time(),
                }
                for t in therapists
                for d in range(5)
            ],
        )
        await session.commit()


def race_body(start: datetime, i: int, patient: uuid.UUID, therapist: uuid.UUID) -> dict[str, str]:
    """The i-th booking of a round: the two visit types alternate."""
    return {
        "type": RACE_TYPES[i % len(RACE_TYPES)],
        "modality": "virtual",
        "start": iso(start),
        "patient_id": str(patient),
        "therapist_id": str(therapist),
    }


async def _race_round(
    http: ClientSession,
    client: TestClient[Any, Any],
    headers: dict[str, str],
    bodies: list[dict[str, str]],
    latencies: list[float],
) -> tuple[list[tuple[int, Any]], float]:
    """Send every booking at once; their answers and the round's wall time in seconds."""

    async def one(body: dict[str, str]) -> tuple[int, Any]:
        started = time.perf_counter()
        async with http.post(
            client.make_url("/api/v1/appointments"), json=body, headers=headers
        ) as response:
            answer = (response.status, await response.json())
        latencies.append((time.perf_counter() - started) * 1000)
        return answer

    started = time.perf_counter()
    answers = await asyncio.gather(*(one(b) for b in bodies))
    return answers, time.perf_counter() - started


async def _race_rows(
    services: Services, therapists: list[uuid.UUID], starts: list[datetime]
) -> tuple[set[str], int]:
    """The ids of the rows a round left, and the overlapping pairs among all the race's rows."""
    async with services.sessions() as session:
        ids = (
            await session.scalars(
                select(Appointment.id).where(
                    Appointment.therapist_id.in_(therapists),
                    Appointment.start_at >= starts[0],
                    Appointment.start_at <= starts[-1],
                )
            )
        ).all()
        # Typed, so the ids are in stored form on either engine (hex on SQLite, uuid on PostgreSQL).
        overlaps = await session.scalar(
            text(RACE_OVERLAPS).bindparams(bindparam("tids", type_=Uuid(), expanding=True)),
            {"tids": therapists},
        )
    return {str(uuid.UUID(str(i))) for i in ids}, int(overlaps or 0)


async def _race(
    client: TestClient[Any, Any],
    services: Services,
    headers: dict[str, str],
    size: Size,
    therapists: list[uuid.UUID],
    bodies_of: RaceBodies,
) -> RaceResult:
    """Rounds of simultaneous bookings, each checked: only 201 or 409, 201s and rows one to one,
    no overlapping pairs."""
    # Weekday mornings from next week on, a different one each round.
    days = [d for d in hour_starts(NOW + timedelta(days=7), 2) if d.astimezone(ZONE).hour == 9]
    result = RaceResult(round_s=[], latencies=[], statuses=Counter(), refusals=Counter())
    # At most 100 connections, as the throughput clients: all requests are sent at once, and 400
    # sockets opened in the same instant were reset under load on this 2-core machine.
    async with ClientSession(connector=TCPConnector(limit=CONCURRENT_CLIENTS)) as http:
        for r in range(size.race_rounds):
            starts = [days[r] + timedelta(minutes=15 * k) for k in range(RACE_STARTS)]
            answers, seconds = await _race_round(
                http, client, headers, bodies_of(r, starts), result.latencies
            )
            result.round_s.append(seconds)
            statuses = Counter(status for status, _ in answers)
            result.statuses.update(statuses)
            result.refusals.update(
                body["error"]["code"] for status, body in answers if status == 409
            )
            if not set(statuses) <= {201, 409}:
                raise SystemExit(f"race round {r}: answers {sorted(statuses.items())}")
            created = {str(body["id"]) for status, body in answers if status == 201}
            rows, result.overlaps = await _race_rows(services, therapists, starts)
            result.rows += len(rows)
            # No 201 at all would be a round that raced nothing.
            if not created or created != rows or result.overlaps:
                raise SystemExit(
                    f"race round {r}: {len(created)} answered 201, {len(rows)} rows,"
                    f" {result.overlaps} overlapping pairs"
                )
    return result


async def overlap_race(
    client: TestClient[Any, Any], services: Services, headers: dict[str, str], size: Size
) -> RaceResult:
    """One therapist's overlapping slots, each booking for a patient of its own."""
    therapist = uuid.uuid4()
    patients = [uuid.uuid4() for _ in range(size.race * size.race_rounds)]
    await _race_cast(services, [therapist], patients)

    def bodies(r: int, starts: list[datetime]) -> list[dict[str, str]]:
        return [
            race_body(starts[i % len(starts)], i, patients[r * size.race + i], therapist)
            for i in range(size.race)
        ]

    return await _race(client, services, headers, size, [therapist], bodies)


async def patient_race(
    client: TestClient[Any, Any], services: Services, headers: dict[str, str], size: Size
) -> RaceResult:
    """One patient booked with several therapists at overlapping times."""
    therapists = [uuid.uuid4() for _ in range(size.race_therapists)]
    patient = uuid.uuid4()
    await _race_cast(services, therapists, [patient])

    def bodies(_r: int, starts: list[datetime]) -> list[dict[str, str]]:
        return [
            race_body(starts[i % len(starts)], i, patient, therapists[i % len(therapists)])
            for i in range(size.race)
        ]

    return await _race(client, services, headers, size, therapists, bodies)


def race_line(title: str, who: str, size: Size, race: RaceResult) -> str:
    """One printed line of a race's figures, counted from what it answered and left."""
    server_errors = sum(n for status, n in race.statuses.items() if status >= 500)
    refusals = ", ".join(f"{code} {n}" for code, n in race.refusals.most_common())
    return (
        f"{title}: {size.race_rounds} rounds of {size.race} simultaneous bookings of {who},"
        f" starts 15 min apart, 45/60-min visits: {race.statuses[201]} answered 201 ="
        f" {race.rows} rows, the same ids; {race.statuses[409]} answered 409 ({refusals});"
        f" {server_errors} 5xx,"
        f" {race.overlaps} overlapping pairs; round p50 {statistics.median(race.round_s):.2f} s,"
        f" p99 {percentile(race.round_s, 0.99):.2f} s;"
        f" request p99 {percentile(race.latencies, 0.99):.0f} ms"
    )


async def run_engine(engine: str, size: Size) -> dict[str, float]:
    """Build, fill and measure one engine; print its figures."""
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        drop: str | None = None
        if engine == "sqlite":
            url = f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"
        else:
            name = f"telehealth_bench_{uuid.uuid4().hex[:8]}"
            admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
            async with admin.connect() as conn:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
            await admin.dispose()
            url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
            drop = name
        try:
            settings = settings_for(url, data_dir)
            await asyncio.to_thread(upgrade, settings)
            return await _measure(engine, settings, size)
        finally:
            if drop is not None:
                admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
                async with admin.connect() as conn:
                    await conn.execute(text(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)'))
                await admin.dispose()


async def _measure(engine: str, settings: Settings, size: Size) -> dict[str, float]:
    app = create_app(settings, ManualClock(NOW))
    app.on_startup.append(freeze_startup_objects)  # as `telehealth serve` does
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        services = app[SERVICES]
        started = time.perf_counter()
        therapists, free, bookers = await populate(services, size)
        fill_s = time.perf_counter() - started
        from telehealth.accounts import service as accounts

        admin = await accounts.create_person_unattended(
            services,
            accounts.NewPerson(
                email="admin@bench.test",
                display_name="Admin",
                role=Role.ADMIN,
                password=PASSWORD,
                time_zone="America/New_York",
            ),
        )
        login = await client.post(
            "/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD}
        )
        headers = {"Authorization": f"Bearer {(await login.json())['token']}"}
        client.session.cookie_jar.clear()

        # Warm-up: connection pools, prepared statements, zone data.
        for tid in therapists[:3]:
            await bare_read(services, [tid])
        window = {"start": iso(NOW), "end": iso(NOW + WINDOW)}
        base = {"type": "follow_up", "modality": "virtual", **window}
        await client.get(
            "/api/v1/slots", params={**base, "therapist_id": str(therapists[0])}, headers=headers
        )

        bare_one: list[float] = []
        search_one: list[float] = []
        floor: list[float] = []
        slots_seen = 0
        for n in range(size.searches):
            tid = therapists[n % len(therapists)]

            async def me() -> None:
                # The cheapest signed-in request: the session lookup and a one-row transaction.
                response = await client.get("/api/v1/me", headers=headers)
                assert response.status == 200, await response.text()
                await response.read()

            await timed(floor, me)

            async def bare(tid: uuid.UUID = tid) -> int:
                return await bare_read(services, [tid])

            await timed(bare_one, bare)

            async def one(tid: uuid.UUID = tid) -> int:
                response = await client.get(
                    "/api/v1/slots", params={**base, "therapist_id": str(tid)}, headers=headers
                )
                assert response.status == 200, await response.text()
                return len((await response.json())["slots"])

            slots_seen += await timed(search_one, one)

        bare_all: list[float] = []
        bare_day: list[float] = []
        search_all: list[float] = []
        rows_all = rows_day = 0
        for _ in range(max(5, size.searches // 5)):
            rows_all = await timed(bare_all, lambda: bare_read(services, therapists))
            rows_day = await timed(
                bare_day, lambda: bare_read(services, therapists, timedelta(days=1))
            )

            async def everyone() -> None:
                response = await client.get(
                    "/api/v1/slots", params={**base, "limit": "50"}, headers=headers
                )
                assert response.status == 200, await response.text()

            await timed(search_all, everyone)

        # Booking throughput: distinct free hours, each for a patient of its own: all must succeed.
        targets = free[: len(bookers)]
        queue: asyncio.Queue[tuple[uuid.UUID, uuid.UUID, datetime]] = asyncio.Queue()
        for patient, (tid, start) in zip(bookers, targets, strict=False):
            queue.put_nowait((patient, tid, start))
        statuses: list[int] = []

        async def worker() -> None:
            while not queue.empty():
                patient, tid, start = queue.get_nowait()
                response = await client.post(
                    "/api/v1/appointments",
                    json={
                        "type": "follow_up",
                        "modality": "virtual",
                        "start": iso(start),
                        "patient_id": str(patient),
                        "therapist_id": str(tid),
                    },
                    headers=headers,
                )
                await response.read()
                statuses.append(response.status)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENT_CLIENTS)))
        booking_s = time.perf_counter() - started
        created = statuses.count(201)
        if created != len(targets):
            raise SystemExit(
                f"{engine}: expected {len(targets)} bookings, got {sorted(set(statuses))}"
            )
        therapist_race = await overlap_race(client, services, headers, size)
        same_patient_race = await patient_race(client, services, headers, size)
    finally:
        await client.close()

    figures = {
        "fill_s": fill_s,
        "bare_one_p50": statistics.median(bare_one),
        "floor_p50": statistics.median(floor),
        "search_one_p50": statistics.median(search_one),
        "search_one_p95": percentile(search_one, 0.95),
        "bare_all_p50": statistics.median(bare_all),
        "bare_day_p50": statistics.median(bare_day),
        "search_all_p50": statistics.median(search_all),
        "search_all_p95": percentile(search_all, 0.95),
        "bookings_per_s": created / booking_s,
        "race_round_p50": statistics.median(therapist_race.round_s),
        "race_round_p99": percentile(therapist_race.round_s, 0.99),
        "race_request_p99": percentile(therapist_race.latencies, 0.99),
        "patient_race_round_p50": statistics.median(same_patient_race.round_s),
        "patient_race_round_p99": percentile(same_patient_race.round_s, 0.99),
        "patient_race_request_p99": percentile(same_patient_race.latencies, 0.99),
    }
    print(
        f"\n== {engine}: {size.therapists} therapists, {size.appointments:,} appointments (filled in {fill_s:.1f} s)"
    )
    print(
        f"slot search, one therapist, 4 weeks ({size.searches} requests, ~{slots_seen // max(1, size.searches)} slots each):"
        f" p50 {figures['search_one_p50']:.1f} ms, p95 {figures['search_one_p95']:.1f} ms;"
        f" bare read p50 {figures['bare_one_p50']:.2f} ms; ratio {figures['search_one_p50'] / figures['bare_one_p50']:.1f}x;"
        f" signed-in GET /api/v1/me p50 {figures['floor_p50']:.2f} ms"
    )
    print(
        f"slot search, all therapists, 4 weeks, limit 50 ({len(search_all)} requests, {rows_all:,} busy rows read):"
        f" p50 {figures['search_all_p50']:.1f} ms, p95 {figures['search_all_p95']:.1f} ms;"
        f" bare read of all 4 weeks p50 {figures['bare_all_p50']:.2f} ms (ratio {figures['search_all_p50'] / figures['bare_all_p50']:.1f}x);"
        f" bare read of the first day ({rows_day:,} rows, what the search reads when the page fills) p50"
        f" {figures['bare_day_p50']:.2f} ms (ratio {figures['search_all_p50'] / figures['bare_day_p50']:.1f}x)"
    )
    print(
        f"booking: {created} bookings by {CONCURRENT_CLIENTS} concurrent clients in {booking_s:.2f} s"
        f" = {figures['bookings_per_s']:.0f} bookings/s"
    )
    print(race_line("overlapping-slot race", "one therapist", size, therapist_race))
    print(
        race_line(
            "same-patient race",
            f"one patient across {size.race_therapists} therapists",
            size,
            same_patient_race,
        )
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    """Parse flags and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--therapists", type=int, default=50)
    parser.add_argument("--appointments", type=int, default=100_000)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--bookings", type=int, default=300)
    parser.add_argument("--race", type=int, default=400, help="simultaneous bookings a race round")
    parser.add_argument("--race-rounds", type=int, default=3)
    parser.add_argument(
        "--race-therapists",
        type=int,
        default=10,
        help="therapists one patient is booked with at once in the same-patient race",
    )
    parser.add_argument(
        "--tiny", action="store_true", help="a seconds-long run that checks it works"
    )
    args = parser.parse_args(argv)
    size = (
        Size(
            therapists=3,
            appointments=600,
            searches=6,
            bookings=20,
            race=40,
            race_rounds=2,
            race_therapists=4,
        )
        if args.tiny
        else Size(
            args.therapists,
            args.appointments,
            args.searches,
            args.bookings,
            args.race,
            args.race_rounds,
            args.race_therapists,
        )
    )
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    results: dict[str, dict[str, float]] = {}
    for engine in engines:
        with asyncio.Runner(loop_factory=event_loop) as runner:
            results[engine] = runner.run(run_engine(engine, size))
    print(f"\n== summary ({type(event_loop()).__module__.split('.')[0]} loop)")
    print(
        "engine      one therapist p50 / p95   its bare read p50   ratio   GET /me p50"
        "   all therapists p50 / p95   bare read of 4 weeks p50"
    )
    for engine, f in results.items():
        print(
            f"{engine:<11} {f['search_one_p50']:6.2f} / {f['search_one_p95']:6.2f} ms"
            f"       {f['bare_one_p50']:6.2f} ms      {f['search_one_p50'] / f['bare_one_p50']:4.1f}x"
            f"   {f['floor_p50']:6.2f} ms"
            f"   {f['search_all_p50']:6.1f} / {f['search_all_p95']:6.1f} ms"
            f"          {f['bare_all_p50']:6.2f} ms"
        )
    return 0


def event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed, as `telehealth serve` runs, else asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


if __name__ == "__main__":
    sys.exit(main())
