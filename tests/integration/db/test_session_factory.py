"""How the service's sessions share one SQLite file: writers of the process take turns in order,
readers never wait for them, and a turn that does not come in time is a 503, not a hang."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from telehealth.db import SessionFactory, create_engine, create_session_factory
from telehealth.errors import DatabaseUnavailable
from tests.conftest import base_settings

WAIT_SECONDS = 0.5


@pytest.fixture
async def factory(tmp_path: Path) -> AsyncIterator[SessionFactory]:
    settings = base_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'writers.db'}")
    engine = create_engine(settings)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE entries (n INTEGER NOT NULL)"))
    try:
        yield create_session_factory(engine, wait_seconds=WAIT_SECONDS)
    finally:
        await engine.dispose()


async def count(factory: SessionFactory) -> int:
    async with factory.reading() as session:
        return int(await session.scalar(text("SELECT count(*) FROM entries")) or 0)


async def test_writers_take_turns_in_the_order_they_came(factory: SessionFactory) -> None:
    order: list[int] = []

    async def write(n: int) -> None:
        async with factory() as session:
            await session.execute(text("INSERT INTO entries (n) VALUES (:n)"), {"n": n})
            order.append(n)
            await asyncio.sleep(0.01)  # the turn is held while the transaction is open
            await session.commit()

    tasks = []
    for n in range(20):
        tasks.append(asyncio.create_task(write(n)))
        await asyncio.sleep(0)  # each asks for its turn before the next is created
    await asyncio.gather(*tasks)
    assert order == list(range(20))
    assert await count(factory) == 20


async def test_a_reader_does_not_wait_for_a_writer_and_sees_the_last_commit(
    factory: SessionFactory,
) -> None:
    async with factory() as session:
        await session.execute(text("INSERT INTO entries (n) VALUES (1)"))
        await session.commit()
    async with factory() as writer:
        await writer.execute(text("INSERT INTO entries (n) VALUES (2)"))
        # The write lock is held; a reader answers at once, from the committed state.
        async with asyncio.timeout(WAIT_SECONDS / 2):
            assert await count(factory) == 1
        await writer.commit()
    assert await count(factory) == 2


async def test_a_writer_that_cannot_get_its_turn_in_time_is_told_503(
    factory: SessionFactory,
) -> None:
    release = asyncio.Event()
    holding = asyncio.Event()

    async def hold() -> None:
        async with factory() as session:
            await session.execute(text("INSERT INTO entries (n) VALUES (1)"))
            holding.set()
            await release.wait()
            await session.commit()

    holder = asyncio.create_task(hold())
    await holding.wait()
    with pytest.raises(DatabaseUnavailable) as refused:
        async with factory() as session:
            await session.execute(text("INSERT INTO entries (n) VALUES (2)"))
    assert refused.value.status == 503
    assert refused.value.retry_after > 0
    release.set()
    await holder
    # The refused writer wrote nothing, and the queue still works.
    async with factory() as session:
        await session.execute(text("INSERT INTO entries (n) VALUES (3)"))
        await session.commit()
    async with factory.reading() as session:
        assert list(await session.scalars(text("SELECT n FROM entries ORDER BY n"))) == [1, 3]


async def test_a_failed_transaction_gives_up_its_turn(factory: SessionFactory) -> None:
    with pytest.raises(ZeroDivisionError):
        async with factory() as session:
            await session.execute(text("INSERT INTO entries (n) VALUES (1)"))
            raise ZeroDivisionError
    async with asyncio.timeout(WAIT_SECONDS / 2), factory() as session:
        await session.execute(text("INSERT INTO entries (n) VALUES (2)"))
        await session.commit()
    assert await count(factory) == 1


async def test_a_cancelled_request_gives_up_its_turn(factory: SessionFactory) -> None:
    entered = asyncio.Event()

    async def abandoned() -> None:
        async with factory() as session:
            await session.execute(text("INSERT INTO entries (n) VALUES (1)"))
            entered.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(abandoned())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with asyncio.timeout(WAIT_SECONDS / 2), factory() as session:
        await session.execute(text("INSERT INTO entries (n) VALUES (2)"))
        await session.commit()
    assert await count(factory) == 1
