"""A small application server for webhook tests: aiohttp on 127.0.0.1, an ephemeral port,
every request recorded as it arrived (URL as the server saw it, query, form, headers)."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Received:
    method: str
    url: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]


class ApplicationServer:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._handlers: dict[str, Handler] = {}
        self._arrived = asyncio.Condition()
        self._application = web.Application(middlewares=[self._record])
        self._application.router.add_route("*", "/{path:.*}", self._dispatch)
        self._runner: web.AppRunner | None = None
        self.port = 0

    def route(self, path: str, handler: Handler) -> None:
        self._handlers[path] = handler

    def answer(self, path: str, text: str = "<Response/>", status: int = 200) -> None:
        async def handler(request: web.Request) -> web.Response:
            return web.Response(text=text, status=status, content_type="text/xml")

        self.route(path, handler)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self, path: str) -> list[Received]:
        return [request for request in self.requests if request.path == path]

    async def wait_for(self, path: str, count: int) -> None:
        async with self._arrived:
            await self._arrived.wait_for(lambda: len(self.received(path)) >= count)

    async def start(self) -> None:
        # Handlers still waiting when a test ends are cancelled at once, not after aiohttp's
        # default minute.
        self._runner = web.AppRunner(self._application, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        form = await request.post()
        self.requests.append(
            Received(
                request.method,
                str(request.url),
                request.path,
                dict(request.query),
                {name: str(value) for name, value in form.items()},
                dict(request.headers),
            )
        )
        async with self._arrived:
            self._arrived.notify_all()
        return await handler(request)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        handler = self._handlers.get(request.path)
        if handler is None:
            raise web.HTTPNotFound()
        return await handler(request)
