"""TURN REST API credentials for coturn's `use-auth-secret` mode."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class TurnCredentials:
    """Username and password a browser hands to the TURN server."""

    username: str
    credential: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class IceServer:
    """One entry of RTCConfiguration.iceServers."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None

    def to_json(self) -> dict[str, object]:
        """Shape it as the browser's RTCIceServer dictionary."""
        out: dict[str, object] = {"urls": list(self.urls)}
        if self.username is not None:
            out["username"] = self.username
            out["credential"] = self.credential
        return out


def mint_turn_credentials(secret: str, user_id: str, expires_at: int) -> TurnCredentials:
    """Mint coturn REST credentials: username "<expiry>:<user>", password b64(HMAC-SHA1)."""
    if ":" in user_id:
        # coturn splits the username on the first colon; a colon in the id would forge the expiry.
        raise ValueError("user_id must not contain ':'")
    username = f"{expires_at}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredentials(username, base64.b64encode(digest).decode("ascii"), expires_at)


def credential_expiry(now: datetime, window_end: datetime, grace_seconds: int, minimum: int) -> int:
    """Expiry (unix seconds) covering the visit window plus grace, at least `minimum` from now."""
    end = max(window_end.timestamp() + grace_seconds, now.timestamp() + minimum)
    return int(end)


def ice_servers_for(
    turn_urls: tuple[str, ...],
    stun_urls: tuple[str, ...],
    secret: str | None,
    user_id: str,
    expires_at: int,
) -> list[IceServer]:
    """The ICE servers a participant receives in its welcome."""
    servers: list[IceServer] = []
    if stun_urls:
        servers.append(IceServer(stun_urls))
    if turn_urls and secret is not None:
        creds = mint_turn_credentials(secret, user_id, expires_at)
        servers.append(IceServer(turn_urls, creds.username, creds.credential))
    return servers
