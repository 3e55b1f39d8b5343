"""Parsing client frames into typed messages, and the errors named after the fault."""

from __future__ import annotations

import json

import pytest

from signaling.codes import ErrorCode
from signaling.protocol import (
    Ack,
    Chat,
    Hello,
    HostAction,
    InvalidField,
    MalformedJson,
    Relay,
    Resume,
    UnknownType,
    UnsupportedVersion,
    parse_frame,
    parse_handshake,
    relay_body,
    with_seq,
)


def test_handshake_frames() -> None:
    assert parse_handshake('{"v":1,"type":"hello","ticket":"t"}') == Hello("t")
    resume = '{"v":1,"type":"resume","resume_id":"r","last_seq":4}'
    assert parse_handshake(resume) == Resume("r", 4)
    with pytest.raises(UnsupportedVersion):
        parse_handshake('{"v":2,"type":"hello","ticket":"t"}')
    with pytest.raises(UnsupportedVersion):
        parse_handshake('{"v":true,"type":"hello","ticket":"t"}')
    with pytest.raises(InvalidField):
        parse_handshake('{"v":1,"type":"join","seq":1}')


def test_session_frames() -> None:
    offer = parse_frame('{"type":"offer","seq":2,"to":"p-1","sdp":"v=0"}')
    assert offer == Relay(2, "offer", "p-1", "v=0")
    assert json.loads(relay_body(offer, "p-2")) == {"type": "offer", "from": "p-2", "sdp": "v=0"}
    end = parse_frame('{"type":"candidate","seq":3,"to":"p-1","candidate":null}')
    assert end == Relay(3, "candidate", "p-1", None)
    assert parse_frame('{"type":"ack","ack":7}') == Ack(7)
    assert parse_frame('{"type":"admit","seq":1,"participant":"p"}') == HostAction(1, "admit", "p")
    assert parse_frame('{"type":"chat","seq":5,"text":"hi"}') == Chat(5, "hi")
    assert json.loads(with_seq(9, '{"type":"x"}')) == {"seq": 9, "type": "x"}


@pytest.mark.parametrize(
    ("raw", "error", "code"),
    [
        ("not json", MalformedJson, ErrorCode.BAD_JSON),
        ("[1,2]", MalformedJson, ErrorCode.BAD_JSON),
        ('{"type":"offer","seq":"1","to":"p","sdp":"x"}', InvalidField, ErrorCode.BAD_MESSAGE),
        ('{"type":"offer","seq":true,"to":"p","sdp":"x"}', InvalidField, ErrorCode.BAD_MESSAGE),
        ('{"type":"offer","seq":1,"sdp":"x"}', InvalidField, ErrorCode.BAD_MESSAGE),
        (
            '{"type":"candidate","seq":1,"to":"p","candidate":5}',
            InvalidField,
            ErrorCode.BAD_MESSAGE,
        ),
        ('{"type":"chat","seq":1,"text":""}', InvalidField, ErrorCode.BAD_MESSAGE),
        ('{"type":"dance","seq":1}', UnknownType, ErrorCode.UNKNOWN_TYPE),
        ('{"type":"hello","seq":1,"ticket":"t"}', InvalidField, ErrorCode.BAD_MESSAGE),
    ],
)
def test_rejections_name_the_fault(raw: str, error: type[Exception], code: ErrorCode) -> None:
    with pytest.raises(error) as caught:
        parse_frame(raw)
    assert caught.value.code is code  # type: ignore[attr-defined]


def test_chat_length_is_bounded() -> None:
    with pytest.raises(InvalidField):
        parse_frame(json.dumps({"type": "chat", "seq": 1, "text": "x" * 4001}))


def test_an_unpaired_surrogate_is_malformed_but_escaped_pairs_are_fine() -> None:
    from signaling.protocol import MalformedJson, decode

    with pytest.raises(MalformedJson):
        decode('{"type": "chat", "seq": 1, "text": "\\ud800"}')
    with pytest.raises(MalformedJson):
        decode('{"type": "chat", "seq": 1, "text": "x\\uDFFFy"}')
    # An emoji written as an escaped surrogate pair is ordinary Unicode.
    assert decode('{"type": "chat", "seq": 1, "text": "\\ud83d\\ude00"}')["text"] == "\U0001f600"
