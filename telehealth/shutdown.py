"""Closing what the app opened without waiting forever on a dependency that stopped answering."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

log = logging.getLogger(__name__)

# Each close step's bound: a healthy Redis or database closes in milliseconds.
CLOSE_STEP_SECONDS = 10.0


async def close_within(
    what: str, closing: Awaitable[None], seconds: float = CLOSE_STEP_SECONDS
) -> None:
    """Await one close step for at most `seconds`; past that, log it and go on without it.

    The step runs as its own task and is waited on, not cancelled into: some clients' closes
    shield themselves from cancellation, and a stopping process must still stop (a deploy, a
    killed instance's replacement, a test run). A step that fails is logged the same way.
    """
    step = asyncio.ensure_future(closing)
    done, _ = await asyncio.wait({step}, timeout=seconds)
    if not done:
        step.cancel()
        log.warning("shutdown: %s did not finish within %.0f s; going on without it", what, seconds)
        return
    if step.cancelled():
        return  # a task the caller had already cancelled, now stopped
    error = step.exception()
    if error is not None:
        log.warning("shutdown: %s failed: %s", what, error, exc_info=error)
