"""Mounts the signaling library for video visits: one room per virtual appointment.

The library never imports telehealth; this module hands it what it needs: an authorizer that
redeems the application's single-use tickets, lifecycle callbacks that move the appointment along,
the Origin allowlist, TURN settings and, with TELEHEALTH_REDIS_URL, the Redis bus shared by every
instance.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

from aiohttp import web
from redis.asyncio import BlockingConnectionPool, Redis

from signaling import Admission, Limits, Role, SignalingConfig, Stats, TurnSettings, setup_signaling
from signaling.redis_bus import RedisBus
from signaling.redis_presence import RedisPresence
from telehealth.clock import Clock
from telehealth.config import Settings
from telehealth.http.keys import SERVICES
from telehealth.shutdown import close_within
from telehealth.visits import guests, rules, service
from telehealth.visits.network_test import network_tests_context
from telehealth.visits.revocation import setup_revocation

log = logging.getLogger(__name__)
SIGNALING_PATH = "/signaling/v1"
# How long a signaling call waits for one of the 64 pooled Redis connections.
REDIS_POOL_WAIT_SECONDS = 10.0


class TicketAuthorizer:
    """Redeems a visit ticket issued by `service.issue_ticket`."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    async def authorize(self, ticket: str, room_id: str | None) -> Admission | None:
        """The admission a ticket grants, or None (unknown, used, expired, outside the window,
        or for another room than `room_id`, which leaves the ticket unused)."""
        if not ticket or len(ticket) > 128:
            return None
        room: uuid.UUID | None = None
        if room_id is not None:
            try:
                room = uuid.UUID(room_id)
            except ValueError:
                return None
        if ticket.startswith(rules.GUEST_TICKET_PREFIX):
            # A guest has no account: the signaling server knows them by their invitation.
            admitted = await guests.redeem_guest_ticket(self._app[SERVICES], ticket, room)
            user_id = None if admitted is None else rules.guest_user_id(admitted.user_id)
        else:
            admitted = await service.redeem_ticket(self._app[SERVICES], ticket, room)
            user_id = None if admitted is None else str(admitted.user_id)
        if admitted is None or user_id is None:
            return None
        return Admission(
            room_id=str(admitted.appointment_id),
            user_id=user_id,
            display_name=admitted.display_name,
            role=Role.HOST if admitted.role == "host" else Role.GUEST,
            window_end=admitted.window_end,
        )

    async def may_resume(self, room_id: str, user_id: str) -> bool:
        """Checked on every resume: the person is still active and still on the visit's care
        team, so a revocation the bus lost cannot let them back in."""
        try:
            room = uuid.UUID(room_id)
            guest = rules.guest_id_of(user_id)
            if guest is not None:
                return await guests.may_resume_guest(self._app[SERVICES], room, guest)
            user = uuid.UUID(user_id)
        except ValueError:
            return False
        return await service.may_resume(self._app[SERVICES], room, user)


class VisitLifecycle:
    """Turns room events into appointment changes and audit records."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    async def _record(self, event: str, room_id: str, user_id: str) -> None:
        # A failure here must not break the call in progress: log it and carry on.
        try:
            guest = rules.guest_id_of(user_id)
            if guest is not None:
                # A guest is audited only: the appointment follows the patient and therapist.
                await guests.record_guest_event(
                    self._app[SERVICES], event, uuid.UUID(room_id), guest
                )
                return
            await service.record_visit_event(
                self._app[SERVICES], event, uuid.UUID(room_id), uuid.UUID(user_id)
            )
        except Exception:
            log.exception("visit event %s in room %s could not be recorded", event, room_id)

    async def on_join(self, room_id: str, user_id: str) -> None:
        """The patient entering the waiting room checks the appointment in."""
        await self._record("join", room_id, user_id)

    async def on_admit(self, room_id: str, user_id: str) -> None:
        """The therapist admitting the patient starts the visit."""
        await self._record("admit", room_id, user_id)

    async def on_deny(self, room_id: str, user_id: str) -> None:
        """Audited only."""
        await self._record("deny", room_id, user_id)

    async def on_leave(self, room_id: str, user_id: str) -> None:
        """Audited only: a dropped call may come back."""
        await self._record("leave", room_id, user_id)

    async def on_end(self, room_id: str, user_id: str) -> None:
        """The therapist ending the visit completes the appointment."""
        await self._record("end", room_id, user_id)


def setup_visit_signaling(
    app: web.Application, settings: Settings, clock: Clock, stats: Stats
) -> None:
    """Mount the visit WebSocket at /signaling/v1/{room} and the pre-call echo peers;
    `stats` are the counters /metrics reads."""
    app.cleanup_ctx.append(network_tests_context)
    setup_revocation(app)
    bus: RedisBus | None = None
    presence: RedisPresence | None = None
    if settings.redis_url:
        # The bus works with text, as its Lua scripts and channel names do.
        # A blocking pool: past max_connections a call waits for a connection, where
        # redis-py's default pool fails the call (and with it the socket) at 100. The wait is
        # bounded: a Redis that stopped answering fails sockets, it does not hang them.
        pool = BlockingConnectionPool.from_url(
            settings.redis_url,
            max_connections=64,
            timeout=REDIS_POOL_WAIT_SECONDS,
            decode_responses=True,
        )
        redis = Redis(connection_pool=pool)
        bus = RedisBus(
            redis, prefix=settings.redis_prefix, buffer_bytes=settings.signaling_resume_buffer_bytes
        )
        presence = RedisPresence(
            redis,
            prefix=settings.redis_prefix,
            heartbeat=settings.signaling_heartbeat,
            ttl=settings.signaling_instance_ttl,
        )

        async def close_redis(_: web.Application) -> AsyncIterator[None]:
            # Registered before the signaling hub's context, so it closes after the hub.
            try:
                yield
            finally:
                await close_within("closing the signaling bus", bus.close())
                # The pool was handed in, so the client does not close it by itself.
                await close_within(
                    "closing the Redis pool", redis.aclose(close_connection_pool=True)
                )

        app.cleanup_ctx.append(close_redis)

    authorizer = TicketAuthorizer(app)
    setup_signaling(
        app,
        SignalingConfig(
            authorizer=authorizer,
            lifecycle=VisitLifecycle(app),
            allowed_origins=frozenset(settings.websocket_origins),
            bus=bus,
            presence=presence,
            resume_window=settings.signaling_resume_window,
            turn=TurnSettings(
                secret=settings.turn_secret or None,
                turn_urls=settings.turn_urls,
                stun_urls=settings.stun_urls,
            ),
            clock=clock,
            path=SIGNALING_PATH,
            limits=Limits(
                send_queue_bytes=settings.signaling_send_queue_bytes,
                resume_buffer_bytes=settings.signaling_resume_buffer_bytes,
                rate_per_second=settings.signaling_rate_per_second,
                rate_burst=settings.signaling_rate_burst,
                # The therapist, the patient and at most two guests (rules.MAX_GUESTS).
                max_participants=2 + rules.MAX_GUESTS,
            ),
            stats=stats,
            resume_guard=authorizer,
        ),
    )
