"""coturn REST API credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from signaling.turn import credential_expiry, ice_servers_for, mint_turn_credentials


def test_credentials_follow_the_turn_rest_api() -> None:
    creds = mint_turn_credentials("s3cret", "user-7", 1_900_000_000)
    assert creds.username == "1900000000:user-7"
    expected = hmac.new(b"s3cret", b"1900000000:user-7", hashlib.sha1).digest()
    assert base64.b64decode(creds.credential) == expected
    assert creds.credential != mint_turn_credentials("other", "user-7", 1_900_000_000).credential


def test_a_colon_in_the_user_id_cannot_forge_the_expiry() -> None:
    with pytest.raises(ValueError, match="must not contain"):
        mint_turn_credentials("s", "9999999999:x", 1)


def test_lifetime_covers_the_visit_and_a_minimum() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    end = now + timedelta(hours=1)
    assert credential_expiry(now, end, 30, 600) == int(end.timestamp()) + 30
    assert credential_expiry(now, now, 30, 600) == int(now.timestamp()) + 600


def test_ice_servers_only_offer_turn_with_a_secret() -> None:
    assert ice_servers_for(("turn:x",), (), None, "u", 1) == []
    servers = ice_servers_for(("turn:x",), ("stun:y",), "s", "u", 5)
    assert [s.to_json()["urls"] for s in servers] == [["stun:y"], ["turn:x"]]
    assert servers[1].username == "5:u"
