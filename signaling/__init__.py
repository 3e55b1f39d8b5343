"""WebRTC signaling server for video visits: a library the application mounts on aiohttp."""

from signaling.admission import Admission, Authorizer, ResumeGuard, Role
from signaling.bus import Bus
from signaling.codes import PROTOCOL_VERSION, CloseCode, ErrorCode
from signaling.config import Limits, LimitsError, SignalingConfig, TurnSettings
from signaling.lifecycle import Lifecycle, NoLifecycle
from signaling.memory_bus import InProcessBus
from signaling.stats import BUS_BUCKETS, LatencyHistogram, Stats
from signaling.turn import IceServer, TurnCredentials, mint_turn_credentials
from signaling.wiring import SIGNALING_CONFIG, SIGNALING_HUB, setup_signaling

__all__ = [
    "BUS_BUCKETS",
    "PROTOCOL_VERSION",
    "SIGNALING_CONFIG",
    "SIGNALING_HUB",
    "Admission",
    "Authorizer",
    "Bus",
    "CloseCode",
    "ErrorCode",
    "IceServer",
    "InProcessBus",
    "LatencyHistogram",
    "Lifecycle",
    "Limits",
    "LimitsError",
    "NoLifecycle",
    "ResumeGuard",
    "Role",
    "SignalingConfig",
    "Stats",
    "TurnCredentials",
    "TurnSettings",
    "mint_turn_credentials",
    "setup_signaling",
]
