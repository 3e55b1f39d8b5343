"""Arbitrary frames never crash the server, get the documented answer and stay in their room."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signaling import CloseCode, ErrorCode, Role
from tests.integration.signaling.support import ORIGIN, TicketBook, connect

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
known_types = st.sampled_from(
    ["offer", "answer", "candidate", "chat", "admit", "deny", "remove", "end", "ack", "hello", "x"]
)
shaped = st.fixed_dictionaries(
    {"type": known_types},
    optional={
        "seq": json_values,
        "to": json_values,
        "sdp": json_values,
        "candidate": json_values,
        "text": json_values,
        "participant": json_values,
        "ack": json_values,
    },
).map(json.dumps)
frames = st.one_of(
    st.text(max_size=50),
    json_values.map(json.dumps),
    shaped,
    st.integers(min_value=65 * 1024, max_value=80 * 1024).map(
        lambda n: '{"type":"chat","text":"' + "x" * n + '"}'
    ),
)
ERROR_CODES = {code.value for code in ErrorCode}
MARKER_SEQ = 2**40


async def send_and_collect(
    ws: aiohttp.ClientWebSocketResponse, batch: list[str]
) -> tuple[list[dict[str, Any]], int | None]:
    for raw in batch:
        if ws.closed:
            break
        await ws.send_str(raw)
    # A chat far past any seq in use marks the end of the batch: its seq_gap error is the last
    # reply (a seq gap is refused, and answered, in order).
    if not ws.closed:
        await ws.send_str(json.dumps({"type": "chat", "seq": MARKER_SEQ, "text": "end"}))
    replies: list[dict[str, Any]] = []
    while True:
        msg = await ws.receive()
        if msg.type is not aiohttp.WSMsgType.TEXT:
            return replies, ws.close_code
        data = json.loads(msg.data)
        if data.get("type") == "error" and data.get("ref") == MARKER_SEQ:
            assert data["code"] == ErrorCode.SEQ_GAP
            return replies, None
        replies.append(data)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(frames, min_size=1, max_size=6))
async def test_fuzzed_frames_get_documented_answers(
    http: aiohttp.ClientSession, server_url: str, tickets: TicketBook, batch: list[str]
) -> None:
    # A room per example: fuzzed `end` frames may legitimately end the fuzzer's own room.
    n = len(tickets.tickets)
    fuzzer_ticket = tickets.issue(f"fuzz-room-{n}", f"fuzzer-{n}", Role.HOST)
    ws = await http.ws_connect(server_url, origin=ORIGIN, max_msg_size=0)
    try:
        await ws.send_str(json.dumps({"v": 1, "type": "hello", "ticket": fuzzer_ticket}))
        welcome = json.loads((await ws.receive()).data)
        assert welcome["type"] == "welcome"
        await ws.send_str(json.dumps({"type": "join", "seq": 1}))
        replies, close_code = await send_and_collect(ws, batch)
    finally:
        await ws.close()
    for reply in replies:
        if reply["type"] == "error":
            assert reply["code"] in ERROR_CODES
    assert close_code in (None, CloseCode.TOO_BIG, CloseCode.POLICY)
    if any(len(raw) > 64 * 1024 for raw in batch):
        assert close_code == CloseCode.TOO_BIG
    else:
        assert close_code is None

    # Meanwhile another room works and heard nothing of the fuzzing.
    # The same user each time: its new tab replaces the last, so the room never fills.
    calm = tickets.issue("calm-room", "calm-host", Role.HOST)
    host = await connect(http, server_url, calm)
    await host.send("join")
    await host.receive_type("admitted")
    await host.send("chat", text="still fine")
    frame = await host.receive_type("chat")
    assert frame["text"] == "still fine"
    await host.close()
