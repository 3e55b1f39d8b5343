"""Callbacks through which the application learns what happens in a visit."""

from __future__ import annotations

from typing import Protocol


class Lifecycle(Protocol):
    """Visit events; each call is awaited, so keep them quick and never raise on purpose."""

    async def on_join(self, room_id: str, user_id: str) -> None:
        """A participant entered the room (guests: the waiting room)."""
        ...

    async def on_admit(self, room_id: str, user_id: str) -> None:
        """The host admitted a guest (or a host entered)."""
        ...

    async def on_deny(self, room_id: str, user_id: str) -> None:
        """The host denied a waiting guest."""
        ...

    async def on_leave(self, room_id: str, user_id: str) -> None:
        """A participant left, was removed, or did not come back within the resume window."""
        ...

    async def on_end(self, room_id: str, user_id: str) -> None:
        """The host (user_id) ended the visit."""
        ...


class NoLifecycle:
    """Callbacks that do nothing."""

    async def on_join(self, room_id: str, user_id: str) -> None:
        """Ignore."""

    async def on_admit(self, room_id: str, user_id: str) -> None:
        """Ignore."""

    async def on_deny(self, room_id: str, user_id: str) -> None:
        """Ignore."""

    async def on_leave(self, room_id: str, user_id: str) -> None:
        """Ignore."""

    async def on_end(self, room_id: str, user_id: str) -> None:
        """Ignore."""
