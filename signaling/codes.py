"""Close codes and error codes of signaling protocol v1 (see docs/signaling.md)."""

from __future__ import annotations

from enum import IntEnum, StrEnum

PROTOCOL_VERSION = 1


class CloseCode(IntEnum):
    """WebSocket close codes the server uses."""

    NORMAL = 1000
    GOING_AWAY = 1001
    INVALID_DATA = 1007
    POLICY = 1008
    TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    REPLACED = 4001
    UNAUTHORIZED = 4002
    DENIED = 4003
    REMOVED = 4004
    ENDED = 4005
    RESUME_FAILED = 4006
    REVOKED = 4007
    SLOW_CONSUMER = 4008
    ROOM_FULL = 4009


class ErrorCode(StrEnum):
    """Codes of `error` frames."""

    BAD_JSON = "bad_json"
    BAD_MESSAGE = "bad_message"
    UNKNOWN_TYPE = "unknown_type"
    UNSUPPORTED_VERSION = "unsupported_version"
    NOT_ADMITTED = "not_admitted"
    NOT_HOST = "not_host"
    UNKNOWN_PARTICIPANT = "unknown_participant"
    RATE_LIMITED = "rate_limited"
    ROOM_FULL = "room_full"
    SEQ_GAP = "seq_gap"
    SELF_RELAY = "self_relay"
