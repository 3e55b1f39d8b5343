"""Settings of the signaling server."""

from __future__ import annotations

from dataclasses import dataclass, field

from signaling.admission import Authorizer, ResumeGuard
from signaling.bus import Bus
from signaling.clock import Clock, SystemClock
from signaling.lifecycle import Lifecycle, NoLifecycle
from signaling.presence import Presence
from signaling.stats import Stats

# What a server frame may add to the client frame it carries (`from`, `seq`, a display name).
FRAME_OVERHEAD_BYTES = 1024


class LimitsError(ValueError):
    """Limits that would break the resume guarantee (see docs/signaling.md, Slow consumers)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds that keep one client from hurting the others.

    `send_queue_bytes` bounds the stream frames a connection has sent and the client has not
    acknowledged; one more closes the connection with 4008. `resume_buffer_bytes` bounds each
    participant's resume buffer. Keeping the second at least the first plus one largest server
    frame is what lets a client closed with 4008 resume without losing a frame.
    """

    max_message_bytes: int = 64 * 1024
    rate_per_second: float = 50.0
    rate_burst: float = 200.0
    max_rate_violations: int = 100
    max_participants: int = 6
    send_queue_bytes: int = 256 * 1024
    resume_buffer_bytes: int = 640 * 1024
    handshake_timeout: float = 10.0
    server_ack_every: int = 32

    def __post_init__(self) -> None:
        if self.resume_buffer_bytes < self.min_resume_buffer_bytes:
            raise LimitsError(
                f"resume_buffer_bytes must be at least {self.min_resume_buffer_bytes} "
                "(send_queue_bytes + max_message_bytes + 1 KiB)"
            )

    @property
    def max_server_frame_bytes(self) -> int:
        """The largest stream frame the server sends."""
        return self.max_message_bytes + FRAME_OVERHEAD_BYTES

    @property
    def min_resume_buffer_bytes(self) -> int:
        """The smallest resume buffer that keeps the 4008 resume guarantee."""
        return self.send_queue_bytes + self.max_server_frame_bytes


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
    # Counters the application reads for its metrics; one per hub.
    stats: Stats = field(default_factory=Stats)
    # Consulted on every resume (None: a resume id alone suffices within the window).
    resume_guard: ResumeGuard | None = None
    # Liveness of instances and resume-window ends: `RedisPresence` beside a `RedisBus`;
    # None keeps them in this process.
    presence: Presence | None = None
