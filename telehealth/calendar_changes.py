"""Tells open agenda pages, at once, that a therapist's calendar changed.

A patient entering a visit's waiting room, a booking, a cancellation: each commits a change to
the therapist's calendar, and the agenda that therapist (or an admin) has open should show it
within a second, also in a background tab, where browsers slow a page's timers to once a minute.
The unit of work collects the therapists whose calendars a transaction changed and, after the
commit, announces them here; each open agenda stream listens for one therapist.

The announcement carries no patient data, only "this calendar changed": the page then reads the
appointments through the API as before, authorized and audited. A listener that falls behind
loses nothing that matters, since one pending "changed" stands for any number.

With several instances (TELEHEALTH_REDIS_URL set) an announcement is also published on Redis,
and every instance passes on what the others published; each instance delivers its own at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator

from redis.asyncio import Redis

from telehealth.config import Settings

log = logging.getLogger(__name__)

# Between reconnect attempts of the Redis listener.
_RETRY_SECONDS = 1.0
# How long stopping waits for the relay to end.
_STOP_SECONDS = 5.0


class Listener:
    """One open stream's view of one calendar: `changed_within` returns when it changed (or closing)."""

    def __init__(self) -> None:
        self._changed = asyncio.Event()
        self.closing = False

    def wake(self) -> None:
        """Mark the calendar changed."""
        self._changed.set()

    async def changed_within(self, seconds: float) -> bool:
        """Whether the calendar changed within `seconds` (and the service is not closing); a
        change seen counts once."""
        try:
            async with asyncio.timeout(seconds):
                await self._changed.wait()
        except TimeoutError:
            return False
        self._changed.clear()
        return not self.closing


class CalendarChanges:
    """This process's agenda listeners, and its link to the other instances."""

    def __init__(self, redis: Redis | None = None, prefix: str = "") -> None:
        self._listeners: dict[uuid.UUID | None, set[Listener]] = {}
        self._redis = redis
        self._channel = f"{prefix}calendar-changes"
        self._instance = secrets.token_hex(8)
        self._publishing: set[asyncio.Task[None]] = set()
        self._closed = False

    def announce(self, therapist_ids: Iterable[uuid.UUID]) -> None:
        """After a commit: wake this process's listeners of these calendars, and tell the other
        instances. Never raises: the change is committed whatever happens here."""
        ids = set(therapist_ids)
        self._deliver(ids)
        if self._redis is not None and ids and not self._closed:
            message = json.dumps({"from": self._instance, "ids": sorted(str(i) for i in ids)})
            task = asyncio.create_task(self._publish(self._redis, message))
            self._publishing.add(task)
            task.add_done_callback(self._publishing.discard)

    async def _publish(self, redis: Redis, message: str) -> None:
        try:
            await redis.publish(self._channel, message)
        except Exception as exc:  # a Redis outage costs other instances' pages a poll's delay
            log.warning("calendar change not published to other instances: %s", exc)

    def _deliver(self, ids: Iterable[uuid.UUID]) -> None:
        woken = False
        for therapist_id in ids:
            woken = True
            for listener in self._listeners.get(therapist_id, ()):
                listener.wake()
        if woken:
            for listener in self._listeners.get(None, ()):
                listener.wake()

    @contextlib.contextmanager
    def listening(self, therapist_id: uuid.UUID | None) -> Iterator[Listener]:
        """A listener for one calendar (None: every calendar) while the context is open."""
        listener = Listener()
        self._listeners.setdefault(therapist_id, set()).add(listener)
        try:
            yield listener
        finally:
            listeners = self._listeners.get(therapist_id)
            if listeners is not None:
                listeners.discard(listener)
                if not listeners:
                    del self._listeners[therapist_id]

    def close(self) -> None:
        """Wake every listener to end its stream (the service is stopping)."""
        self._closed = True
        for listeners in self._listeners.values():
            for listener in listeners:
                listener.closing = True
                listener.wake()

    async def relay_from_others(self) -> None:
        """Pass on what other instances announce, until cancelled; reconnects after a loss."""
        if self._redis is None:
            return
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    async for message in pubsub.listen():
                        self._receive(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("calendar changes from other instances interrupted: %s", exc)
            await asyncio.sleep(_RETRY_SECONDS)

    def _receive(self, data: object) -> None:
        try:
            message = json.loads(data) if isinstance(data, (str, bytes)) else None
            if not isinstance(message, dict) or message.get("from") == self._instance:
                return
            ids = [uuid.UUID(str(i)) for i in message.get("ids", [])]
        except (ValueError, TypeError):
            log.warning("ignored a malformed calendar change message")
            return
        self._deliver(ids)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Relay other instances' announcements while open; wake every listener at the end."""
        task = asyncio.create_task(self.relay_from_others(), name="calendar-changes")
        try:
            yield
        finally:
            self.close()
            task.cancel()
            # Bounded: a cancellation absorbed inside the Redis client must not hold up a
            # stopping instance (the relay ends with the process anyway).
            await asyncio.wait({task}, timeout=_STOP_SECONDS)
            for publishing in list(self._publishing):
                publishing.cancel()
            if self._redis is not None:
                await self._redis.aclose()


def calendar_changes_for(settings: Settings) -> CalendarChanges:
    """Local delivery only, or also through Redis where instances share one."""
    if not settings.redis_url:
        return CalendarChanges()
    return CalendarChanges(
        Redis.from_url(settings.redis_url, decode_responses=True), prefix=settings.redis_prefix
    )
