"""Settings of the signaling server."""

from __future__ import annotations

from dataclasses import dataclass, field

from signaling.admission import Authorizer
from signaling.bus import Bus
from signaling.clock import Clock, SystemClock
from signaling.lifecycle import Lifecycle, NoLifecycle


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds that keep one client from hurting the others."""

    max_message_bytes: int = 64 * 1024
    rate_per_second: float = 50.0
    rate_burst: float = 200.0
    max_rate_violations: int = 100
    max_participants: int = 6
    send_queue_frames: int = 1024
    max_unacked_frames: int = 1024
    handshake_timeout: float = 10.0
    server_ack_every: int = 32


@dataclass(frozen=True, slots=True)
class TurnSettings:
    """coturn `use-auth-secret` settings; empty urls mean no TURN server is offered."""

    secret: str | None = None
    turn_urls: tuple[str, ...] = ()
    stun_urls: tuple[str, ...] = ()
    minimum_lifetime: int = 600


@dataclass(frozen=True, slots=True)
class SignalingConfig:
    """Everything `setup_signaling` needs; the bus defaults to an in-process one."""

    authorizer: Authorizer
    allowed_origins: frozenset[str]
    lifecycle: Lifecycle = field(default_factory=NoLifecycle)
    bus: Bus | None = None
    limits: Limits = field(default_factory=Limits)
    turn: TurnSettings = field(default_factory=TurnSettings)
    resume_window: float = 30.0
    clock: Clock = field(default_factory=SystemClock)
    path: str = "/signaling/v1"
    heartbeat: float | None = 20.0
