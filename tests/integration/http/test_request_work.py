"""A page that reads is one unit of work with its session lookup: the lookup, the page's reads
and their audit records share one transaction on PostgreSQL. On SQLite they share one read
snapshot, and the audit records (with any session bookkeeping) take one short write turn after.

Watched through SQLAlchemy's engine events on the running app: every transaction begun while the
page is served, with the statements run in it. The audit sealer's own passes (which read and
extend the chain) run beside requests and are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import event

from telehealth.accounts.models import Role
from telehealth.clock import ManualClock
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.helpers import scalar_sql, sign_in


@dataclass
class Transactions:
    """The statements of each transaction begun on an engine, in order."""

    opened: list[list[str]] = field(default_factory=list)
    current: dict[int, list[str]] = field(default_factory=dict)

    def begin(self, connection: Any) -> None:
        statements: list[str] = []
        self.opened.append(statements)
        self.current[id(connection.connection.dbapi_connection)] = statements

    def statement(self, connection: Any, *args: Any) -> None:
        statements = self.current.get(id(connection.connection.dbapi_connection))
        if statements is not None:
            statements.append(" ".join(str(args[1]).split()))

    def of_requests(self) -> list[list[str]]:
        """The transactions that were not background work's: the audit sealer's (seen perhaps
        only as far as its lock when the page ends first) or the message dispatcher's."""
        return [t for t in self.opened if not _background(t)]


def _background(transaction: list[str]) -> bool:
    # The sealer's transactions touch the chain or take its lock; the dispatcher's touch the
    # outbox and nothing else but their own audit records (a page that counts failed messages
    # reads the outbox among other things, its session and people).
    if any("audit_chain" in s or "advisory_xact_lock" in s for s in transaction):
        return True
    return any("outbox_messages" in s for s in transaction) and all(
        "outbox_messages" in s or "audit_events" in s for s in transaction
    )


async def _watch(services: Services, client: TestClient, path: str) -> list[list[str]]:
    engine = services.sessions.engine.sync_engine
    seen = Transactions()
    event.listen(engine, "begin", seen.begin)
    event.listen(engine, "before_cursor_execute", seen.statement)
    try:
        response = await client.get(path)
        assert response.status == 200, await response.text()
    finally:
        event.remove(engine, "begin", seen.begin)
        event.remove(engine, "before_cursor_execute", seen.statement)
    return seen.of_requests()


def _runs(transaction: list[str], fragment: str) -> bool:
    return any(fragment in statement for statement in transaction)


@pytest.mark.parametrize(
    ("role", "path", "page_read", "audited"),
    [
        (Role.PATIENT, "/", "FROM appointments", True),  # her own record, read
        (Role.PATIENT, "/book", "FROM appointment_types", False),  # no patient data on it
        (Role.THERAPIST, "/agenda", "FROM appointments", False),  # an empty day reads no one
        (Role.ADMIN, "/", "FROM users", True),  # the list of accounts
        (Role.PATIENT, "/my/exercises", "FROM visit_notes", True),  # her summaries, none yet
    ],
)
async def test_a_page_that_reads_looks_its_session_up_in_its_own_unit_of_work(
    client: TestClient,
    people: People,
    services: Services,
    role: Role,
    path: str,
    page_read: str,
    audited: bool,
) -> None:
    await sign_in(client, await people.make(role))
    await client.get(path)  # the first view may move the session's last-seen
    transactions = await _watch(services, client, path)

    lookups = [t for t in transactions if _runs(t, "FROM auth_sessions")]
    assert len(lookups) == 1, transactions
    (work,) = lookups
    assert _runs(work, page_read), work
    if services.sessions.queues_writers:
        # SQLite: the reads in a snapshot, then one write turn for the audit records, if any.
        assert not _runs(work, "INSERT INTO"), work
        writes = [t for t in transactions if t is not work]
        assert len(writes) == (1 if audited else 0), transactions
        assert all(_runs(t, "INSERT INTO audit_events") for t in writes), writes
    else:
        assert transactions == [work]
        assert _runs(work, "INSERT INTO audit_events") == audited, work


async def test_a_page_without_its_own_unit_of_work_still_finds_the_session(
    client: TestClient, people: People, services: Services
) -> None:
    """The middleware looks the session up for every other handler, in a reading unit of work
    of its own, before the handler runs."""
    await sign_in(client, await people.make(Role.PATIENT))
    transactions = await _watch(services, client, "/me/details")
    lookups = [t for t in transactions if _runs(t, "FROM auth_sessions")]
    assert len(lookups) == 1, transactions
    assert not _runs(lookups[0], "INSERT INTO"), lookups[0]


@pytest.mark.parametrize("path", ["/", "/api/v1/me"])
async def test_an_ended_session_is_refused_and_its_row_removed_by_reading_work(
    client: TestClient, people: People, services: Services, clock: ManualClock, path: str
) -> None:
    """The refusal rolls the work back; the bookkeeping that removes the ended session's row
    runs again in the turn that stores the refusal."""
    await sign_in(client, await people.make(Role.PATIENT))
    assert await scalar_sql(services, "SELECT count(*) FROM auth_sessions") == 1
    clock.advance(services.settings.session_idle + timedelta(seconds=1))
    response = await client.get(path, allow_redirects=False)
    assert response.status in (303, 401)
    if response.status == 303:
        assert response.headers["Location"].startswith("/login")
    assert await scalar_sql(services, "SELECT count(*) FROM auth_sessions") == 0
