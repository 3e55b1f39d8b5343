"""The per-connection token bucket."""

from __future__ import annotations

from signaling.ratelimit import TokenBucket


def test_burst_then_refill() -> None:
    bucket = TokenBucket(rate=10, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.05) is False  # half a token
    assert bucket.take(0.1) is True
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]
