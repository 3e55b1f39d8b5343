"""A real server for clients that are not asyncio (schemathesis speaks `requests`): the app from
its factory, on a free loopback port, on an event loop of its own thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from telehealth.app import create_app
from telehealth.clock import Clock
from telehealth.config import Settings
from telehealth.http.keys import SERVICES
from telehealth.unit_of_work import Services

T = TypeVar("T")
START_TIMEOUT_S = 60


@dataclass
class LiveServer:
    """A running app: its base URL, and a way to run coroutines on its loop."""

    url: str
    app: web.Application
    loop: asyncio.AbstractEventLoop

    @property
    def services(self) -> Services:
        """The running app's services."""
        return self.app[SERVICES]

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(START_TIMEOUT_S)


@contextmanager
def live_server(settings: Settings, clock: Clock | None = None) -> Iterator[LiveServer]:
    """Serve create_app(settings) on 127.0.0.1 until the block ends."""
    loop = asyncio.new_event_loop()
    app = create_app(settings, clock)
    runner = web.AppRunner(app, handle_signals=False)
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, name="live-server", daemon=True)
    thread.start()
    if not started.wait(START_TIMEOUT_S):
        raise RuntimeError("the live server did not start")
    host, port = runner.addresses[0][:2]
    try:
        yield LiveServer(f"http://{host}:{port}", app, loop)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(START_TIMEOUT_S)
