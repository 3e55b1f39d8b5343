"""How an aiohttp application mounts the signaling server."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from signaling.bus import Bus
from signaling.config import SignalingConfig
from signaling.handler import upgrade
from signaling.hub import Hub
from signaling.memory_bus import InProcessBus

SIGNALING_CONFIG = web.AppKey("signaling_config", SignalingConfig)
SIGNALING_HUB = web.AppKey("signaling_hub", Hub)


def setup_signaling(app: web.Application, config: SignalingConfig) -> None:
    """Mount the WebSocket at `config.path` and `config.path/{room}`; hub in cleanup_ctx."""
    app[SIGNALING_CONFIG] = config

    async def hub_context(app: web.Application) -> AsyncIterator[None]:
        bus: Bus = (
            config.bus
            if config.bus is not None
            else InProcessBus(config.limits.resume_buffer_bytes, clock=config.clock)
        )
        hub = Hub(config, bus)
        app[SIGNALING_HUB] = hub
        await hub.start()
        try:
            yield
        finally:
            await hub.close()
            if config.bus is None:
                await bus.close()

    app.cleanup_ctx.append(hub_context)

    async def going_away(app: web.Application) -> None:
        app[SIGNALING_HUB].going_away()

    app.on_shutdown.append(going_away)

    async def handle(request: web.Request) -> web.StreamResponse:
        # Not through serve_socket: one coroutine frame less per open socket.
        connection = await upgrade(request.app[SIGNALING_HUB], request)
        await connection.serve()
        return connection.ws

    app.router.add_get(config.path, handle)
    app.router.add_get(config.path + "/{room}", handle)
