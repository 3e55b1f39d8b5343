"""Frames of protocol v1: parse and validate client frames, build server frames."""

from __future__ import annotations

import json
import json.encoder
import re
from dataclasses import dataclass
from typing import Any, Final

from signaling.codes import PROTOCOL_VERSION, ErrorCode

MAX_CHAT_CHARS: Final = 4000
MAX_SDP_CHARS: Final = 60_000


class ProtocolError(Exception):
    """A client frame that cannot be accepted; carries the `error` code to answer with."""

    code: ErrorCode = ErrorCode.BAD_MESSAGE

    def __init__(self, message: str, ref: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.ref = ref


class MalformedJson(ProtocolError):
    """The frame is not a JSON object."""

    code = ErrorCode.BAD_JSON


class InvalidField(ProtocolError):
    """A field is missing or has the wrong type."""

    code = ErrorCode.BAD_MESSAGE


class UnknownType(ProtocolError):
    """The `type` is not part of protocol v1."""

    code = ErrorCode.UNKNOWN_TYPE


class UnsupportedVersion(ProtocolError):
    """The `v` of a handshake frame is not 1."""

    code = ErrorCode.UNSUPPORTED_VERSION


@dataclass(frozen=True, slots=True)
class Hello:
    """Authenticate with a ticket."""

    ticket: str


@dataclass(frozen=True, slots=True)
class Resume:
    """Take a dropped session back."""

    resume_id: str
    last_seq: int


@dataclass(frozen=True, slots=True)
class Ack:
    """The client processed server frames up to `ack`."""

    ack: int


@dataclass(frozen=True, slots=True)
class Join:
    """Enter the room (guests: the waiting room)."""

    seq: int


@dataclass(frozen=True, slots=True)
class HostAction:
    """admit, deny or remove a participant."""

    seq: int
    action: str
    participant: str


@dataclass(frozen=True, slots=True)
class End:
    """The host ends the visit."""

    seq: int


@dataclass(frozen=True, slots=True)
class Leave:
    """Leave for good."""

    seq: int


@dataclass(slots=True)  # not frozen: one is built per relayed frame, and frozen init is slower
class Relay:
    """offer, answer or candidate for one peer; `payload` is the validated sdp or candidate."""

    seq: int
    kind: str
    to: str
    payload: Any


@dataclass(frozen=True, slots=True)
class Chat:
    """A text message to everyone admitted."""

    seq: int
    text: str


SessionFrame = Join | HostAction | End | Leave | Relay | Chat
ClientFrame = Ack | SessionFrame
HANDSHAKE_TYPES: Final = frozenset({"hello", "resume"})
RELAY_KINDS: Final = frozenset({"offer", "answer", "candidate"})
HOST_ACTIONS: Final = frozenset({"admit", "deny", "remove"})


def _int(data: dict[str, Any], key: str, ref: int | None) -> int:
    value = data.get(key)
    # bool is an int in Python; a JSON true is not a sequence number.
    if type(value) is not int or value < 0 or value > 2**53:
        raise InvalidField(f"{key} must be a non-negative integer", ref)
    return value


def _str(data: dict[str, Any], key: str, ref: int | None, limit: int = 256) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InvalidField(f"{key} must be a non-empty string of at most {limit} characters", ref)
    return value


def _candidate(value: Any, ref: int) -> Any:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidField("candidate must be an object or null", ref)
    text = value.get("candidate")
    if not isinstance(text, str) or len(text) > 2048:
        raise InvalidField("candidate.candidate must be a string", ref)
    mid = value.get("sdpMid")
    index = value.get("sdpMLineIndex")
    if mid is not None and not isinstance(mid, str):
        raise InvalidField("candidate.sdpMid must be a string or null", ref)
    if index is not None and type(index) is not int:
        raise InvalidField("candidate.sdpMLineIndex must be an integer or null", ref)
    ufrag = value.get("usernameFragment")
    if ufrag is not None and not isinstance(ufrag, str):
        raise InvalidField("candidate.usernameFragment must be a string or null", ref)
    return {"candidate": text, "sdpMid": mid, "sdpMLineIndex": index, "usernameFragment": ufrag}


# json.loads adds a type check, a BOM check and two whitespace regex matches around the C
# scanner, which together cost as much as scanning a candidate; raw_decode is the bare scan.
_raw_decode = json.JSONDecoder().raw_decode


def decode(raw: str) -> dict[str, Any]:
    """Parse the JSON object of a frame."""
    try:
        data, end = _raw_decode(raw)
    except (ValueError, RecursionError):
        end = -1
    # Anything unusual (surrounding whitespace, a BOM, an error to report) takes the full path.
    if end != len(raw) or type(data) is not dict:
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise MalformedJson("frame is not valid JSON") from exc
        if not isinstance(data, dict):
            raise MalformedJson("frame is not a JSON object")
    # JSON may escape half of a surrogate pair ("\ud800"): it parses, but is not Unicode and could
    # not be sent on. Only frames that escape a surrogate at all pay for the check.
    if "\\u" in raw and _SURROGATE_ESCAPE.search(raw) and _has_lone_surrogate(data):
        raise MalformedJson("frame contains text that is not valid Unicode")
    return data


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _has_lone_surrogate(data: dict[str, Any]) -> bool:
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def parse_handshake(raw: str) -> Hello | Resume:
    """Parse the first frame of a connection."""
    data = decode(raw)
    kind = data.get("type")
    if kind not in HANDSHAKE_TYPES:
        raise InvalidField("the first frame must be hello or resume")
    if data.get("v") != PROTOCOL_VERSION or type(data.get("v")) is not int:
        raise UnsupportedVersion(f"protocol version {PROTOCOL_VERSION} required")
    if kind == "hello":
        return Hello(_str(data, "ticket", None, 4096))
    return Resume(_str(data, "resume_id", None), _int(data, "last_seq", None))


def parse_frame(raw: str) -> ClientFrame:
    """Parse a frame after the handshake."""
    data = decode(raw)
    kind = data.get("type")
    if kind == "candidate":
        # Most frames of a visit: checked inline; anything off falls through to the full checks.
        seq = data.get("seq")
        to = data.get("to")
        if (
            type(seq) is int
            and 0 < seq <= 2**53
            and type(to) is str
            and 0 < len(to) <= 256
            and "candidate" in data
        ):
            return Relay(seq, kind, to, _candidate(data["candidate"], seq))
    if not isinstance(kind, str):
        raise InvalidField("type must be a string")
    if kind == "ack":
        return Ack(_int(data, "ack", None))
    seq = data.get("seq")
    if type(seq) is not int or seq < 1 or seq > 2**53:
        raise InvalidField("seq must be a positive integer")
    if kind in RELAY_KINDS:
        to = _str(data, "to", seq)
        if kind == "candidate":
            if "candidate" not in data:
                raise InvalidField("candidate is required", seq)
            return Relay(seq, kind, to, _candidate(data["candidate"], seq))
        return Relay(seq, kind, to, _str(data, "sdp", seq, MAX_SDP_CHARS))
    if kind == "join":
        return Join(seq)
    if kind in HOST_ACTIONS:
        return HostAction(seq, kind, _str(data, "participant", seq))
    if kind == "chat":
        return Chat(seq, _str(data, "text", seq, MAX_CHAT_CHARS))
    if kind == "end":
        return End(seq)
    if kind == "leave":
        return Leave(seq)
    if kind in HANDSHAKE_TYPES:
        raise InvalidField("already authenticated", seq)
    raise UnknownType(f"unknown type {kind[:40]!r}", seq)


# Built once: json.dumps with options constructs a new encoder on every call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_encode_value = _ENCODER.encode
# The C string encoder that _ENCODER (ensure_ascii=False) applies to every str.
_encode_str = json.encoder.encode_basestring


def encode(frame: dict[str, Any]) -> str:
    """Serialize a server frame compactly."""
    return _encode_value(frame)


def _candidate_json(candidate: dict[str, Any] | None) -> str:
    # The same text as _encode_value(candidate) for the dict _candidate builds, several times
    # faster: no encoder object, no circularity bookkeeping. Values are already type-checked.
    if candidate is None:
        return "null"
    mid = candidate["sdpMid"]
    index = candidate["sdpMLineIndex"]
    ufrag = candidate["usernameFragment"]
    return (
        f'{{"candidate":{_encode_str(candidate["candidate"])},'
        f'"sdpMid":{"null" if mid is None else _encode_str(mid)},'
        f'"sdpMLineIndex":{"null" if index is None else index},'
        f'"usernameFragment":{"null" if ufrag is None else _encode_str(ufrag)}}}'
    )


def relay_body(frame: Relay, sender: str) -> str:
    """The frame the recipient of a relay receives (without its `seq`).

    Same text as encode({"type", "from", sdp|candidate}), without building the dict. `kind` is
    one of RELAY_KINDS, so it needs no escaping.
    """
    kind = frame.kind
    if kind == "candidate":
        return (
            f'{{"type":"candidate","from":{_encode_str(sender)},'
            f'"candidate":{_candidate_json(frame.payload)}}}'
        )
    return f'{{"type":"{kind}","from":{_encode_str(sender)},"sdp":{_encode_str(frame.payload)}}}'


def with_seq(seq: int, body: str) -> str:
    """Put a stream number into a serialized body; cheaper than re-encoding."""
    return f'{{"seq":{seq},{body[1:]}'


def error_frame(code: ErrorCode, message: str, ref: int | None, expected: int | None = None) -> str:
    """An `error` reply; `expected` (seq_gap only) is the seq the server waits for."""
    frame: dict[str, Any] = {"type": "error", "code": code.value, "message": message, "ref": ref}
    if expected is not None:
        frame["expected"] = expected
    return encode(frame)


def ack_frame(ack: int) -> str:
    """The server's acknowledgement of client frames."""
    return f'{{"type":"ack","ack":{ack}}}'
