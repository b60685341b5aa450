"""The server run inside the test process, on a loop in its own thread, so a test can give it
a script to run and call its call service directly (pjsua2 phones stay child processes).
Configuration, ports, admin commands, /metrics and the call records are ServerProcess's."""

import asyncio
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mediaserver.app import Server
from mediaserver.calls.call_service import InboundScript
from mediaserver.config import load_config
from tests.conftest import PortTakenError, ServerProcess

T = TypeVar("T")


@dataclass
class InProcessServer(ServerProcess):
    inbound_script: InboundScript | None = None
    server: Server | None = field(default=None, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _stop: asyncio.Event | None = field(default=None, repr=False)
    _running: "asyncio.Future[None] | None" = field(default=None, repr=False)

    def start(self) -> None:
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, daemon=True).start()
        self._loop = loop
        try:
            self.server = self.run(self._start())
        except OSError as error:
            self._end_loop()
            raise PortTakenError(str(error)) from error

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 15) -> T:
        """Run `coroutine` on the server's loop and wait for its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def stop(self) -> int | None:
        if self._loop is None or self.server is None:
            return None
        self.run(self._stop_server())
        self._end_loop()
        return 0

    async def _start(self) -> Server:
        config = load_config(self.config_path, environ={})
        server = Server.build(config, self.inbound_script)
        try:
            await server.start()
        except OSError:
            await server.close()
            raise
        self._stop = asyncio.Event()
        self._running = asyncio.ensure_future(server.run(self._stop))
        return server

    async def _stop_server(self) -> None:
        assert self._stop is not None
        assert self._running is not None
        assert self.server is not None
        self._stop.set()
        await self._running
        await self.server.close()
        self.server = None

    def _end_loop(self) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._loop = None
