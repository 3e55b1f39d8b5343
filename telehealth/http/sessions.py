"""What the web layer needs of a session, as shapes: the accounts feature provides them.

http/ sits below the features, so it cannot import the accounts service. The accounts feature
registers its resolver on the app (SESSION_RESOLVER) and its session objects fit these protocols.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from telehealth.actors import Actor

if TYPE_CHECKING:
    from telehealth.unit_of_work import Services, UnitOfWork


class CurrentSession(Protocol):
    """A valid session resolved from the token a request carried."""

    @property
    def actor(self) -> Actor: ...

    @property
    def csrf_token(self) -> str: ...

    @property
    def token_hash(self) -> str: ...


class IssuedSession(Protocol):
    """A session just opened: its raw token, and the trusted-device token of this sign-in."""

    @property
    def token(self) -> str: ...

    @property
    def device_token(self) -> str | None: ...


# The session behind a token, or None when unknown, expired or its person is deactivated, read in
# the request's unit of work.
SessionResolver = Callable[["Services", "UnitOfWork", str], Awaitable[CurrentSession | None]]
